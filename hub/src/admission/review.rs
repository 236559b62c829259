//! One AdmissionReview judged: what the API server sends
//! (`admission.k8s.io/v1`, the object as it would be stored) turned into
//! the resource a file would make, put through the hub's checks, and
//! answered as the API server expects: the request's `uid` echoed,
//! `allowed`, every error in `status.message` with reason `Invalid` (code
//! 422), and the checks' warnings as `warnings`.
//!
//! Deletes and connects are allowed unjudged (a resource going away cannot
//! make what istiod serves invalid); a dry run is judged as the real
//! request would be (the checks have no side effects). A kind the hub does
//! not know is allowed with a warning naming the fix, so a webhook
//! configuration that selects more than the hub checks does not block it
//! silently or pass it silently.

use std::sync::Arc;

use kube_core::DynamicObject;
use kube_core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube_core::response::Status;
use serde_json::Value;

use galleon_pipeline::Verdict;
use galleon_pipeline::event::{Collection, Entry, Origin};
use galleon_pipeline::registry::Registry;

/// What a review asks the checks for.
pub(super) enum Subject {
    /// Nothing to judge: answer `allowed`, with these warnings.
    Allow(Vec<String>),
    /// Refused before the checks (not a resource the hub could serve).
    Deny(String),
    /// Judge this resource.
    Check(Collection, Entry),
}

/// What `request` asks to be judged.
pub(super) fn subject(request: &AdmissionRequest<DynamicObject>, registry: &Registry) -> Subject {
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return Subject::Allow(Vec::new());
    }
    let Some(object) = &request.object else {
        return Subject::Deny(format!(
            "the {:?} request carries no object",
            request.operation
        ));
    };
    let object = match serde_json::to_value(object) {
        Ok(object) => object,
        Err(error) => return Subject::Deny(format!("the object cannot be read: {error}")),
    };
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if registry.lookup(api_version, kind).is_none() {
        return Subject::Allow(vec![format!(
            "galleon does not know {api_version} {kind}, so it was not validated: declare it under kinds: in the hub's configuration, or leave it out of the webhook's rules"
        )]);
    }
    let mut path = std::path::PathBuf::from("admission");
    path.push(api_version);
    path.push(kind);
    path.extend(request.namespace.iter());
    path.push(&request.name);
    let origin = Arc::new(Origin {
        path,
        document: 0,
        line: 1,
    });
    match galleon_sources::resource_of(object, &origin, registry) {
        Ok(Some((collection, entry))) => Subject::Check(collection, entry),
        Ok(None) => Subject::Deny("the object is empty".into()),
        Err(invalid) => Subject::Deny(invalid),
    }
}

/// The answer to `request`: allowed with the verdict's warnings, or denied
/// with every error.
pub(super) fn answer(
    request: &AdmissionRequest<DynamicObject>,
    verdict: Verdict,
) -> AdmissionResponse {
    let warnings: Vec<String> = verdict.warnings.into_iter().map(|w| w.message).collect();
    let mut response = AdmissionResponse::from(request);
    if !verdict.errors.is_empty() {
        let message: Vec<String> = verdict.errors.into_iter().map(|e| e.message).collect();
        response = denied(response, &message.join("; "), "Invalid", 422);
    }
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

/// `response` denied with `message`, `reason` and an HTTP `code`.
pub(super) fn denied(
    mut response: AdmissionResponse,
    message: &str,
    reason: &str,
    code: u16,
) -> AdmissionResponse {
    response.allowed = false;
    response.result = Status::failure(message, reason).with_code(code);
    response
}
