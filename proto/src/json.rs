//! Conversions between JSON values and `google.protobuf.Struct`, the body type
//! galleon uses for resources that have no typed schema.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// How deep protobuf decoders nest messages before they give up: prost's and
/// upb's default recursion limit.
pub const DECODE_DEPTH_LIMIT: usize = 100;

/// How many protobuf messages deep `object` nests once encoded as a
/// `Struct`, counted as decoders count (the root `Struct` is level 0): each
/// field is a map entry and a `Value`; a mapping inside adds its `Struct`,
/// a list its `ListValue`. A body deeper than [`DECODE_DEPTH_LIMIT`] encodes,
/// but no sink can decode it.
pub fn struct_depth(object: &Map<String, Json>) -> usize {
    // Iterative, so a hostile body cannot exhaust the stack here.
    let mut deepest = 0;
    let mut values: Vec<(&Json, usize)> = object.values().map(|v| (v, 2)).collect();
    while let Some((value, level)) = values.pop() {
        deepest = deepest.max(level);
        match value {
            Json::Object(inner) => {
                deepest = deepest.max(level + 1);
                values.extend(inner.values().map(|v| (v, level + 3)));
            }
            Json::Array(items) => {
                deepest = deepest.max(level + 1);
                values.extend(items.iter().map(|v| (v, level + 2)));
            }
            _ => {}
        }
    }
    deepest
}

/// Converts a JSON object into a `Struct`.
pub fn struct_from_json(object: Map<String, Json>) -> Struct {
    Struct {
        fields: object
            .into_iter()
            .map(|(key, value)| (key, value_from_json(value)))
            .collect(),
    }
}

/// Converts any JSON value into a protobuf `Value`.
///
/// Protobuf numbers are doubles, as in Kubernetes' own JSON handling; integers
/// beyond 2^53 lose precision, which no configuration field relies on.
pub fn value_from_json(value: Json) -> Value {
    let kind = match value {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(value_from_json).collect(),
        }),
        Json::Object(object) => Kind::StructValue(struct_from_json(object)),
    };
    Value { kind: Some(kind) }
}

/// Converts a `Struct` back into a JSON object.
pub fn struct_to_json(s: &Struct) -> Map<String, Json> {
    s.fields
        .iter()
        .map(|(key, value)| (key.clone(), value_to_json(value)))
        .collect()
}

/// Converts a protobuf `Value` into JSON. Whole numbers come back as JSON
/// integers, so `port: 80` round-trips as `80`, not `80.0`.
pub fn value_to_json(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number_to_json(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => Json::Object(struct_to_json(s)),
    }
}

fn number_to_json(n: f64) -> Json {
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= MAX_EXACT {
        Json::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// A JSON value's type in words, for error messages ("a list", "null", ...).
pub fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_nested_documents() {
        let doc = json!({
            "hosts": ["a.example.com"],
            "http": [{"route": [{"destination": {"host": "a", "port": {"number": 80}}, "weight": 100}]}],
            "ratio": 0.25,
            "enabled": true,
            "missing": null,
        });
        let Json::Object(object) = doc.clone() else {
            unreachable!()
        };
        let back = Json::Object(struct_to_json(&struct_from_json(object)));
        assert_eq!(back, doc);
    }

    /// Objects `depth` mappings deep, or lists `depth` deep under one key.
    fn nested(depth: usize, list: bool) -> Map<String, Json> {
        let mut value = serde_json::json!(1);
        for _ in 1..depth {
            value = if list {
                serde_json::json!([value])
            } else {
                serde_json::json!({ "a": value })
            };
        }
        let Json::Object(object) = serde_json::json!({ "a": value }) else {
            unreachable!()
        };
        object
    }

    #[test]
    fn the_depth_bound_is_exactly_what_decoders_accept() {
        for list in [false, true] {
            for depth in 1..80 {
                let object = nested(depth, list);
                let within = struct_depth(&object) <= DECODE_DEPTH_LIMIT;
                let encoded = struct_from_json(object).encode_to_vec();
                let decodes = Struct::decode(encoded.as_slice()).is_ok();
                assert_eq!(within, decodes, "depth {depth}, lists: {list}");
            }
        }
    }
}
