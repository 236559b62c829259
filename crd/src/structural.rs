//! Value validation against the schema, as kube-openapi's validator does it for the API server
//! (types, `enum`, bounds, lengths, `pattern`, `format`, item and property counts, `required`,
//! `allOf`/`anyOf`/`oneOf`/`not`), with its messages turned into field errors as apiextensions
//! turns them.

use serde_json::Value;

use crate::error::{BadValue, ErrorKind, FieldError};
use crate::format;
use crate::gofmt;
use crate::path::{Path, Step};
use crate::schema::{Schema, Type};

/// The JSON type name kube-openapi infers for a value.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                "integer"
            } else {
                "number"
            }
        }
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a JSON number is an integer (a float with no fraction counts, as the API server
/// reads `1.0` as `1`).
pub(crate) fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
        }
        _ => false,
    }
}

/// Validates `value` against `schema`, adding to `errors`.
pub(crate) fn validate(
    schema: &Schema,
    value: &Value,
    path: &mut Path,
    errors: &mut Vec<FieldError>,
) {
    if value.is_null() {
        let types = type_names(schema);
        if !types.is_empty() && !schema.nullable {
            errors.push(type_error(path, &types, "null"));
        }
        return;
    }
    let types = type_names(schema);
    if !types.is_empty() {
        let actual = json_type(value);
        let ok = types.contains(&actual)
            || (actual == "number" && types.contains(&"integer") && is_integer(value))
            || (actual == "integer" && types.contains(&"number"));
        if !ok {
            errors.push(type_error(path, &types, actual));
            return;
        }
    }
    if let Some(values) = &schema.enumeration
        && !values.iter().any(|v| json_equal(v, value))
    {
        let supported: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        errors.push(FieldError::unsupported(
            path.openapi_field(),
            BadValue::of(value),
            &supported,
        ));
    }
    match value {
        Value::String(s) => validate_string(schema, s, value, path, errors),
        Value::Number(_) => validate_number(schema, value, path, errors),
        Value::Array(items) => validate_array(schema, items, value, path, errors),
        Value::Object(map) => validate_object(schema, map, path, errors),
        _ => {}
    }
    validate_composition(schema, value, path, errors);
}

fn type_names(schema: &Schema) -> Vec<&'static str> {
    if schema.int_or_string {
        vec!["integer", "string"]
    } else {
        schema.ty.map(|t| vec![t.as_str()]).unwrap_or_default()
    }
}

fn type_error(path: &Path, types: &[&str], actual: &str) -> FieldError {
    let name = path.openapi();
    let detail = if name.is_empty() {
        format!(
            "must be of type {}: {}",
            types.join(","),
            gofmt::quote(actual)
        )
    } else {
        format!(
            "{name} in body must be of type {}: {}",
            types.join(","),
            gofmt::quote(actual)
        )
    };
    FieldError::new(
        path.openapi_field(),
        ErrorKind::TypeInvalid,
        BadValue::Str(actual.to_owned()),
        detail,
    )
}

/// `{name} in body {what}`, kube-openapi's message shape.
fn in_body(path: &Path, what: &str) -> String {
    let name = path.openapi();
    if name.is_empty() {
        what.to_owned()
    } else {
        format!("{name} in body {what}")
    }
}

fn validate_string(
    schema: &Schema,
    s: &str,
    value: &Value,
    path: &Path,
    errors: &mut Vec<FieldError>,
) {
    let needs_len = schema.min_length.is_some() || schema.max_length.is_some();
    let len = if needs_len {
        s.chars().count() as u64
    } else {
        0
    };
    if let Some(max) = schema.max_length
        && len > max
    {
        errors.push(FieldError::too_long(path.openapi_field(), Some(max)));
    }
    if let Some(min) = schema.min_length
        && len < min
    {
        errors.push(FieldError::invalid(
            path.openapi_field(),
            BadValue::of(value),
            in_body(path, &format!("should be at least {min} chars long")),
        ));
    }
    if let Some(p) = &schema.pattern
        && !p.regex.is_match(s)
    {
        errors.push(FieldError::invalid(
            path.openapi_field(),
            BadValue::of(value),
            in_body(path, &format!("should match '{}'", p.source)),
        ));
    }
    if let Some(f) = &schema.format
        && schema.ty == Some(Type::String)
        && !format::check(f, s)
    {
        errors.push(FieldError::new(
            path.openapi_field(),
            ErrorKind::TypeInvalid,
            BadValue::of(value),
            in_body(path, &format!("must be of type {f}: {}", gofmt::quote(s))),
        ));
    }
}

/// A bound printed as kube-openapi prints it: as an integer when the value is one.
fn bound(b: f64, integer: bool) -> String {
    if integer && b.fract() == 0.0 && b.abs() < 9.2e18 {
        format!("{}", b as i64)
    } else {
        gofmt::float(b)
    }
}

fn validate_number(schema: &Schema, value: &Value, path: &Path, errors: &mut Vec<FieldError>) {
    let x = value.as_f64().unwrap_or(0.0);
    let integer = value.is_i64() || value.is_u64();
    let bad = BadValue::of(value);
    if let Some(m) = schema.multiple_of
        && m > 0.0
    {
        let q = x / m;
        if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
            errors.push(FieldError::invalid(
                path.openapi_field(),
                bad.clone(),
                in_body(
                    path,
                    &format!("should be a multiple of {}", bound(m, integer)),
                ),
            ));
        }
    }
    if let Some(max) = schema.maximum {
        let fails = if schema.exclusive_maximum {
            x >= max
        } else {
            x > max
        };
        if fails {
            let what = if schema.exclusive_maximum {
                "should be less than"
            } else {
                "should be less than or equal to"
            };
            errors.push(FieldError::invalid(
                path.openapi_field(),
                bad.clone(),
                in_body(path, &format!("{what} {}", bound(max, integer))),
            ));
        }
    }
    if let Some(min) = schema.minimum {
        let fails = if schema.exclusive_minimum {
            x <= min
        } else {
            x < min
        };
        if fails {
            let what = if schema.exclusive_minimum {
                "should be greater than"
            } else {
                "should be greater than or equal to"
            };
            errors.push(FieldError::invalid(
                path.openapi_field(),
                bad,
                in_body(path, &format!("{what} {}", bound(min, integer))),
            ));
        }
    }
}

fn validate_array(
    schema: &Schema,
    items: &[Value],
    _value: &Value,
    path: &mut Path,
    errors: &mut Vec<FieldError>,
) {
    let len = items.len();
    if let Some(min) = schema.min_items
        && (len as u64) < min
    {
        errors.push(FieldError::invalid(
            path.openapi_field(),
            BadValue::Int(len as i64),
            in_body(path, &format!("should have at least {min} items")),
        ));
    }
    if let Some(max) = schema.max_items
        && (len as u64) > max
    {
        errors.push(FieldError::too_many(path.openapi_field(), len, max));
    }
    if schema.unique_items {
        let dup = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| json_equal(a, b)));
        if dup {
            errors.push(FieldError::invalid(
                path.openapi_field(),
                BadValue::Str(String::new()),
                in_body(path, "shouldn't contain duplicates"),
            ));
        }
    }
    if let Some(item_schema) = &schema.items {
        for (i, item) in items.iter().enumerate() {
            path.push(Step::Index(i));
            validate(item_schema, item, path, errors);
            path.pop();
        }
    }
}

fn validate_object(
    schema: &Schema,
    map: &serde_json::Map<String, Value>,
    path: &mut Path,
    errors: &mut Vec<FieldError>,
) {
    let len = map.len() as u64;
    if let Some(min) = schema.min_properties
        && len < min
    {
        errors.push(FieldError::invalid(
            path.openapi_field(),
            BadValue::Int(min as i64),
            in_body(path, &format!("should have at least {min} properties")),
        ));
    }
    if let Some(max) = schema.max_properties
        && len > max
    {
        errors.push(FieldError::too_many(path.openapi_field(), map.len(), max));
    }
    for name in &schema.required {
        if !map.contains_key(name) {
            errors.push(FieldError::required(
                path.with(Step::Field(name.clone())).openapi_field(),
                "",
            ));
        }
    }
    let additional = schema.additional_schema();
    for (key, child) in map {
        if let Some(prop) = schema.properties.get(key) {
            path.push(Step::Field(key.clone()));
            validate(prop, child, path, errors);
            path.pop();
        } else if let Some(add) = additional {
            path.push(Step::Key(key.clone()));
            validate(add, child, path, errors);
            path.pop();
        }
    }
}

fn passes(schema: &Schema, value: &Value, path: &Path) -> (bool, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut p = path.clone();
    validate(schema, value, &mut p, &mut errs);
    (errs.is_empty(), errs)
}

fn composite(path: &Path, what: &str) -> FieldError {
    FieldError::invalid(
        "<nil>",
        BadValue::Str(String::new()),
        format!("{} {what}", gofmt::quote(&path.openapi())),
    )
}

fn validate_composition(
    schema: &Schema,
    value: &Value,
    path: &mut Path,
    errors: &mut Vec<FieldError>,
) {
    for sub in &schema.all_of {
        validate(sub, value, path, errors);
    }
    if !schema.any_of.is_empty() {
        let mut kept = Vec::new();
        let mut ok = false;
        for sub in &schema.any_of {
            let (passed, errs) = passes(sub, value, path);
            if passed {
                ok = true;
                break;
            }
            kept.extend(errs);
        }
        if !ok {
            errors.push(composite(path, "must validate at least one schema (anyOf)"));
            errors.extend(kept);
        }
    }
    if !schema.one_of.is_empty() {
        let mut valid = 0;
        let mut kept = Vec::new();
        for sub in &schema.one_of {
            let (passed, errs) = passes(sub, value, path);
            if passed {
                valid += 1;
            } else {
                kept.extend(errs);
            }
        }
        if valid == 0 {
            errors.push(composite(
                path,
                "must validate one and only one schema (oneOf). Found none valid",
            ));
            errors.extend(kept);
        } else if valid > 1 {
            errors.push(composite(
                path,
                &format!("must validate one and only one schema (oneOf). Found {valid} valid alternatives"),
            ));
        }
    }
    if let Some(not) = &schema.not
        && passes(not, value, path).0
    {
        errors.push(composite(path, "must not validate the schema (not)"));
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
