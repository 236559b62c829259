//! Why a YAML or JSON document is not a resource, in words a user can act
//! on: each variant names the field and what was found instead.

use galleon_mcp::quote::quote;

use super::names::NameError;

/// A document that cannot become a resource.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Invalid {
    /// Not a mapping at all.
    #[error("expected a mapping with apiVersion, kind and metadata, found {0}")]
    NotMapping(&'static str),
    /// `apiVersion` or `kind` is missing or empty.
    #[error("document has no {0}")]
    MissingField(&'static str),
    /// `apiVersion` or `kind` is not a string.
    #[error("{field} must be a string, found {found}")]
    NotString {
        field: &'static str,
        found: &'static str,
    },
    /// No registered kind has this `apiVersion` and `kind`.
    #[error(
        "unknown kind {kind} ({api_version}){suggestion}; declare it under `kinds:` in the hub configuration"
    )]
    UnknownKind {
        kind: String,
        api_version: String,
        /// A known `apiVersion kind` close to it, as `; did you mean …?`.
        suggestion: String,
    },
    /// `metadata` is not a mapping.
    #[error("{kind}: metadata must be a mapping, found {found}")]
    Metadata { kind: String, found: &'static str },
    /// `metadata.name` is missing, empty or not a string.
    #[error("{kind} has no metadata.name")]
    NoName { kind: String },
    /// `metadata.name` breaks Kubernetes' rules.
    #[error("{kind} {}: {why}", quote(.name))]
    Name {
        kind: String,
        name: String,
        why: NameError,
    },
    /// `metadata.namespace` is not a string.
    #[error("{kind} {name}: metadata.namespace must be a string")]
    NamespaceNotString { kind: String, name: String },
    /// `metadata.namespace` breaks Kubernetes' rules.
    #[error("{kind} {name} in {}: {why}", quote(.namespace))]
    Namespace {
        kind: String,
        name: String,
        namespace: String,
        why: NameError,
    },
    /// `metadata.labels` or `metadata.annotations` is not a mapping of
    /// strings.
    #[error("{name}: metadata.{field}{} must be {expected}, found {found}", .key.as_ref().map(|k| format!(".{k}")).unwrap_or_default())]
    StringMap {
        name: String,
        field: &'static str,
        key: Option<String>,
        expected: &'static str,
        found: &'static str,
    },
}
