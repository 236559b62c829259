//! `default`: applied where the API server applies them (structural defaulting), before
//! validation: a missing property, or a `null` one that is not `nullable`, takes its schema's
//! default, and the defaults inside are applied in turn.

use serde_json::Value;

use crate::schema::Schema;

/// Applies the defaults of `schema` to `value`, in place.
pub(crate) fn apply(schema: &Schema, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, prop) in &schema.properties {
                if let Some(default) = &prop.default {
                    match map.get(name) {
                        None => {
                            map.insert(name.clone(), default.clone());
                        }
                        Some(Value::Null) if !prop.nullable => {
                            map.insert(name.clone(), default.clone());
                        }
                        _ => {}
                    }
                }
            }
            for (name, child) in map.iter_mut() {
                if let Some(prop) = schema.properties.get(name) {
                    apply(prop, child);
                } else if let Some(add) = schema.additional_schema() {
                    apply(add, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for item in items.iter_mut() {
                    if item.is_null()
                        && !item_schema.nullable
                        && let Some(d) = &item_schema.default
                    {
                        *item = d.clone();
                    }
                    apply(item_schema, item);
                }
            }
        }
        _ => {}
    }
    for sub in &schema.all_of {
        apply(sub, value);
    }
}
