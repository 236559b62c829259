//! The walk that readies a JSON body for the protobuf JSON mapping, guided
//! by the message descriptor: fields the message does not have are found
//! (and dropped, or refused in strict mode), durations written the way
//! Istio users write them (`30ms`) are rewritten to the canonical form (a
//! negative one refused), and the non-finite floats the JSON mapping would
//! read from `"NaN"` and `"Infinity"` are refused.
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
    let inner = match field.kind() {
        Kind::Message(inner) => inner,
        Kind::Double | Kind::Float => return floats(value, path, f),
        _ => return,
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

/// The values of a floating-point field (one, a list, a map's): the
/// protobuf JSON mapping reads the strings `NaN` and `±Infinity` as
/// non-finite numbers, which a body must not carry (no Istio field means
/// anything by them, and JSON cannot show them back).
fn floats(value: &Value, path: &FieldPath, f: &mut Findings) {
    let mut check = |value: &Value, path: FieldPath| {
        if let Value::String(text) = value
            && matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity")
        {
            f.errors
                .push((path, format!("{text:?} is not a finite number")));
        }
    };
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check(item, path.index(index));
            }
        }
        Value::Object(entries) => {
            for (key, entry) in entries {
                check(entry, path.key(key));
            }
        }
        value => check(value, path.clone()),
    }
}

/// A value of message type: a duration is rewritten, other well-known types
/// are left to the transcoder, and ordinary messages are walked.
fn message_value(value: &mut Value, inner: &MessageDescriptor, path: &FieldPath, f: &mut Findings) {
    if inner.full_name() == DURATION {
        if let Value::String(text) = value {
            match duration::parse(text) {
                Ok(parsed) if parsed.seconds < 0 || parsed.nanos < 0 => f.errors.push((
                    path.clone(),
                    format!("negative duration {text:?} (Istio reads none)"),
                )),
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
