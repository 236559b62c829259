//! Field errors in the API server's words (`k8s.io/apimachinery/pkg/util/validation/field`), their
//! aggregate (`[a, b]`), the invalid-object message (`Kind.group "name" is invalid: …`), and the
//! errors of loading CustomResourceDefinitions.

use std::fmt;
use std::path::PathBuf;

use crate::gofmt;

/// What kind of problem a [`FieldError`] is: the API server's `field.ErrorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `Not found`.
    NotFound,
    /// `Required value`.
    Required,
    /// `Duplicate value`.
    Duplicate,
    /// `Invalid value`.
    Invalid,
    /// `Unsupported value` (an enum's other values).
    Unsupported,
    /// `Forbidden`.
    Forbidden,
    /// `Too long`.
    TooLong,
    /// `Too many`.
    TooMany,
    /// `Internal error`.
    Internal,
    /// `Invalid value`, for a value of the wrong type.
    TypeInvalid,
}

impl ErrorKind {
    /// The words the API server puts after the path (`Required value`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "Not found",
            ErrorKind::Required => "Required value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::Invalid | ErrorKind::TypeInvalid => "Invalid value",
            ErrorKind::Unsupported => "Unsupported value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
            ErrorKind::Internal => "Internal error",
        }
    }

    /// The status cause type the API server reports (`FieldValueInvalid`).
    pub fn cause_type(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "FieldValueNotFound",
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::Unsupported => "FieldValueNotSupported",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
            ErrorKind::Internal => "InternalError",
            ErrorKind::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// The offending value as the API server prints it (Go's `%v`, `%q` or `%#v`).
#[derive(Clone, Debug, PartialEq)]
pub enum BadValue {
    /// No value is printed (`Invalid value: detail`).
    Omit,
    /// `null`.
    Null,
    /// A string, printed quoted.
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number, printed as Go prints a `float64`.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Already formatted (Go's `%#v` of a map or list).
    Raw(String),
}

impl BadValue {
    /// The value of a JSON node, as the API server prints it.
    pub fn of(value: &serde_json::Value) -> BadValue {
        match value {
            serde_json::Value::Null => BadValue::Null,
            serde_json::Value::Bool(b) => BadValue::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => BadValue::Int(i),
                None => BadValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => BadValue::Str(s.clone()),
            other => BadValue::Raw(gofmt::sharp_v(other)),
        }
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Omit => Ok(()),
            BadValue::Null => f.write_str("\"null\""),
            BadValue::Str(s) => f.write_str(&gofmt::quote(s)),
            BadValue::Int(i) => write!(f, "{i}"),
            BadValue::Float(x) => f.write_str(&gofmt::float(*x)),
            BadValue::Bool(b) => write!(f, "{b}"),
            BadValue::Raw(s) => f.write_str(s),
        }
    }
}

/// One field error: where, what kind, the value, and the detail.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field path (`spec.ports[0].number`; `<nil>` for the object itself).
    pub path: String,
    /// The kind of error.
    pub kind: ErrorKind,
    /// The offending value.
    pub value: BadValue,
    /// What is wrong with it.
    pub detail: String,
    /// The `reason` a CEL rule declared (`FieldValueForbidden`, …), if any.
    pub reason: Option<String>,
}

impl FieldError {
    /// A new error.
    pub fn new(
        path: impl Into<String>,
        kind: ErrorKind,
        value: BadValue,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            path: path.into(),
            kind,
            value,
            detail: detail.into(),
            reason: None,
        }
    }

    /// `path: Required value`.
    pub fn required(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(path, ErrorKind::Required, BadValue::Omit, detail)
    }

    /// `path: Invalid value: value: detail`.
    pub fn invalid(path: impl Into<String>, value: BadValue, detail: impl Into<String>) -> Self {
        Self::new(path, ErrorKind::Invalid, value, detail)
    }

    /// `path: Forbidden: detail`.
    pub fn forbidden(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(path, ErrorKind::Forbidden, BadValue::Omit, detail)
    }

    /// `path: Duplicate value: value`.
    pub fn duplicate(path: impl Into<String>, value: BadValue) -> Self {
        Self::new(path, ErrorKind::Duplicate, value, "")
    }

    /// `path: Too long: may not be more than N bytes` (the API server says bytes, counting
    /// characters for `maxLength`).
    pub fn too_long(path: impl Into<String>, max: Option<u64>) -> Self {
        let detail = match max {
            Some(1) => "may not be more than 1 byte".to_owned(),
            Some(max) => format!("may not be more than {max} bytes"),
            None => "value is too long".to_owned(),
        };
        Self::new(path, ErrorKind::TooLong, BadValue::Omit, detail)
    }

    /// `path: Too many: actual: must have at most N items`.
    pub fn too_many(path: impl Into<String>, actual: usize, max: u64) -> Self {
        Self::new(
            path,
            ErrorKind::TooMany,
            BadValue::Int(i64::try_from(actual).unwrap_or(i64::MAX)),
            format!("must have at most {max} items"),
        )
    }

    /// `path: Unsupported value: value: supported values: "a", "b"`.
    pub fn unsupported(path: impl Into<String>, value: BadValue, supported: &[String]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| gofmt::quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(path, ErrorKind::Unsupported, value, detail)
    }

    /// What follows the path (`Required value`, `Invalid value: "x": detail`).
    pub fn body(&self) -> String {
        let mut s = String::from(self.kind.as_str());
        let omit = matches!(
            self.kind,
            ErrorKind::Required | ErrorKind::Forbidden | ErrorKind::TooLong | ErrorKind::Internal
        ) || self.value == BadValue::Omit;
        if !omit {
            s.push_str(": ");
            s.push_str(&self.value.to_string());
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Several field errors as the API server joins them: one alone, or `[a, b]` (repeats dropped).
pub fn aggregate(errors: &[FieldError]) -> String {
    let mut seen = std::collections::HashSet::new();
    let messages: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    match messages.len() {
        0 => String::new(),
        1 => messages.into_iter().next().unwrap_or_default(),
        _ => format!("[{}]", messages.join(", ")),
    }
}

/// An object the API server would refuse: `Kind.group "name" is invalid: [a, b]`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{qualified_kind} {name:?} is invalid: {}", aggregate(.errors))]
pub struct Invalid {
    /// `Kind.group` (`VirtualService.networking.istio.io`).
    pub qualified_kind: String,
    /// The object's name.
    pub name: String,
    /// Its errors.
    pub errors: Vec<FieldError>,
}

/// Why a CustomResourceDefinition (or a file of them) did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A document is not YAML or JSON.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The document's first line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A CustomResourceDefinition that the API server would refuse (malformed, a CEL rule that
    /// does not compile, over the cost budget).
    #[error("{path}:{line}: CustomResourceDefinition {name:?} is invalid: {}", aggregate(.errors))]
    Crd {
        /// The file.
        path: PathBuf,
        /// The document's first line.
        line: usize,
        /// The CRD's name.
        name: String,
        /// What is wrong, with paths into the CRD (`spec.versions[0].schema.openAPIV3Schema…`).
        errors: Vec<FieldError>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_as_the_api_server_writes_them() {
        assert_eq!(
            FieldError::required("spec.jwtRules[0].issuer", "").to_string(),
            "spec.jwtRules[0].issuer: Required value"
        );
        assert_eq!(
            FieldError::too_many("spec.x", 3, 2).to_string(),
            "spec.x: Too many: 3: must have at most 2 items"
        );
        assert_eq!(
            FieldError::too_long("metadata.name", Some(253)).to_string(),
            "metadata.name: Too long: may not be more than 253 bytes"
        );
        let supported = ["UNSET".to_owned(), "DISABLE".to_owned()];
        assert_eq!(
            FieldError::unsupported(
                "spec.mtls.mode",
                BadValue::Str("SOMETIMES".into()),
                &supported
            )
            .to_string(),
            "spec.mtls.mode: Unsupported value: \"SOMETIMES\": supported values: \"UNSET\", \"DISABLE\""
        );
        assert_eq!(
            FieldError::invalid(
                "spec.ports[0].number",
                BadValue::Str("integer".into()),
                "port must be between 1-65535"
            )
            .to_string(),
            "spec.ports[0].number: Invalid value: \"integer\": port must be between 1-65535"
        );
        assert_eq!(
            FieldError::invalid("<nil>", BadValue::Null, "x").to_string(),
            "<nil>: Invalid value: \"null\": x"
        );
    }

    #[test]
    fn aggregate_joins_and_drops_repeats() {
        let a = FieldError::required("a", "");
        let b = FieldError::required("b", "");
        assert_eq!(aggregate(std::slice::from_ref(&a)), "a: Required value");
        assert_eq!(
            aggregate(&[a.clone(), b, a]),
            "[a: Required value, b: Required value]"
        );
        let invalid = Invalid {
            qualified_kind: "VirtualService.networking.istio.io".into(),
            name: "reviews".into(),
            errors: vec![FieldError::required("spec.hosts", "")],
        };
        assert_eq!(
            invalid.to_string(),
            "VirtualService.networking.istio.io \"reviews\" is invalid: spec.hosts: Required value"
        );
    }
}
