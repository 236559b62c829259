//! What the admin server's writes and diffs share: one resource's
//! difference between two readable forms (a JSON Patch and a unified YAML
//! diff), and the refusal every endpoint answers a bad request with.

use axum::http::StatusCode;
use serde_json::Value;

use super::api::ResourceDiff;

/// An admin error: its status and a message naming the fix.
pub(super) type Refusal = (StatusCode, String);

pub(super) fn refusal(status: StatusCode, error: impl std::fmt::Display) -> Refusal {
    (status, format!("{error}\n"))
}

/// How `name` differs from `before` to `after` (`Value::Null`: absent).
pub(super) fn resource_diff(
    name: String,
    origin: Option<String>,
    before: &Value,
    after: &Value,
) -> ResourceDiff {
    let change = match (before.is_null(), after.is_null()) {
        (true, _) => "added",
        (_, true) => "removed",
        _ => "changed",
    };
    let patch = serde_json::to_value(json_patch::diff(before, after)).unwrap_or(Value::Null);
    let yaml = similar::TextDiff::from_lines(&yaml(before), &yaml(after))
        .unified_diff()
        .context_radius(3)
        .header("before", "after")
        .to_string();
    ResourceDiff {
        origin,
        name,
        change: change.to_owned(),
        patch,
        yaml,
    }
}

/// A resource as people read it: its name, labels and annotations (not
/// its content-hash version, which changes with everything) and its body's
/// fields.
pub(super) fn readable_form(name: &str, labels: Value, annotations: Value, body: Value) -> Value {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), name.into());
    for (key, value) in [("labels", labels), ("annotations", annotations)] {
        if value.as_object().is_some_and(|map| !map.is_empty()) {
            metadata.insert(key.into(), value);
        }
    }
    serde_json::json!({ "metadata": metadata, "body": body })
}

fn yaml(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# not shown as YAML: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::resource_diff;
    use serde_json::{Value, json};

    #[test]
    fn a_changed_field_is_one_patch_operation_and_one_yaml_hunk() {
        let diff = resource_diff(
            "ns/a".into(),
            None,
            &json!({"spec": {"weight": 90, "host": "a"}}),
            &json!({"spec": {"weight": 10, "host": "a"}}),
        );
        assert_eq!(diff.change, "changed");
        assert_eq!(
            diff.patch,
            json!([{"op": "replace", "path": "/spec/weight", "value": 10}])
        );
        assert!(
            diff.yaml.contains("-  weight: 90\n+  weight: 10\n"),
            "{}",
            diff.yaml
        );
        let added = resource_diff("ns/b".into(), None, &Value::Null, &json!({"a": 1}));
        assert_eq!(added.change, "added");
        let removed = resource_diff("ns/b".into(), None, &json!({"a": 1}), &Value::Null);
        assert_eq!(removed.change, "removed");
    }
}
