//! Per-collection body codecs: how a resource's JSON body becomes the
//! `google.protobuf.Any` served to sinks. A collection whose message is in
//! the user's schemas gets a typed codec (`galleon-schemas`); every other
//! collection uses [`StructCodec`].

use galleon_proto::STRUCT_TYPE_URL;
use galleon_proto::json::{DECODE_DEPTH_LIMIT, struct_depth, struct_from_json};
use prost::Message;
use serde_json::Value;

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

/// Why a JSON value nested deeper than sinks' protobuf decoders accept
/// cannot be served, if it is.
pub fn json_depth_error(value: &Value) -> Option<String> {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Object(object) => 1 + object.values().map(depth).max().unwrap_or(0),
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let depth = depth(value);
    (depth > DECODE_DEPTH_LIMIT).then(|| {
        format!(
            "body nested {depth} levels deep; sinks' protobuf decoders stop at {DECODE_DEPTH_LIMIT}"
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
        let depth = struct_depth(&object);
        if depth > DECODE_DEPTH_LIMIT {
            return Err(CodecError(format!(
                "body nested {depth} protobuf messages deep (each mapping counts 3, each list 2); sinks' decoders stop at {DECODE_DEPTH_LIMIT}"
            )));
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
