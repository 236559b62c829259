//! Kubernetes' format library: `format.named(name)` and `format.dns1123Label()` and its
//! siblings, each with `validate(string)`: `optional.none()` when the string is of the format,
//! else the API server's messages.

use std::sync::{Arc, LazyLock};

use cel::common::types::STRING_TYPE;
use cel::objects::{Opaque, OptionalValue};
use cel::{DeclarationError, Env, ExecutionError, Value};
use regex::Regex;

use super::adapt::{arg, fail, opaque, overload, str_arg};

const TYPE: &str = "kubernetes.NamedFormat";

/// One named format.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Named(&'static str);

impl Opaque for Named {
    fn runtime_type_name(&self) -> &str {
        TYPE
    }
}

const NAMES: &[&str] = &[
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime",
];

static LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("valid"));
static SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").expect("valid")
});
static DNS1035: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z]([-a-z0-9]*[a-z0-9])?$").expect("valid"));
static QUALIFIED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("valid"));
static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").expect("valid"));

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// A DNS-1123 label's problems (`validation.IsDNS1123Label`).
pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !LABEL.is_match(s) {
        errs.push(LABEL_MSG.to_owned());
    }
    errs
}

/// A DNS-1123 subdomain's problems (`validation.IsDNS1123Subdomain`).
pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !SUBDOMAIN.is_match(s) {
        errs.push(SUBDOMAIN_MSG.to_owned());
    }
    errs
}

fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !DNS1035.is_match(s) {
        errs.push(DNS1035_MSG.to_owned());
    }
    errs
}

/// A qualified name's problems (`validation.IsQualifiedName`: an optional DNS subdomain prefix
/// and `/`, then a name of at most 63 characters).
pub(crate) fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if s.matches('/').count() > 1 {
        return vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_owned()];
    }
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_owned());
        } else {
            errs.extend(
                dns1123_subdomain(p)
                    .into_iter()
                    .map(|e| format!("prefix part {e}")),
            );
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !name.is_empty() && !QUALIFIED.is_match(name) {
        errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_owned());
    }
    errs
}

/// A label value's problems (`validation.IsValidLabelValue`).
pub(crate) fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !LABEL_VALUE.is_match(s) {
        errs.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_owned());
    }
    errs
}

fn check(name: &str, s: &str) -> Vec<String> {
    let prefixed = |f: fn(&str) -> Vec<String>| {
        let t = s.strip_suffix('-').unwrap_or(s);
        f(t)
    };
    match name {
        "dns1123Label" => dns1123_label(s),
        "dns1123Subdomain" => dns1123_subdomain(s),
        "dns1035Label" => dns1035_label(s),
        "qualifiedName" => qualified_name(s),
        "dns1123LabelPrefix" => prefixed(dns1123_label),
        "dns1123SubdomainPrefix" => prefixed(dns1123_subdomain),
        "dns1035LabelPrefix" => prefixed(dns1035_label),
        "labelValue" => label_value(s),
        "uri" => (!crate::format::check("uri", s))
            .then(|| "invalid URI".to_owned())
            .into_iter()
            .collect(),
        "uuid" => (!crate::format::check("uuid", s))
            .then(|| "does not match the UUID format".to_owned())
            .into_iter()
            .collect(),
        "byte" => (!crate::format::check("byte", s))
            .then(|| "invalid base64".to_owned())
            .into_iter()
            .collect(),
        "date" => (!crate::format::check("date", s))
            .then(|| "invalid date".to_owned())
            .into_iter()
            .collect(),
        "datetime" => (!crate::format::check("datetime", s))
            .then(|| "invalid datetime".to_owned())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn named(args: &[Value]) -> Result<Value, ExecutionError> {
    let name = str_arg(args, 0)?;
    let found = NAMES
        .iter()
        .find(|n| **n == name)
        .map(|n| Value::Opaque(Arc::new(Named(n))));
    Ok(Value::Opaque(Arc::new(match found {
        Some(v) => OptionalValue::of(v),
        None => OptionalValue::none(),
    })))
}

pub(crate) fn validate(args: &[Value]) -> Result<Value, ExecutionError> {
    let Value::Opaque(o) = arg(args, 0)? else {
        return Err(fail("validate", "not a format"));
    };
    let f = o
        .downcast_ref::<Named>()
        .ok_or_else(|| fail("validate", "not a format"))?;
    let errs = check(f.0, str_arg(args, 1)?);
    Ok(Value::Opaque(Arc::new(if errs.is_empty() {
        OptionalValue::none()
    } else {
        OptionalValue::of(Value::List(Arc::new(
            errs.into_iter()
                .map(|e| Value::String(Arc::new(e)))
                .collect(),
        )))
    })))
}

overload!(named_fn => named);
overload!(validate_fn => validate);

macro_rules! constant {
    ($($f:ident => $name:literal),* $(,)?) => {
        $(
            fn $f<'b, 'v>(
                _args: Vec<cel::common::value::CowVal<'b, 'v>>,
            ) -> Result<cel::common::value::CowVal<'b, 'v>, ExecutionError> {
                let v = Value::Opaque(Arc::new(Named($name)));
                let boxed: Box<dyn cel::common::value::Val> = v.try_into()?;
                Ok(cel::common::value::CowVal::Owned(boxed))
            }
        )*
        const CONSTANTS: &[(&str, cel::common::functions::Function)] = &[$(($name, $f)),*];
    };
}

constant!(
    f_dns1123_label => "dns1123Label",
    f_dns1123_subdomain => "dns1123Subdomain",
    f_dns1035_label => "dns1035Label",
    f_qualified_name => "qualifiedName",
    f_dns1123_label_prefix => "dns1123LabelPrefix",
    f_dns1123_subdomain_prefix => "dns1123SubdomainPrefix",
    f_dns1035_label_prefix => "dns1035LabelPrefix",
    f_label_value => "labelValue",
    f_uri => "uri",
    f_uuid => "uuid",
    f_byte => "byte",
    f_date => "date",
    f_datetime => "datetime",
);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(opaque(TYPE))?;
    env.add_overload("format.named", "format_named", vec![STRING_TYPE], named_fn)?;
    for (name, f) in CONSTANTS {
        env.add_overload(
            &format!("format.{name}"),
            &format!("format_{name}"),
            vec![],
            *f,
        )?;
    }
    env.add_member_overload(
        "validate",
        "format_validate",
        opaque(TYPE),
        vec![STRING_TYPE],
        validate_fn,
    )?;
    Ok(())
}
