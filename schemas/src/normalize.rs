//! The walk that readies a JSON body for the protobuf JSON mapping, guided
//! by the message descriptor: fields the message does not have are found
//! (and dropped, or refused in strict mode), and durations written the way
//! Istio users write them (`30ms`) are rewritten to the canonical form.
//! Type errors are left to the transcoder, which reports them with paths too.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::duration;
use crate::path::FieldPath;

const DURATION: &str = "google.protobuf.Duration";

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Paths of fields the message does not have (removed from the body).
    pub(crate) unknown: Vec<FieldPath>,
    /// Values that cannot be read, with the reason.
    pub(crate) errors: Vec<(FieldPath, String)>,
}

/// Normalises `object`, a body of `message`, in place.
pub(crate) fn message(
    object: &mut Map<String, Value>,
    message: &MessageDescriptor,
    path: &FieldPath,
    findings: &mut Findings,
) {
    object.retain(|key, value| {
        let Some(field) = field_named(message, key) else {
            findings.unknown.push(path.field(key));
            return false;
        };
        field_value(value, &field, &path.field(key), findings);
        true
    });
}

/// The field a JSON key names: its JSON name or its name in the `.proto`.
fn field_named(message: &MessageDescriptor, key: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_json_name(key)
        .or_else(|| message.get_field_by_name(key))
}

fn field_value(value: &mut Value, field: &FieldDescriptor, path: &FieldPath, f: &mut Findings) {
    let Kind::Message(inner) = field.kind() else {
        return;
    };
    match value {
        Value::Object(entries) if field.is_map() => {
            let value_kind = inner.map_entry_value_field().kind();
            if let Kind::Message(value_message) = value_kind {
                for (key, entry) in entries.iter_mut() {
                    message_value(entry, &value_message, &path.key(key), f);
                }
            }
        }
        Value::Array(items) if field.is_list() => {
            for (index, item) in items.iter_mut().enumerate() {
                message_value(item, &inner, &path.index(index), f);
            }
        }
        _ if field.is_map() || field.is_list() => {}
        value => message_value(value, &inner, path, f),
    }
}

/// A value of message type: a duration is rewritten, other well-known types
/// are left to the transcoder, and ordinary messages are walked.
fn message_value(value: &mut Value, inner: &MessageDescriptor, path: &FieldPath, f: &mut Findings) {
    if inner.full_name() == DURATION {
        if let Value::String(text) = value {
            match duration::parse(text) {
                Ok(parsed) => *text = duration::canonical(&parsed),
                Err(error) => f.errors.push((path.clone(), error.to_string())),
            }
        }
    } else if inner.package_name() != "google.protobuf"
        && let Value::Object(object) = value
    {
        message(object, inner, path, f);
    }
}
