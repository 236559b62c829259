//! An object's JSON as CEL sees it, typed by its schema as the API server types it: objects and
//! maps as maps, `integer` as `int`, `number` as `double`, `x-kubernetes-int-or-string` and
//! preserved unknown fields as what they hold (`dyn`), `format: byte` as bytes, `date` and
//! `date-time` as timestamps, `duration` as a duration; a resource's `metadata` as `name` and
//! `generateName` only.

use std::collections::HashMap;
use std::sync::Arc;

use cel::Value;
use cel::objects::{Key, Map};
use serde_json::Value as Json;

use crate::schema::{Schema, Type};

/// `json` as a CEL value, typed by `schema` (`None`: untyped, as under preserved fields).
pub(crate) fn to_cel(schema: Option<&Schema>, json: &Json) -> Value {
    let Some(schema) = schema else {
        return untyped(json);
    };
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if schema.ty == Some(Type::Number) {
                Value::Float(n.as_f64().unwrap_or(0.0))
            } else if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if schema.ty == Some(Type::Integer) && f.fract() == 0.0 && f.abs() < 9.2e18 {
                    Value::Int(f as i64)
                } else {
                    Value::Float(f)
                }
            }
        }
        Json::String(s) => string(schema, s),
        Json::Array(items) => {
            let item_schema = schema.items.as_deref();
            Value::List(Arc::new(
                items.iter().map(|i| to_cel(item_schema, i)).collect(),
            ))
        }
        Json::Object(obj) => {
            let mut map = HashMap::with_capacity(obj.len());
            for (k, v) in obj {
                let child = if schema.embedded_resource && k == "metadata" {
                    metadata(v)
                } else if let Some(p) = schema.properties.get(k) {
                    to_cel(Some(p), v)
                } else if let Some(a) = schema.additional_schema() {
                    to_cel(Some(a), v)
                } else if schema.preserve_unknown_fields || schema.embedded_resource {
                    untyped(v)
                } else {
                    continue;
                };
                map.insert(Key::String(Arc::new(k.clone())), child);
            }
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// A resource's `metadata` as CEL sees it: `name` and `generateName`.
pub(crate) fn metadata(json: &Json) -> Value {
    let mut map = HashMap::new();
    if let Json::Object(obj) = json {
        for k in ["name", "generateName"] {
            if let Some(Json::String(s)) = obj.get(k) {
                map.insert(
                    Key::String(Arc::new(k.to_owned())),
                    Value::String(Arc::new(s.clone())),
                );
            }
        }
    }
    Value::Map(Map { map: Arc::new(map) })
}

fn string(schema: &Schema, s: &str) -> Value {
    match schema.format.as_deref() {
        Some("byte") => {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => Value::Bytes(Arc::new(b)),
                Err(_) => Value::String(Arc::new(s.to_owned())),
            }
        }
        Some("date-time") | Some("datetime") => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Value::Timestamp(t),
            Err(_) => Value::String(Arc::new(s.to_owned())),
        },
        Some("date") => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => match d.and_hms_opt(0, 0, 0) {
                Some(dt) => Value::Timestamp(dt.and_utc().fixed_offset()),
                None => Value::String(Arc::new(s.to_owned())),
            },
            Err(_) => Value::String(Arc::new(s.to_owned())),
        },
        Some("duration") => match crate::goduration::parse_go_duration(s) {
            Some(d) => Value::Duration(d),
            None => Value::String(Arc::new(s.to_owned())),
        },
        _ => Value::String(Arc::new(s.to_owned())),
    }
}

/// JSON with no schema: what it holds.
pub(crate) fn untyped(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => match n.as_u64() {
                Some(u) => Value::UInt(u),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(untyped).collect())),
        Json::Object(obj) => {
            let map: HashMap<Key, Value> = obj
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), untyped(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}
