//! [`TypedCodec`]: a collection's JSON bodies as its protobuf message, the
//! `Any` sinks unpack into Istio's types. Problems are reported with the
//! field path; an unknown field is dropped with a warning (Kubernetes' rule)
//! or, in strict mode, refused.

use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::normalize::{self, Findings};
use crate::path::FieldPath;
use galleon_pipeline::codec::{BodyCodec, CodecError, Encoded, depth_error};
use galleon_pipeline::diagnostics::quote;

/// What happens to a field the message does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UnknownFields {
    /// Dropped, with a warning naming its path (Kubernetes' rule).
    #[default]
    Warn,
    /// The resource is refused (strict mode).
    Reject,
}

/// Encodes bodies of one collection as `message`.
#[derive(Clone, Debug)]
pub struct TypedCodec {
    message: MessageDescriptor,
    root: String,
    type_url: String,
    unknown_fields: UnknownFields,
}

impl TypedCodec {
    /// A codec for `message`, whose bodies sit at `root` in a document
    /// (`spec`; empty for bodies that are whole objects), for paths in
    /// messages.
    pub fn new(message: MessageDescriptor, root: &str, unknown_fields: UnknownFields) -> Self {
        Self {
            type_url: format!("type.googleapis.com/{}", message.full_name()),
            message,
            root: root.to_owned(),
            unknown_fields,
        }
    }

    /// The message bodies are encoded as.
    pub fn message(&self) -> &MessageDescriptor {
        &self.message
    }

    /// The body as a dynamic message, or every problem with its path.
    pub fn transcode(&self, body: &Value) -> Result<(DynamicMessage, Vec<String>), Vec<String>> {
        let root = FieldPath::root(&self.root);
        let mut object = match body {
            Value::Object(object) => object.clone(),
            Value::Null => Map::new(),
            other => {
                let kind = galleon_proto::json::json_kind(other);
                return Err(vec![format!("{root}: expected a mapping, found {kind}")]);
            }
        };
        if let Some(error) = depth_error(&object) {
            return Err(vec![error]);
        }
        let mut findings = Findings::default();
        normalize::message(&mut object, &self.message, &root, &mut findings);
        let mut errors: Vec<String> = findings
            .errors
            .iter()
            .map(|(path, error)| format!("{path}: {error}"))
            .collect();
        let unknown = findings
            .unknown
            .iter()
            .map(|path| match self.unknown_fields {
                UnknownFields::Warn => format!("{path}: unknown field, dropped"),
                UnknownFields::Reject => format!("{path}: unknown field"),
            });
        let warnings = match self.unknown_fields {
            UnknownFields::Warn => unknown.collect(),
            UnknownFields::Reject => {
                errors.extend(unknown);
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let body = Value::Object(object);
        let options = DeserializeOptions::new();
        let message = self.message.clone();
        if let Ok(message) = DynamicMessage::deserialize_with_options(message, &body, &options) {
            return Ok((message, warnings));
        }
        // Only a body that fails pays for tracking where it failed.
        let mut track = serde_path_to_error::Track::new();
        let deserializer = serde_path_to_error::Deserializer::new(&body, &mut track);
        let message = self.message.clone();
        let error = match DynamicMessage::deserialize_with_options(message, deserializer, &options)
        {
            Ok(message) => return Ok((message, warnings)),
            Err(error) => error,
        };
        let tracked = track.path();
        let found = value_at(&body, &tracked);
        let path = root.join(&tracked);
        Err(vec![format!(
            "{path}: {}",
            explain(&error.to_string(), found)
        )])
    }
}

/// The value at `path` in `body`, if there is one.
fn value_at<'a>(body: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(body, |value, segment| match segment {
        Segment::Seq { index } => value.get(index),
        Segment::Map { key } => value.get(key),
        Segment::Enum { .. } | Segment::Unknown => Some(value),
    })
}

/// The transcoder's message in words a YAML author acts on, with the
/// offending value.
fn explain(message: &str, found: Option<&Value>) -> String {
    let found = found.map(|value| match value {
        Value::String(text) => format!(", found {}", quote(text)),
        other => format!(", found {}", quote(&other.to_string()).trim_matches('"')),
    });
    let found = found.unwrap_or_default();
    let integer_errors = [
        "invalid digit found in string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "cannot parse integer from empty string",
    ];
    if integer_errors.contains(&message) {
        return format!("expected an integer{found}");
    }
    if message == "invalid float literal" {
        return format!("expected a number{found}");
    }
    match message.strip_prefix("invalid type: ") {
        Some(rest) => format!("wrong type: {rest}"),
        None => format!("{message}{found}"),
    }
}

impl BodyCodec for TypedCodec {
    fn encode(&self, body: &Value) -> Result<Encoded, CodecError> {
        let (message, warnings) = self
            .transcode(body)
            .map_err(|errors| CodecError(errors.join("; ")))?;
        Ok(Encoded {
            body: prost_types::Any {
                type_url: self.type_url.clone(),
                value: message.encode_to_vec(),
            },
            warnings,
        })
    }

    fn describe(&self) -> String {
        self.message.full_name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: &str = r#"
syntax = "proto3";
package demo.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
message Route {
  repeated Destination route = 1;
  google.protobuf.Duration timeout = 2;
  map<string, Destination> named = 3;
  google.protobuf.BoolValue enabled = 4;
  Mode mode = 5;
  int64 big = 6;
  google.protobuf.Struct extra = 7;
  repeated string export_to = 8;
  double fraction = 9;
  repeated float shares = 10;
}
message Destination { string host = 1; int32 weight = 2; }
enum Mode { MODE_UNSPECIFIED = 0; STRICT = 1; PERMISSIVE = 2; }
"#;

    fn codec(unknown: UnknownFields) -> TypedCodec {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("demo.proto"), SCHEMA).unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.open_file("demo.proto").unwrap();
        let message = compiler
            .descriptor_pool()
            .get_message_by_name("demo.v1.Route")
            .unwrap();
        TypedCodec::new(message, "spec", unknown)
    }

    fn decoded(codec: &TypedCodec, body: serde_json::Value) -> serde_json::Value {
        let encoded = codec.encode(&body).unwrap();
        assert_eq!(encoded.body.type_url, "type.googleapis.com/demo.v1.Route");
        let message =
            DynamicMessage::decode(codec.message().clone(), encoded.body.value.as_slice()).unwrap();
        serde_json::to_value(&message).unwrap()
    }

    fn error(codec: &TypedCodec, body: serde_json::Value) -> String {
        codec.encode(&body).unwrap_err().to_string()
    }

    #[test]
    fn istio_yaml_transcodes_into_the_message() {
        let codec = codec(UnknownFields::Warn);
        let body = json!({
            "route": [{"host": "a", "weight": 80}, {"host": "b", "weight": "20"}],
            "timeout": "30ms",
            "named": {"x": {"host": "c"}},
            "enabled": true,
            "mode": "PERMISSIVE",
            "big": "9007199254740993",
            "extra": {"any": ["thing", 1]},
            "export_to": ["."],
        });
        assert_eq!(
            decoded(&codec, body),
            json!({
                "route": [{"host": "a", "weight": 80}, {"host": "b", "weight": 20}],
                "timeout": "0.030s",
                "named": {"x": {"host": "c"}},
                "enabled": true,
                "mode": "PERMISSIVE",
                "big": "9007199254740993",
                "extra": {"any": ["thing", 1.0]},
                "exportTo": ["."],
            })
        );
        for (written, canonical) in [("1.5s", "1.500s"), ("2m", "120s"), ("1h", "3600s")] {
            let body = decoded(&codec, json!({ "timeout": written }));
            assert_eq!(body["timeout"], canonical, "{written}");
        }
    }

    #[test]
    fn wrong_values_are_errors_with_their_field_path() {
        let codec = codec(UnknownFields::Warn);
        let weight = error(&codec, json!({"route": [{"host": "a", "weight": "heavy"}]}));
        assert_eq!(
            weight,
            r#"spec.route[0].weight: expected an integer, found "heavy""#
        );
        let list = error(&codec, json!({"route": [{"weight": [1]}]}));
        assert!(
            list.starts_with("spec.route[0].weight: wrong type: "),
            "{list}"
        );
        let mode = error(&codec, json!({"mode": "LOOSE"}));
        assert!(mode.starts_with("spec.mode: "), "{mode}");
        assert!(mode.contains("LOOSE"), "{mode}");
        let timeout = error(
            &codec,
            json!({"named": {"x": {"host": 1}}, "timeout": "soon"}),
        );
        assert!(
            timeout.starts_with("spec.timeout: invalid duration \"soon\""),
            "{timeout}"
        );
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!({ "a": deep });
        }
        let too_deep = error(&codec, json!({ "extra": deep }));
        assert!(
            too_deep.contains("sinks' decoders stop at 100"),
            "{too_deep}"
        );
        let shape = error(&codec, json!(["not", "a", "mapping"]));
        assert!(
            shape.contains("expected a mapping, found a list"),
            "{shape}"
        );
    }

    #[test]
    fn values_the_mapping_would_bend_are_refused() {
        let codec = codec(UnknownFields::Warn);
        let nan = error(&codec, json!({"fraction": "NaN"}));
        assert_eq!(nan, r#"spec.fraction: "NaN" is not a finite number"#);
        let inf = error(&codec, json!({"shares": [1.0, "-Infinity"]}));
        assert_eq!(inf, r#"spec.shares[1]: "-Infinity" is not a finite number"#);
        let tiny = error(&codec, json!({"timeout": "0.0000000001s"}));
        assert!(tiny.contains("more precise than a nanosecond"), "{tiny}");
        let negative = error(&codec, json!({"timeout": "-1s"}));
        assert!(
            negative.starts_with(r#"spec.timeout: negative duration "-1s""#),
            "{negative}"
        );
        assert_eq!(decoded(&codec, json!({"fraction": "0.5"}))["fraction"], 0.5);
    }

    #[test]
    fn unknown_fields_are_dropped_with_a_warning_or_refused_in_strict_mode() {
        let body = json!({"route": [{"host": "a", "weigth": 5}], "colour": "blue"});
        let lenient = codec(UnknownFields::Warn).encode(&body).unwrap();
        assert_eq!(
            lenient.warnings,
            vec![
                "spec.colour: unknown field, dropped",
                "spec.route[0].weigth: unknown field, dropped"
            ]
        );
        let strict = error(&codec(UnknownFields::Reject), body);
        assert!(
            strict.contains("spec.route[0].weigth: unknown field"),
            "{strict}"
        );
    }
}
