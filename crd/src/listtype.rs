//! `x-kubernetes-list-type`: a `set` holds each value once, a `map` each key
//! (`x-kubernetes-list-map-keys`) once; the second appearance is a `Duplicate value`, as the API
//! server's `ValidateListSetsAndMaps` reports it.

use serde_json::{Map, Value};

use crate::error::{BadValue, FieldError};
use crate::path::{Path, Step};
use crate::schema::{ListType, Schema};
use crate::structural::json_equal;

/// Checks every set and map list in `value`.
pub(crate) fn validate(
    schema: &Schema,
    value: &Value,
    path: &mut Path,
    errors: &mut Vec<FieldError>,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(prop) = schema.properties.get(key) {
                    path.push(Step::Field(key.clone()));
                    validate(prop, child, path, errors);
                    path.pop();
                } else if let Some(add) = schema.additional_schema() {
                    path.push(Step::Key(key.clone()));
                    validate(add, child, path, errors);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            match schema.list_type {
                Some(ListType::Set) => {
                    for i in first_repeats(items) {
                        errors.push(FieldError::duplicate(
                            path.with(Step::Index(i)).field(),
                            BadValue::of(&items[i]),
                        ));
                    }
                }
                Some(ListType::Map) => validate_map(schema, items, path, errors),
                _ => {}
            }
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    validate(item_schema, item, path, errors);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// The index of the second appearance of each repeated value.
fn first_repeats(items: &[Value]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, a) in items.iter().enumerate() {
        let before = items[..i].iter().filter(|b| json_equal(a, b)).count();
        if before == 1 {
            out.push(i);
        }
    }
    out
}

fn validate_map(schema: &Schema, items: &[Value], path: &Path, errors: &mut Vec<FieldError>) {
    for (i, item) in items.iter().enumerate() {
        if !item.is_null() && !item.is_object() {
            errors.push(FieldError::invalid(
                path.with(Step::Index(i)).field(),
                BadValue::of(item),
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    if items.len() <= 1 {
        return;
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut key = Map::new();
            if let Value::Object(obj) = item {
                for k in &schema.list_map_keys {
                    if let Some(v) = obj.get(k) {
                        key.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in first_repeats(&keys) {
        errors.push(FieldError::duplicate(
            path.with(Step::Index(i)).field(),
            BadValue::of(&keys[i]),
        ));
    }
}
