//! The walk that runs every node's rules over an object, as the API server's CEL validator walks
//! it: non-null values only; `oldSelf` from the old object at the same place (properties, map
//! keys, and the items of `x-kubernetes-list-type: map` lists by their keys).

use serde_json::Value as Json;

use super::{Verdict, run, to_cel};
use crate::error::FieldError;
use crate::path::{Path, Step};
use crate::schema::{ListType, Schema};

/// Runs the rules of `schema` and below it over `value`.
pub(crate) fn walk(
    schema: &Schema,
    value: &Json,
    old: Option<&Json>,
    path: &mut Path,
    root: bool,
    errors: &mut Vec<FieldError>,
) {
    if !schema.has_rules_below || value.is_null() {
        return;
    }
    if !schema.compiled.is_empty() {
        let this = if root {
            root_value(schema, value)
        } else {
            to_cel(Some(schema), value)
        };
        let old_value = old.filter(|o| !o.is_null()).map(|o| {
            if root {
                root_value(schema, o)
            } else {
                to_cel(Some(schema), o)
            }
        });
        let at = path.field();
        let ty = schema.type_name();
        for rule in &schema.compiled {
            if let Verdict::Fail(e) = run(rule, &this, old_value.as_ref(), &at, ty) {
                errors.push(e);
            }
        }
    }
    match value {
        Json::Object(map) => {
            let old_map = old.and_then(Json::as_object);
            for (key, child) in map {
                let old_child = old_map.and_then(|m| m.get(key));
                if let Some(prop) = schema.properties.get(key) {
                    path.push(Step::Field(key.clone()));
                    walk(prop, child, old_child, path, false, errors);
                    path.pop();
                } else if let Some(add) = schema.additional_schema() {
                    path.push(Step::Key(key.clone()));
                    walk(add, child, old_child, path, false, errors);
                    path.pop();
                }
            }
        }
        Json::Array(items) => {
            let Some(item_schema) = &schema.items else {
                return;
            };
            let old_items = old.and_then(Json::as_array);
            for (i, item) in items.iter().enumerate() {
                let old_item = match (schema.list_type, old_items) {
                    (Some(ListType::Map), Some(olds)) => olds
                        .iter()
                        .find(|o| same_keys(&schema.list_map_keys, item, o)),
                    (Some(ListType::Set), Some(olds)) => olds.iter().find(|o| *o == item),
                    _ => None,
                };
                path.push(Step::Index(i));
                walk(item_schema, item, old_item, path, false, errors);
                path.pop();
            }
        }
        _ => {}
    }
}

fn same_keys(keys: &[String], a: &Json, b: &Json) -> bool {
    keys.iter().all(|k| a.get(k) == b.get(k))
}

/// The resource root as CEL sees it: its schema's fields, plus `apiVersion`, `kind` and
/// `metadata` (`name`, `generateName`).
fn root_value(schema: &Schema, value: &Json) -> cel::Value {
    let mut v = to_cel(Some(schema), value);
    if let (cel::Value::Map(m), Json::Object(obj)) = (&mut v, value) {
        let mut map = (*m.map).clone();
        for k in ["apiVersion", "kind"] {
            if let Some(Json::String(s)) = obj.get(k) {
                map.insert(
                    cel::objects::Key::String(std::sync::Arc::new(k.to_owned())),
                    cel::Value::String(std::sync::Arc::new(s.clone())),
                );
            }
        }
        if let Some(meta) = obj.get("metadata") {
            map.insert(
                cel::objects::Key::String(std::sync::Arc::new("metadata".to_owned())),
                super::value::metadata(meta),
            );
        }
        m.map = std::sync::Arc::new(map);
    }
    v
}
