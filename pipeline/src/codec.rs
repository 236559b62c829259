//! Per-collection body codecs: how a resource's JSON body becomes the
//! `google.protobuf.Any` served to sinks. A collection whose message is in
//! the user's schemas gets a typed codec (`galleon-schemas`); every other
//! collection uses [`StructCodec`].

use galleon_proto::STRUCT_TYPE_URL;
use galleon_proto::json::{DECODE_DEPTH_LIMIT, struct_depth, struct_from_json};
use prost::Message;
use serde_json::{Map, Value};

use galleon_proto::json::json_kind as kind_of;

/// Why a body could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// A body encoded for sinks, with what the codec dropped on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// The body as a protobuf `Any`.
    pub body: prost_types::Any,
    /// Problems that did not stop the encoding (an unknown field dropped),
    /// each naming its field path.
    pub warnings: Vec<String>,
}

/// Encodes resource bodies of one collection.
pub trait BodyCodec: Send + Sync + 'static {
    /// The body as a protobuf `Any`.
    fn encode(&self, body: &Value) -> Result<Encoded, CodecError>;

    /// What bodies are encoded as (a message name), for logs.
    fn describe(&self) -> String;
}

/// Why a body nested deeper than sinks' protobuf decoders accept cannot be
/// served, if it is. Counted as a `Struct` nests (each mapping 3 messages,
/// each list 2): exact for `Struct` bodies and for `Struct` fields of typed
/// ones, and an upper bound for typed messages.
pub fn depth_error(body: &Map<String, Value>) -> Option<String> {
    let depth = struct_depth(body);
    (depth > DECODE_DEPTH_LIMIT).then(|| {
        format!(
            "body nested {depth} protobuf messages deep (each mapping counts 3, each list 2); sinks' decoders stop at {DECODE_DEPTH_LIMIT}"
        )
    })
}

/// Bodies as `google.protobuf.Struct`: any JSON object; `null` (a document
/// without `spec`) is an empty struct. A body nested deeper than sinks'
/// protobuf decoders accept is refused, not served undecodable.
#[derive(Clone, Copy, Debug, Default)]
pub struct StructCodec;

impl BodyCodec for StructCodec {
    fn encode(&self, body: &Value) -> Result<Encoded, CodecError> {
        let object = match body {
            Value::Object(object) => object.clone(),
            Value::Null => Default::default(),
            other => {
                return Err(CodecError(format!(
                    "body must be a mapping, found {}",
                    kind_of(other)
                )));
            }
        };
        if let Some(error) = depth_error(&object) {
            return Err(CodecError(error));
        }
        Ok(Encoded {
            body: prost_types::Any {
                type_url: STRUCT_TYPE_URL.to_owned(),
                value: struct_from_json(object).encode_to_vec(),
            },
            warnings: Vec::new(),
        })
    }

    fn describe(&self) -> String {
        "google.protobuf.Struct".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_too_deep_to_decode_are_refused() {
        let nested = |depth: usize| {
            let mut value = serde_json::json!(1);
            for _ in 0..depth {
                value = serde_json::json!({ "a": value });
            }
            value
        };
        assert!(StructCodec.encode(&nested(33)).is_ok());
        let error = StructCodec.encode(&nested(34)).unwrap_err();
        assert!(error.0.contains("101 protobuf messages deep"), "{error}");
    }
}
