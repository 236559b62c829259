//! Unknown fields: the API server prunes what the schema does not declare (keeping what
//! `x-kubernetes-preserve-unknown-fields` keeps, and `apiVersion`, `kind`, `metadata` of the
//! object and of embedded resources) and warns of each, as `unknown field "spec.foo"`.

use serde_json::Value;

use crate::path::{Path, Step};
use crate::schema::{Additional, Schema};

/// The fields of `ObjectMeta`; others under `metadata` are dropped by its decoding.
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Prunes the object (a resource root) and returns the field paths it removed.
pub(crate) fn prune_root(schema: &Schema, value: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    let mut path = Path::root();
    prune_resource(schema, value, &mut path, &mut pruned);
    pruned
}

/// A resource (the root, or an embedded one): `apiVersion`, `kind` and `metadata` are known.
fn prune_resource(schema: &Schema, value: &mut Value, path: &mut Path, pruned: &mut Vec<String>) {
    if let Value::Object(map) = value
        && let Some(Value::Object(meta)) = map.get_mut("metadata")
    {
        path.push(Step::Field("metadata".into()));
        let unknown: Vec<String> = meta
            .keys()
            .filter(|k| !OBJECT_META.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            meta.remove(&k);
            pruned.push(path.with(Step::Field(k)).field());
        }
        path.pop();
    }
    prune_node(schema, value, path, pruned, true);
}

fn prune_node(
    schema: &Schema,
    value: &mut Value,
    path: &mut Path,
    pruned: &mut Vec<String>,
    resource: bool,
) {
    match value {
        Value::Object(map) => {
            let preserve = schema.preserve_unknown_fields
                || matches!(
                    schema.additional_properties,
                    Some(Additional::Allowed(true))
                );
            let additional = schema.additional_schema();
            let mut remove = Vec::new();
            for (key, child) in map.iter_mut() {
                if resource && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    if key == "metadata" {
                        // ObjectMeta is known; its own fields were pruned by prune_resource.
                        continue;
                    }
                    if !schema.properties.contains_key(key) {
                        continue;
                    }
                }
                if let Some(prop) = schema.properties.get(key) {
                    path.push(Step::Field(key.clone()));
                    prune_child(prop, child, path, pruned);
                    path.pop();
                } else if let Some(add) = additional {
                    path.push(Step::Key(key.clone()));
                    prune_child(add, child, path, pruned);
                    path.pop();
                } else if !preserve {
                    remove.push(key.clone());
                }
            }
            for key in remove {
                map.remove(&key);
                pruned.push(path.with(Step::Field(key)).field());
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Step::Index(i));
                    prune_child(item_schema, item, path, pruned);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn prune_child(schema: &Schema, value: &mut Value, path: &mut Path, pruned: &mut Vec<String>) {
    if schema.embedded_resource {
        prune_resource(schema, value, path, pruned);
    } else {
        prune_node(schema, value, path, pruned, false);
    }
}
