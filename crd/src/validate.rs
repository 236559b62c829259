//! One object through the API server's steps for a custom resource: size limit, pruning
//! (warnings, or errors when strict), defaulting, metadata, the structural schema, list types,
//! then the CEL rules unless the object is already invalid in a way they cannot run on.

use serde_json::Value;

use crate::crd::{Crd, Crds, Version};
use crate::error::{BadValue, ErrorKind, FieldError};
use crate::path::Path;
use crate::report::Report;
use crate::{cel, cost, defaults, listtype, metadata, prune, structural};

/// How to validate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Unknown fields are errors (`fieldValidation=Strict`) instead of pruned with a warning.
    pub strict: bool,
}

const NOT_CHECKED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

impl Crds {
    /// Validates `object` (and, for transition rules, against `old`) as the API server would.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Report {
        self.validate_with(object, old, Options::default())
    }

    /// [`Crds::validate`] with options.
    pub fn validate_with(&self, object: &Value, old: Option<&Value>, options: Options) -> Report {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let unserved = |detail: String, path: &str| Report {
            qualified_kind: String::new(),
            name: name.clone(),
            served: false,
            errors: vec![FieldError::new(
                path,
                ErrorKind::NotFound,
                BadValue::Omit,
                detail,
            )],
            warnings: Vec::new(),
            object: object.clone(),
        };
        if !object.is_object() {
            return unserved(
                "Object 'Kind' is missing in the document: not an object".to_owned(),
                "<nil>",
            );
        }
        if kind.is_empty() {
            return unserved("Object 'Kind' is missing".to_owned(), "kind");
        }
        if api_version.is_empty() {
            return unserved("Object 'apiVersion' is missing".to_owned(), "apiVersion");
        }
        match self.lookup(api_version, kind) {
            Some((crd, version)) => validate_served(crd, version, object, old, options),
            None => unserved(
                format!("no matches for kind {kind:?} in version {api_version:?}"),
                "kind",
            ),
        }
    }
}

fn validate_served(
    crd: &Crd,
    version: &Version,
    object: &Value,
    old: Option<&Value>,
    options: Options,
) -> Report {
    let schema = version.schema.as_ref();
    let mut report = Report {
        qualified_kind: crd.qualified_kind(),
        name: object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        served: true,
        errors: Vec::new(),
        warnings: Vec::new(),
        object: Value::Null,
    };
    let size = serde_json::to_vec(object).map_or(usize::MAX, |b| b.len()) as u64;
    if size > cost::MAX_REQUEST_BYTES {
        report.errors.push(FieldError::new(
            "<nil>",
            ErrorKind::TooLong,
            BadValue::Omit,
            format!(
                "Request entity too large: limit is {}",
                cost::MAX_REQUEST_BYTES
            ),
        ));
        report.object = object.clone();
        return report;
    }
    let mut obj = object.clone();
    for field in prune::prune_root(schema, &mut obj) {
        let text = format!("unknown field {}", crate::gofmt::quote(&field));
        if options.strict {
            report.errors.push(FieldError::new(
                field,
                ErrorKind::Invalid,
                BadValue::Omit,
                text,
            ));
        } else {
            report.warnings.push(text);
        }
    }
    defaults::apply(schema, &mut obj);
    let mut old_obj = old.cloned();
    if let Some(o) = old_obj.as_mut() {
        prune::prune_root(schema, o);
        defaults::apply(schema, o);
    }
    metadata::validate(&obj, crd.namespaced, &mut report.errors);
    let mut path = Path::root();
    structural::validate(schema, &obj, &mut path, &mut report.errors);
    listtype::validate(schema, &obj, &mut path, &mut report.errors);
    let blocking = report.errors.iter().any(|e| {
        matches!(
            e.kind,
            ErrorKind::TypeInvalid | ErrorKind::TooMany | ErrorKind::TooLong
        )
    });
    if blocking {
        report
            .errors
            .push(FieldError::invalid("<nil>", BadValue::Null, NOT_CHECKED));
    } else {
        cel::validate::walk(
            schema,
            &obj,
            old_obj.as_ref(),
            &mut path,
            true,
            &mut report.errors,
        );
    }
    report.object = obj;
    report
}
