//! Plugin → host: the WIT records a transformer answers with, as pipeline
//! events (a derived output applied to the input it names), and the checks
//! that answer must pass; an analyzer's reports.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::wit_bindings::wit;
use galleon_pipeline::event::{Collection, Entry, Event};

/// How a transformer's answer breaks the contract.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An output in a collection the plugin did not declare.
    #[error("emitted undeclared output collection {0:?}")]
    Undeclared(String),
    /// A resource without a name.
    #[error("emitted a resource of {0} without a name")]
    Unnamed(String),
    /// The same resource twice in one answer.
    #[error("emitted {0} {1} twice in one answer")]
    Twice(String, String),
    /// A derived output naming an input the host does not hold.
    #[error("derived an output from {0} {1}, which is not an input it holds")]
    UnknownInput(String, String),
    /// A batch answered with a result count other than the events'.
    #[error("answered a batch of {sent} events with {answered} results")]
    BatchLength {
        /// Events sent.
        sent: usize,
        /// Results received.
        answered: usize,
    },
    /// A body that does not parse as JSON.
    #[error("emitted {collection} {name} with a body that is not JSON: {error}")]
    BodyNotJson {
        /// The resource's collection.
        collection: String,
        /// The resource's name.
        name: String,
        /// The parser's reason.
        error: serde_json::Error,
    },
}

/// One event, as the plugin wrote it (nothing checked beyond the body being
/// JSON).
pub(crate) fn event(event: wit::Event) -> Result<Event, OutputError> {
    Ok(match event {
        wit::Event::Added(r) => {
            let collection = Collection::from(r.collection.as_str());
            Event::Added(collection, entry(r)?.into())
        }
        wit::Event::Updated(r) => {
            let collection = Collection::from(r.collection.as_str());
            Event::Updated(collection, entry(r)?.into())
        }
        wit::Event::Deleted(d) => Event::Deleted(d.collection.as_str().into(), d.name),
        wit::Event::FullSync(c) => Event::FullSync(c.as_str().into()),
        wit::Event::Reset => Event::Reset,
    })
}

/// One output, as the plugin wrote it (nothing checked beyond the body being
/// JSON; a derived one applied to the input `input` finds, as an update).
pub(crate) fn output<'a>(
    output: wit::Output,
    input: impl Fn(&str, &str) -> Option<&'a Entry>,
) -> Result<Event, OutputError> {
    match output {
        wit::Output::Event(e) => event(e),
        wit::Output::Derived(d) => {
            let from = derived_input(&d, input)?;
            Ok(Event::Updated(
                d.collection.as_str().into(),
                derive(from, &d)?.into(),
            ))
        }
    }
}

fn derived_input<'a>(
    d: &wit::Derived,
    input: impl Fn(&str, &str) -> Option<&'a Entry>,
) -> Result<&'a Entry, OutputError> {
    input(&d.input.collection, &d.input.name)
        .ok_or_else(|| OutputError::UnknownInput(d.input.collection.clone(), d.input.name.clone()))
}

/// An analyzer's report (its subject's origin is the host's to add).
pub(crate) fn report(report: wit::Report) -> galleon_pipeline::analysis::Report {
    use galleon_pipeline::analysis::{Level, Message, Report};
    Report {
        subject: (
            report.subject.collection.as_str().into(),
            report.subject.name,
        ),
        origin: None,
        messages: report
            .messages
            .into_iter()
            .map(|m| Message {
                analyzer: m.analyzer,
                code: m.code,
                name: m.name,
                level: match m.severity {
                    wit::Severity::Error => Level::Error,
                    wit::Severity::Warning => Level::Warning,
                    wit::Severity::Info => Level::Info,
                },
                field: m.field,
                text: m.text,
                references: m
                    .references
                    .into_iter()
                    .map(|r| (r.collection.as_str().into(), r.name))
                    .collect(),
            })
            .collect(),
    }
}

/// What a transformer's answer resolves to before its checks.
enum Resolved {
    Set(Entry),
    Unset,
}

/// Checks a transformer's outputs against the contract and converts them:
/// every collection must be a declared output, every body JSON, every
/// resource named, every derived output made from an input `input` finds,
/// and no resource set twice in one answer. Additions are updates to the
/// pipeline; `FullSync` and `Reset` are dropped (the host emits `FullSync`
/// for the outputs itself).
pub(crate) fn outputs<'a>(
    outputs: Vec<wit::Output>,
    declared: &[Collection],
    input: impl Fn(&str, &str) -> Option<&'a Entry>,
) -> Result<Vec<Event>, OutputError> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(outputs.len());
    for output in outputs {
        let (collection, name, resolved) = match output {
            wit::Output::Event(wit::Event::Added(r) | wit::Event::Updated(r)) => (
                r.collection.clone(),
                r.name.clone(),
                Resolved::Set(entry(r)?),
            ),
            wit::Output::Event(wit::Event::Deleted(d)) => (d.collection, d.name, Resolved::Unset),
            wit::Output::Event(wit::Event::FullSync(_) | wit::Event::Reset) => continue,
            wit::Output::Derived(d) => {
                let derived = derive(derived_input(&d, &input)?, &d)?;
                (d.collection, derived.name.clone(), Resolved::Set(derived))
            }
        };
        let Some(collection) = declared.iter().find(|c| &***c == collection.as_str()) else {
            return Err(OutputError::Undeclared(collection));
        };
        if name.is_empty() {
            return Err(OutputError::Unnamed(collection.to_string()));
        }
        if !seen.insert((collection.clone(), name.clone())) {
            return Err(OutputError::Twice(collection.to_string(), name));
        }
        let collection = collection.clone();
        events.push(match resolved {
            Resolved::Set(entry) => Event::Updated(collection, entry.into()),
            Resolved::Unset => Event::Deleted(collection, name),
        });
    }
    Ok(events)
}

/// `input` with a derived output's changes. Its version is the input's
/// with a hash of the changes, so equal inputs and changes give equal
/// versions on every replica.
fn derive(input: &Entry, d: &wit::Derived) -> Result<Entry, OutputError> {
    let mut entry = input.clone();
    entry.origin = None;
    if let Some(name) = &d.name {
        entry.name = name.clone();
    }
    let apply = |map: &mut std::collections::BTreeMap<String, String>,
                 changes: &[(String, Option<String>)]| {
        for (key, value) in changes {
            match value {
                Some(value) => map.insert(key.clone(), value.clone()),
                None => map.remove(key),
            };
        }
    };
    apply(&mut entry.labels, &d.labels);
    apply(&mut entry.annotations, &d.annotations);
    if let Some(patch) = &d.body_patch {
        let patch: serde_json::Value =
            serde_json::from_str(patch).map_err(|error| OutputError::BodyNotJson {
                collection: d.collection.clone(),
                name: entry.name.clone(),
                error,
            })?;
        let mut body = entry.body.value();
        json_patch::merge(&mut body, &patch);
        entry.body = body.into();
    }
    let mut hasher = Sha256::new();
    for part in [d.collection.as_str(), entry.name.as_str()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for (key, value) in d.labels.iter().chain(&d.annotations) {
        hasher.update(key.as_bytes());
        match value {
            Some(value) => hasher.update([[1u8].as_slice(), value.as_bytes(), &[0]].concat()),
            None => hasher.update([2u8, 0]),
        }
    }
    hasher.update(d.body_patch.as_deref().unwrap_or_default().as_bytes());
    entry.version = format!(
        "{}+{}",
        input.version,
        &hex::encode(hasher.finalize())[..16]
    );
    Ok(entry)
}

fn entry(r: wit::Resource) -> Result<Entry, OutputError> {
    let body: serde_json::Value =
        serde_json::from_str(&r.body).map_err(|error| OutputError::BodyNotJson {
            collection: r.collection.clone(),
            name: r.name.clone(),
            error,
        })?;
    Ok(Entry {
        name: r.name,
        labels: r.labels.into_iter().collect(),
        annotations: r.annotations.into_iter().collect(),
        create_time: r.create_time,
        version: r.version,
        body: body.into(),
        origin: None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn input() -> Entry {
        Entry {
            name: "ns/a".into(),
            labels: BTreeMap::from([("old".into(), "x".into()), ("keep".into(), "y".into())]),
            annotations: BTreeMap::new(),
            create_time: None,
            version: "v1".into(),
            body: json!({"a": 1, "b": {"c": 2}}).into(),
            origin: None,
        }
    }

    fn derived(patch: Option<&str>) -> wit::Output {
        wit::Output::Derived(wit::Derived {
            input: wit::ResourceRef {
                collection: "in".into(),
                name: "ns/a".into(),
            },
            collection: "out".into(),
            name: None,
            labels: vec![("team".into(), Some("mesh".into())), ("old".into(), None)],
            annotations: vec![],
            body_patch: patch.map(str::to_owned),
        })
    }

    #[test]
    fn a_derived_output_is_its_input_with_the_changes_applied() {
        let entry = input();
        let find = |c: &str, n: &str| (c == "in" && n == "ns/a").then_some(&entry);
        let declared: Vec<Collection> = vec!["out".into()];
        let events = outputs(
            vec![derived(Some(r#"{"b": {"c": null, "d": 3}}"#))],
            &declared,
            find,
        )
        .unwrap();
        let [Event::Updated(collection, out)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(&**collection, "out");
        assert_eq!(out.name, "ns/a");
        assert_eq!(out.body.value(), json!({"a": 1, "b": {"d": 3}}));
        assert_eq!(out.labels.get("team").map(String::as_str), Some("mesh"));
        assert!(!out.labels.contains_key("old") && out.labels.contains_key("keep"));
        assert!(out.version.starts_with("v1+"));
        // The same changes give the same version; other changes another.
        let again = outputs(
            vec![derived(Some(r#"{"b": {"c": null, "d": 3}}"#))],
            &declared,
            find,
        )
        .unwrap();
        let other = outputs(vec![derived(None)], &declared, find).unwrap();
        let version = |e: &[Event]| match e {
            [Event::Updated(_, entry)] => entry.version.clone(),
            _ => unreachable!(),
        };
        assert_eq!(version(&events), version(&again));
        assert_ne!(version(&events), version(&other));
        assert_eq!(
            input().body.value(),
            json!({"a": 1, "b": {"c": 2}}),
            "the input is untouched"
        );
    }

    #[test]
    fn a_derived_output_of_an_unknown_input_or_a_bad_patch_breaks_the_contract() {
        let declared: Vec<Collection> = vec!["out".into()];
        let none = |_: &str, _: &str| None;
        let error = outputs(vec![derived(None)], &declared, none).unwrap_err();
        assert!(matches!(error, OutputError::UnknownInput(..)), "{error}");
        let entry = input();
        let find = |_: &str, _: &str| Some(&entry);
        let error = outputs(vec![derived(Some("{not json"))], &declared, find).unwrap_err();
        assert!(matches!(error, OutputError::BodyNotJson { .. }), "{error}");
    }
}
