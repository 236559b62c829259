//! `metadata` as the API server checks it for a custom resource: a name (or `generateName`)
//! that is a DNS-1123 subdomain, a namespace that is a DNS-1123 label, valid label keys and
//! values, valid annotation keys under 256 KiB in total.

use serde_json::Value;

use crate::cel::named_checks::{dns1123_label, dns1123_subdomain, label_value, qualified_name};
use crate::error::{BadValue, FieldError};

/// Checks the object's `metadata`.
pub(crate) fn validate(object: &Value, namespaced: bool, errors: &mut Vec<FieldError>) {
    let meta = object.get("metadata");
    let Some(meta) = meta.and_then(Value::as_object) else {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
        return;
    };
    match (
        meta.get("name").and_then(Value::as_str),
        meta.get("generateName").and_then(Value::as_str),
    ) {
        (Some(name), _) if !name.is_empty() => {
            for e in dns1123_subdomain(name) {
                errors.push(FieldError::invalid(
                    "metadata.name",
                    BadValue::Str(name.to_owned()),
                    e,
                ));
            }
        }
        (_, Some(g)) if !g.is_empty() => {
            let trimmed = g.strip_suffix('-').unwrap_or(g);
            for e in dns1123_subdomain(trimmed) {
                errors.push(FieldError::invalid(
                    "metadata.generateName",
                    BadValue::Str(g.to_owned()),
                    e,
                ));
            }
        }
        _ => errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
    }
    if let Some(ns) = meta.get("namespace").and_then(Value::as_str)
        && !ns.is_empty()
    {
        if namespaced {
            for e in dns1123_label(ns) {
                errors.push(FieldError::invalid(
                    "metadata.namespace",
                    BadValue::Str(ns.to_owned()),
                    e,
                ));
            }
        } else {
            errors.push(FieldError::forbidden(
                "metadata.namespace",
                "not allowed on this type",
            ));
        }
    }
    if let Some(Value::Object(labels)) = meta.get("labels") {
        for (k, v) in labels {
            for e in qualified_name(k) {
                errors.push(FieldError::invalid(
                    "metadata.labels",
                    BadValue::Str(k.clone()),
                    e,
                ));
            }
            match v {
                Value::String(s) => {
                    for e in label_value(s) {
                        errors.push(FieldError::invalid(
                            format!("metadata.labels[{k}]"),
                            BadValue::Str(s.clone()),
                            e,
                        ));
                    }
                }
                other => errors.push(FieldError::invalid(
                    format!("metadata.labels[{k}]"),
                    BadValue::of(other),
                    "must be a string",
                )),
            }
        }
    }
    if let Some(Value::Object(annotations)) = meta.get("annotations") {
        let mut total = 0usize;
        for (k, v) in annotations {
            for e in qualified_name(&k.to_lowercase()) {
                errors.push(FieldError::invalid(
                    "metadata.annotations",
                    BadValue::Str(k.clone()),
                    e,
                ));
            }
            total += k.len() + v.as_str().map_or(0, str::len);
        }
        if total > 256 * 1024 {
            errors.push(FieldError::too_long(
                "metadata.annotations",
                Some(256 * 1024),
            ));
        }
    }
}
