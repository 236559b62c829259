//! galleon-crd validates Kubernetes objects exactly as the Kubernetes API server validates a
//! custom resource against its CustomResourceDefinition: the structural OpenAPI v3 schema
//! (pruning, defaulting, types, bounds, formats, list types) and the CEL rules
//! (`x-kubernetes-validations`), with the API server's error wording and field paths.
//!
//! ```no_run
//! let crds = galleon_crd::Crds::load(["crds/"]);
//! let object = serde_json::json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
//!     "metadata": {"name": "gw"}, "spec": {}});
//! let report = crds.validate(&object, None);
//! if let Some(message) = report.message() {
//!     eprintln!("{message}");
//! }
//! ```

mod cel;
mod cost;
mod crd;
mod defaults;
mod error;
mod format;
mod goduration;
mod gofmt;
mod listtype;
mod metadata;
mod path;
mod prune;
mod report;
mod schema;
mod structural;
mod validate;

pub use crd::{Crd, Crds, Note, Version};
pub use error::{BadValue, ErrorKind, FieldError, Invalid, LoadError, aggregate};
pub use format::{check as check_format, is_validated as is_validated_format};
pub use report::Report;
pub use schema::{Additional, ListType, Pattern, RuleSpec, Schema, Type};
pub use validate::Options;

/// The cost limits the API server enforces on CEL rules.
pub mod limits {
    pub use crate::cost::{MAX_REQUEST_BYTES, PER_CRD_LIMIT, PER_EXPRESSION_LIMIT};
}
