//! CRD validation as a pipeline stage (`schemas.crds`): every added or
//! updated resource of a kind the loaded CustomResourceDefinitions define
//! is checked as the Kubernetes API server would check it (structural
//! schema, pruning, formats, CEL rules), so what istiod would drop is
//! refused at its source, with file:line and the API server's words, and
//! the last good version stays served.
//!
//! The versions of a kind share one collection, so a resource is checked
//! against the CRD version its collection is named after (or the CRD's
//! storage version when that one is not served); Istio's versions of a kind
//! carry one schema.

use std::sync::Arc;

use galleon_crd::Crds;
use galleon_pipeline::diagnostics::Problem;
use galleon_pipeline::event::{Collection, Entry};
use galleon_pipeline::registry::{BodyShape, Registry, Schema};
use galleon_pipeline::{Validator, ValidatorFactory, Verdict};
use serde_json::{Map, Value, json};
use tracing::info;

use super::HubError;

/// The stage's name in problems and logs.
const NAME: &str = "crd validation";

/// The kinds the CRDs define, and the CRDs.
pub(super) struct CrdValidation {
    crds: Arc<Crds>,
    kinds: Arc<[(Collection, Arc<Schema>, String)]>,
}

/// Loads `paths` and matches the CRDs to the registry's kinds; `None` when
/// no CRDs are configured. A path that cannot be read, a CRD refused, or a
/// CRD whose kind the hub does not know is an error naming it.
pub(super) fn load(
    paths: &[std::path::PathBuf],
    registry: &Registry,
) -> Result<Option<CrdValidation>, HubError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let crds = Crds::load(paths);
    if let Some(problem) = crds.problems().first() {
        return Err(HubError::Crds(problem.to_string()));
    }
    let mut kinds = Vec::new();
    for schema in registry.schemas() {
        let (group, _) = split(&schema.api_version);
        let Some(crd) = crds.crd(group, &schema.kind) else {
            continue;
        };
        let (_, version) = split(&schema.api_version);
        let served = crd
            .version(version)
            .filter(|v| v.served)
            .or_else(|| crd.versions.iter().find(|v| v.storage));
        if let Some(served) = served {
            let api_version = if group.is_empty() {
                served.name.clone()
            } else {
                format!("{group}/{}", served.name)
            };
            kinds.push((schema.collection.clone(), schema.clone(), api_version));
        }
    }
    if kinds.is_empty() {
        return Err(HubError::Crds(format!(
            "schemas.crds: none of the {} CRDs loaded defines a kind the hub knows (add it under kinds:)",
            crds.len()
        )));
    }
    info!(
        crds = crds.len(),
        kinds = kinds.len(),
        "validating with CustomResourceDefinitions"
    );
    Ok(Some(CrdValidation {
        crds: Arc::new(crds),
        kinds: kinds.into(),
    }))
}

fn split(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

impl ValidatorFactory for CrdValidation {
    fn build(&self) -> Box<dyn Validator> {
        Box::new(CrdValidation {
            crds: self.crds.clone(),
            kinds: self.kinds.clone(),
        })
    }
}

impl Validator for CrdValidation {
    fn name(&self) -> &str {
        NAME
    }

    fn collections(&self) -> Vec<Collection> {
        self.kinds.iter().map(|(c, _, _)| c.clone()).collect()
    }

    fn validate(&mut self, collection: &Collection, entry: &Entry) -> Verdict {
        let Some((_, schema, api_version)) = self.kinds.iter().find(|(c, _, _)| c == collection)
        else {
            return Verdict::default();
        };
        let object = object(schema, api_version, entry);
        let report = self.crds.validate(&object, None);
        let location = entry
            .origin
            .as_ref()
            .map_or_else(|| format!("{collection} {}", entry.name), |o| o.to_string());
        let what = format!("{} {}", schema.kind, entry.name);
        Verdict {
            errors: report
                .message()
                .map(|message| Problem::new(&location, format!("{what}: {message}")))
                .into_iter()
                .collect(),
            warnings: report
                .warnings
                .iter()
                .map(|warning| Problem::warning(&location, format!("{what}: {warning}")))
                .collect(),
        }
    }
}

/// The Kubernetes object an entry stands for, as the API server would see
/// it.
fn object(schema: &Schema, api_version: &str, entry: &Entry) -> Value {
    let (namespace, name) = match entry.name.split_once('/') {
        Some((namespace, name)) if !schema.cluster_scoped => (Some(namespace), name),
        _ => (None, entry.name.as_str()),
    };
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(namespace) = namespace {
        metadata.insert("namespace".into(), json!(namespace));
    }
    if !entry.labels.is_empty() {
        metadata.insert("labels".into(), json!(entry.labels));
    }
    if !entry.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(entry.annotations));
    }
    let mut object = match (&schema.body, entry.body.value()) {
        (BodyShape::Object, Value::Object(fields)) => fields,
        // A document without `spec` (the body is null): the API server sees
        // none, and says so if its schema requires one.
        (_, Value::Null) => Map::new(),
        (_, body) => Map::from_iter([("spec".to_owned(), body)]),
    };
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(schema.kind));
    object.insert("metadata".into(), Value::Object(metadata));
    Value::Object(object)
}
