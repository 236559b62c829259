//! Typed bodies back to JSON, for people reading what sinks receive
//! (`galleon watch`): an `Any` whose message the pool knows, in the protobuf
//! JSON mapping.

use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::Value;

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
