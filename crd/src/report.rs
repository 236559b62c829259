//! What validating one object found: its errors, its warnings, the object as the API server
//! would store it (pruned and defaulted), and the API server's message.

use serde_json::Value;

use crate::error::{FieldError, Invalid};

/// The outcome of validating one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `Kind.group` of the object (empty when no CRD serves it).
    pub qualified_kind: String,
    /// `metadata.name`.
    pub name: String,
    /// Whether a loaded CRD serves the object's `apiVersion` and `kind`.
    pub served: bool,
    /// The errors, in the API server's order where it has one.
    pub errors: Vec<FieldError>,
    /// Warnings (`unknown field "spec.foo"`).
    pub warnings: Vec<String>,
    /// The object pruned of unknown fields and defaulted.
    pub object: Value,
}

impl Report {
    /// No errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors as the API server's invalid-object error, if any.
    pub fn invalid(&self) -> Option<Invalid> {
        (!self.errors.is_empty()).then(|| Invalid {
            qualified_kind: self.qualified_kind.clone(),
            name: self.name.clone(),
            errors: self.errors.clone(),
        })
    }

    /// The API server's message for the refusal, if refused.
    pub fn message(&self) -> Option<String> {
        if !self.served {
            return self.errors.first().map(|e| e.detail.clone());
        }
        self.invalid().map(|i| i.to_string())
    }
}
