//! The checks a resource passes before it is served, for the surfaces that
//! judge a resource outside the pipeline (`galleon validate`, the admission
//! webhook), built from the same validator factories and body codecs the
//! pipeline runs, so all three refuse alike. [`Checks`] holds what is
//! loaded once (the CRD stage, the validator plugins' factories, the body
//! codecs); a [`CheckSession`] is one caller's instances of them (a plugin
//! instance serves one call at a time).
//!
//! A resource is judged by every validator bound to its collection, then
//! its body is encoded as its output collection serves it (typed from the
//! user's `.proto` files, or `Struct`), so a body a sink could not be sent
//! is refused here too. A resource a transformer consumes is judged by its
//! validators only: its output is another resource, encoded when made.

use std::collections::HashMap;
use std::sync::Arc;

use galleon_pipeline::diagnostics::Problem;
use galleon_pipeline::event::{Collection, Entry};
use galleon_pipeline::registry::Registry;
use galleon_pipeline::{BodyCodec, StructCodec, Validator, ValidatorFactory, Verdict};

/// Each directly served source collection's output collection and the
/// codec its bodies are served with.
type OutputCodecs = HashMap<Collection, (Collection, Arc<dyn BodyCodec>)>;

/// What every check session is built from. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Checks {
    validators: Arc<[Arc<dyn ValidatorFactory>]>,
    codecs: Arc<OutputCodecs>,
}

impl Checks {
    /// The checks of `validators` (in order) and the body codecs of
    /// `registry`'s directly served kinds (`Struct` where `codecs` has none).
    pub(crate) fn new(
        validators: Vec<Arc<dyn ValidatorFactory>>,
        codecs: &HashMap<Collection, Arc<dyn BodyCodec>>,
        registry: &Registry,
    ) -> Self {
        let by_input = registry
            .schemas()
            .into_iter()
            .filter_map(|schema| {
                let output = schema.output.clone()?;
                let codec = codecs
                    .get(&output)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(StructCodec));
                Some((schema.collection.clone(), (output, codec)))
            })
            .collect();
        Self {
            validators: validators.into(),
            codecs: Arc::new(by_input),
        }
    }

    /// A session of fresh validator instances.
    pub(crate) fn session(&self) -> CheckSession {
        CheckSession {
            validators: self.validators.iter().map(|v| v.build()).collect(),
            codecs: self.codecs.clone(),
        }
    }
}

/// One caller's instances of the checks.
pub(crate) struct CheckSession {
    validators: Vec<Box<dyn Validator>>,
    codecs: Arc<OutputCodecs>,
}

impl CheckSession {
    /// Judges `entry` of `collection`: every validator bound to the
    /// collection, then the body's encoding.
    pub(crate) fn check(&mut self, collection: &Collection, entry: &Entry) -> Verdict {
        let mut verdict = Verdict::default();
        for validator in &mut self.validators {
            if validator.collections().contains(collection) {
                let judged = validator.validate(collection, entry);
                verdict.errors.extend(judged.errors);
                verdict.warnings.extend(judged.warnings);
            }
        }
        if let Some((output, codec)) = self.codecs.get(collection) {
            let location = location(collection, entry);
            match codec.encode(&entry.body.value()) {
                Ok(encoded) => verdict.warnings.extend(
                    encoded
                        .warnings
                        .iter()
                        .map(|w| Problem::warning(&location, format!("{}: {w}", entry.name))),
                ),
                Err(error) => verdict.errors.push(Problem::new(
                    &location,
                    format!("cannot serve {} as {output}: {error}", entry.name),
                )),
            }
        }
        verdict
    }
}

/// Where `entry` came from, or its collection and name.
fn location(collection: &Collection, entry: &Entry) -> String {
    entry
        .origin
        .as_ref()
        .map_or_else(|| format!("{collection} {}", entry.name), |o| o.to_string())
}
