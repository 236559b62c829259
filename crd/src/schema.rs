//! The structural schema: a CRD version's `openAPIV3Schema` read into typed nodes once, at load
//! (patterns compiled, and each rule as the CEL compiler left it), with the API server's checks of what a
//! structural schema may say.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{BadValue, FieldError};

/// A schema node's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `object`.
    Object,
    /// `array`.
    Array,
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
}

impl Type {
    /// The name in the schema (`object`).
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }

    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// `atomic` (the default).
    Atomic,
    /// `set`: items are unique scalars.
    Set,
    /// `map`: items are objects unique by `x-kubernetes-list-map-keys`.
    Map,
}

/// `additionalProperties`.
#[derive(Clone, Debug)]
pub enum Additional {
    /// `true` or `false`.
    Allowed(bool),
    /// A schema for every value.
    Schema(Box<Schema>),
}

/// A rule compiled at load.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) spec: RuleSpec,
    pub(crate) program: ::cel::Program,
    pub(crate) message: Option<::cel::Program>,
    pub(crate) uses_old_self: bool,
    /// `fieldPath`, as path steps appended to the node's path.
    pub(crate) field_path: Option<String>,
    /// The estimated cost of one evaluation.
    pub(crate) cost: u64,
}

/// A `pattern`, compiled.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// As written in the schema.
    pub source: String,
    /// Compiled with RE2 semantics.
    pub regex: Regex,
}

/// One `x-kubernetes-validations` entry.
#[derive(Clone, Debug, Default)]
pub struct RuleSpec {
    /// `rule`.
    pub rule: String,
    /// `message`.
    pub message: Option<String>,
    /// `messageExpression`.
    pub message_expression: Option<String>,
    /// `fieldPath`.
    pub field_path: Option<String>,
    /// `reason` (`FieldValueInvalid`, `FieldValueForbidden`, `FieldValueRequired`,
    /// `FieldValueDuplicate`).
    pub reason: Option<String>,
    /// `optionalOldSelf`.
    pub optional_old_self: bool,
}

/// A structural schema node.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// `type` (absent under `x-kubernetes-int-or-string` or preserved unknown fields).
    pub ty: Option<Type>,
    /// `format`, as written.
    pub format: Option<String>,
    /// `nullable`.
    pub nullable: bool,
    /// `x-kubernetes-int-or-string`.
    pub int_or_string: bool,
    /// `x-kubernetes-preserve-unknown-fields`.
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource`.
    pub embedded_resource: bool,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<ListType>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `properties`.
    pub properties: BTreeMap<String, Schema>,
    /// `required`.
    pub required: Vec<String>,
    /// `additionalProperties`.
    pub additional_properties: Option<Additional>,
    /// `items`.
    pub items: Option<Box<Schema>>,
    /// `enum`.
    pub enumeration: Option<Vec<Value>>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: bool,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: bool,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<Pattern>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// `minProperties`.
    pub min_properties: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// `default`.
    pub default: Option<Value>,
    /// `allOf`.
    pub all_of: Vec<Schema>,
    /// `oneOf`.
    pub one_of: Vec<Schema>,
    /// `anyOf`.
    pub any_of: Vec<Schema>,
    /// `not`.
    pub not: Option<Box<Schema>>,
    /// `x-kubernetes-validations`, as written.
    pub rules: Vec<RuleSpec>,
    /// The rules compiled (filled at load; same order as `rules`).
    pub(crate) compiled: Vec<Arc<CompiledRule>>,
    /// Whether this node or one below it has a rule (so the CEL walk can skip the rest).
    pub(crate) has_rules_below: bool,
}

impl Schema {
    /// The schema of a property (`properties`), else of any value (`additionalProperties`).
    pub fn child(&self, name: &str) -> Option<&Schema> {
        self.properties
            .get(name)
            .or(match &self.additional_properties {
                Some(Additional::Schema(s)) => Some(s),
                _ => None,
            })
    }

    /// The schema of every value of a map (`additionalProperties` as a schema).
    pub fn additional_schema(&self) -> Option<&Schema> {
        match &self.additional_properties {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// The type name the API server reports for this node in CEL errors.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.ty {
            Some(t) => t.as_str(),
            None => "",
        }
    }

    /// Parses `openAPIV3Schema` (or any node below it). `at` is the node's path in the CRD for
    /// errors.
    pub fn parse(value: &Value, at: &str) -> Result<Schema, Vec<FieldError>> {
        let mut errors = Vec::new();
        let schema = parse_node(value, at, &mut errors);
        if errors.is_empty() {
            Ok(schema)
        } else {
            Err(errors)
        }
    }
}

fn bad(at: &str, value: &Value, detail: &str, errors: &mut Vec<FieldError>) {
    errors.push(FieldError::invalid(at, BadValue::of(value), detail));
}

fn get_u64(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Option<u64> {
    let v = obj.get(key)?;
    match v.as_u64() {
        Some(n) => Some(n),
        None => {
            bad(
                &format!("{at}.{key}"),
                v,
                "must be a non-negative integer",
                errors,
            );
            None
        }
    }
}

fn get_f64(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let v = obj.get(key)?;
    match v.as_f64() {
        Some(n) => Some(n),
        None => {
            bad(&format!("{at}.{key}"), v, "must be a number", errors);
            None
        }
    }
}

fn get_bool(obj: &Map<String, Value>, key: &str, at: &str, errors: &mut Vec<FieldError>) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            bad(&format!("{at}.{key}"), v, "must be a boolean", errors);
            false
        }
    }
}

fn get_str(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        v => {
            bad(&format!("{at}.{key}"), v, "must be a string", errors);
            None
        }
    }
}

fn parse_list(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<Schema> {
    match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_node(v, &format!("{at}.{key}[{i}]"), errors))
            .collect(),
        Some(v) => {
            bad(
                &format!("{at}.{key}"),
                v,
                "must be a list of schemas",
                errors,
            );
            Vec::new()
        }
    }
}

fn parse_node(value: &Value, at: &str, errors: &mut Vec<FieldError>) -> Schema {
    let Value::Object(obj) = value else {
        bad(at, value, "must be a schema object", errors);
        return Schema::default();
    };
    let mut s = Schema::default();
    if let Some(t) = get_str(obj, "type", at, errors) {
        match Type::parse(&t) {
            Some(ty) => s.ty = Some(ty),
            None => errors.push(FieldError::unsupported(
                format!("{at}.type"),
                BadValue::Str(t),
                &["array", "boolean", "integer", "number", "object", "string"].map(String::from),
            )),
        }
    }
    s.format = get_str(obj, "format", at, errors);
    s.nullable = get_bool(obj, "nullable", at, errors);
    s.int_or_string = get_bool(obj, "x-kubernetes-int-or-string", at, errors);
    s.preserve_unknown_fields = get_bool(obj, "x-kubernetes-preserve-unknown-fields", at, errors);
    s.embedded_resource = get_bool(obj, "x-kubernetes-embedded-resource", at, errors);
    if let Some(lt) = get_str(obj, "x-kubernetes-list-type", at, errors) {
        s.list_type = match lt.as_str() {
            "atomic" => Some(ListType::Atomic),
            "set" => Some(ListType::Set),
            "map" => Some(ListType::Map),
            _ => {
                errors.push(FieldError::unsupported(
                    format!("{at}.x-kubernetes-list-type"),
                    BadValue::Str(lt),
                    &["atomic", "set", "map"].map(String::from),
                ));
                None
            }
        };
    }
    if let Some(keys) = obj.get("x-kubernetes-list-map-keys") {
        match keys.as_array() {
            Some(keys) => {
                s.list_map_keys = keys
                    .iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            }
            None => bad(
                &format!("{at}.x-kubernetes-list-map-keys"),
                keys,
                "must be a list of strings",
                errors,
            ),
        }
    }
    match obj.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (name, p) in props {
                let child = parse_node(p, &format!("{at}.properties[{name}]"), errors);
                s.properties.insert(name.clone(), child);
            }
        }
        Some(v) => bad(
            &format!("{at}.properties"),
            v,
            "must be an object of schemas",
            errors,
        ),
    }
    match obj.get("required") {
        None | Some(Value::Null) => {}
        Some(Value::Array(req)) => {
            s.required = req
                .iter()
                .filter_map(|r| r.as_str().map(String::from))
                .collect()
        }
        Some(v) => bad(
            &format!("{at}.required"),
            v,
            "must be a list of strings",
            errors,
        ),
    }
    match obj.get("additionalProperties") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => s.additional_properties = Some(Additional::Allowed(*b)),
        Some(v) => {
            let child = parse_node(v, &format!("{at}.additionalProperties"), errors);
            s.additional_properties = Some(Additional::Schema(Box::new(child)));
        }
    }
    match obj.get("items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(_)) => errors.push(FieldError::forbidden(
            format!("{at}.items"),
            "items must be a schema object and not an array",
        )),
        Some(v) => s.items = Some(Box::new(parse_node(v, &format!("{at}.items"), errors))),
    }
    match obj.get("enum") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => s.enumeration = Some(values.clone()),
        Some(v) => bad(&format!("{at}.enum"), v, "must be a list", errors),
    }
    s.minimum = get_f64(obj, "minimum", at, errors);
    s.maximum = get_f64(obj, "maximum", at, errors);
    s.exclusive_minimum = get_bool(obj, "exclusiveMinimum", at, errors);
    s.exclusive_maximum = get_bool(obj, "exclusiveMaximum", at, errors);
    s.multiple_of = get_f64(obj, "multipleOf", at, errors);
    if let Some(m) = s.multiple_of
        && m <= 0.0
    {
        errors.push(FieldError::invalid(
            format!("{at}.multipleOf"),
            BadValue::Float(m),
            "must be greater than zero",
        ));
    }
    s.min_length = get_u64(obj, "minLength", at, errors);
    s.max_length = get_u64(obj, "maxLength", at, errors);
    if let Some(p) = get_str(obj, "pattern", at, errors) {
        match Regex::new(&p) {
            Ok(regex) => s.pattern = Some(Pattern { source: p, regex }),
            Err(e) => errors.push(FieldError::invalid(
                format!("{at}.pattern"),
                BadValue::Str(p.clone()),
                format!(
                    "must be a valid regular expression, but isn't: {}",
                    first_line(&e.to_string())
                ),
            )),
        }
    }
    s.min_items = get_u64(obj, "minItems", at, errors);
    s.max_items = get_u64(obj, "maxItems", at, errors);
    s.unique_items = get_bool(obj, "uniqueItems", at, errors);
    s.min_properties = get_u64(obj, "minProperties", at, errors);
    s.max_properties = get_u64(obj, "maxProperties", at, errors);
    s.default = obj.get("default").cloned();
    s.all_of = parse_list(obj, "allOf", at, errors);
    s.one_of = parse_list(obj, "oneOf", at, errors);
    s.any_of = parse_list(obj, "anyOf", at, errors);
    if let Some(n) = obj.get("not")
        && !n.is_null()
    {
        s.not = Some(Box::new(parse_node(n, &format!("{at}.not"), errors)));
    }
    if obj.contains_key("$ref") {
        errors.push(FieldError::forbidden(
            format!("{at}.$ref"),
            "$ref is not supported",
        ));
    }
    match obj.get("x-kubernetes-validations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(rules)) => {
            for (i, r) in rules.iter().enumerate() {
                let rat = format!("{at}.x-kubernetes-validations[{i}]");
                let Value::Object(r) = r else {
                    bad(&rat, r, "must be an object", errors);
                    continue;
                };
                let rule = RuleSpec {
                    rule: get_str(r, "rule", &rat, errors).unwrap_or_default(),
                    message: get_str(r, "message", &rat, errors),
                    message_expression: get_str(r, "messageExpression", &rat, errors),
                    field_path: get_str(r, "fieldPath", &rat, errors),
                    reason: get_str(r, "reason", &rat, errors),
                    optional_old_self: get_bool(r, "optionalOldSelf", &rat, errors),
                };
                check_rule(&rule, &rat, errors);
                s.rules.push(rule);
            }
        }
        Some(v) => bad(
            &format!("{at}.x-kubernetes-validations"),
            v,
            "must be a list",
            errors,
        ),
    }
    check_structural(&s, at, errors);
    s.has_rules_below = !s.rules.is_empty()
        || s.properties.values().any(|p| p.has_rules_below)
        || s.items.as_ref().is_some_and(|i| i.has_rules_below)
        || s.additional_schema().is_some_and(|a| a.has_rules_below);
    s
}

fn check_rule(rule: &RuleSpec, at: &str, errors: &mut Vec<FieldError>) {
    if rule.rule.trim().is_empty() {
        errors.push(FieldError::required(format!("{at}.rule"), ""));
    }
    if let Some(m) = &rule.message {
        if m.trim().is_empty() {
            errors.push(FieldError::invalid(
                format!("{at}.message"),
                BadValue::Str(m.clone()),
                "message must be non-empty if specified",
            ));
        } else if m.contains('\n') {
            errors.push(FieldError::invalid(
                format!("{at}.message"),
                BadValue::Str(m.clone()),
                "message must not contain line breaks",
            ));
        }
    }
    if let Some(r) = &rule.reason
        && !matches!(
            r.as_str(),
            "FieldValueInvalid"
                | "FieldValueForbidden"
                | "FieldValueRequired"
                | "FieldValueDuplicate"
        )
    {
        errors.push(FieldError::unsupported(
            format!("{at}.reason"),
            BadValue::Str(r.clone()),
            &[
                "FieldValueDuplicate",
                "FieldValueForbidden",
                "FieldValueInvalid",
                "FieldValueRequired",
            ]
            .map(String::from),
        ));
    }
}

/// The structural-schema rules the API server holds a v1 CRD's schema to (a subset: the ones a
/// validator depends on).
fn check_structural(s: &Schema, at: &str, errors: &mut Vec<FieldError>) {
    if !s.properties.is_empty() && matches!(s.additional_properties, Some(Additional::Schema(_))) {
        errors.push(FieldError::forbidden(
            format!("{at}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if s.int_or_string && s.ty.is_some() {
        errors.push(FieldError::invalid(
            format!("{at}.type"),
            BadValue::Str(s.type_name().to_owned()),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if s.ty == Some(Type::Array) && s.items.is_none() {
        errors.push(FieldError::required(
            format!("{at}.items"),
            "must be specified",
        ));
    }
    if s.list_type == Some(ListType::Map) {
        if s.list_map_keys.is_empty() {
            errors.push(FieldError::required(
                format!("{at}.x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        if let Some(items) = &s.items
            && items.ty != Some(Type::Object)
        {
            errors.push(FieldError::invalid(
                format!("{at}.items.type"),
                BadValue::Str(items.type_name().to_owned()),
                "must be object if parent array's x-kubernetes-list-type is map",
            ));
        }
    } else if !s.list_map_keys.is_empty() {
        errors.push(FieldError::forbidden(
            format!("{at}.x-kubernetes-list-map-keys"),
            "must not be set if x-kubernetes-list-type is not map",
        ));
    }
    if s.list_type.is_some() && s.ty != Some(Type::Array) {
        errors.push(FieldError::forbidden(
            format!("{at}.x-kubernetes-list-type"),
            "must only be used on arrays",
        ));
    }
    if s.embedded_resource && s.ty != Some(Type::Object) {
        errors.push(FieldError::invalid(
            format!("{at}.type"),
            BadValue::Str(s.type_name().to_owned()),
            "must be object if x-kubernetes-embedded-resource is true",
        ));
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}
