//! Typed bodies back to JSON, for people reading what sinks receive
//! (`galleon watch`, `galleon diff`): an `Any` whose message the pool
//! knows, in the protobuf JSON mapping.

use galleon_proto::STRUCT_TYPE_URL;
use galleon_proto::json::struct_to_json;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};

/// A body as JSON: `Struct` and messages the pool knows as their fields
/// (with `@type`), others as their type and size.
pub fn body_to_json(pool: &DescriptorPool, any: &prost_types::Any) -> Value {
    if any.type_url == STRUCT_TYPE_URL {
        return match prost_types::Struct::decode(any.value.as_slice()) {
            Ok(body) => Value::Object(struct_to_json(&body)),
            Err(e) => json!({ "@type": any.type_url, "error": e.to_string() }),
        };
    }
    match any_to_json(pool, any) {
        Some(Ok(Value::Object(mut fields))) => {
            fields.insert("@type".into(), any.type_url.clone().into());
            Value::Object(fields)
        }
        Some(Ok(other)) => json!({ "@type": any.type_url, "value": other }),
        Some(Err(e)) => json!({ "@type": any.type_url, "error": e }),
        None => json!({ "@type": any.type_url, "bytes": any.value.len() }),
    }
}

/// `any` as JSON, if the pool defines its message; `Err` when the bytes do
/// not decode as that message.
pub fn any_to_json(pool: &DescriptorPool, any: &prost_types::Any) -> Option<Result<Value, String>> {
    let name = any
        .type_url
        .rsplit_once('/')
        .map_or(&*any.type_url, |(_, n)| n);
    let message = pool.get_message_by_name(name)?;
    Some(
        DynamicMessage::decode(message, any.value.as_slice())
            .map_err(|e| e.to_string())
            .and_then(|m| serde_json::to_value(&m).map_err(|e| e.to_string())),
    )
}
