//! One file's bytes → resources. Multi-document YAML is split on document
//! markers so every document gets its own index and starting line; each
//! document is parsed on its own, so one bad document never hides the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::invalid::Invalid;
use super::names::{check_name, check_namespace};
use galleon_pipeline::diagnostics::Problem;
use galleon_pipeline::event::{Collection, Entry, Origin};
use galleon_pipeline::registry::{BodyShape, Registry};
use galleon_proto::json::json_kind as kind_of;

/// A resource read from one document.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) collection: Collection,
    /// Shared with the events that carry it and every stage that keeps it.
    pub(crate) entry: Arc<Entry>,
    /// Hash of the whole document: equal hash, no event.
    pub(crate) hash: [u8; 32],
}

impl Document {
    pub(crate) fn origin(&self) -> &Origin {
        self.entry
            .origin
            .as_deref()
            .expect("file documents always have an origin")
    }
}

/// What a file yielded.
#[derive(Debug, Default)]
pub(crate) struct ParsedFile {
    pub(crate) documents: Vec<Document>,
    pub(crate) problems: Vec<Problem>,
}

/// Whether `path` names a configuration file galleon reads.
pub(crate) fn is_config_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Parses a file's content.
pub(crate) fn parse_file(path: &Path, bytes: &[u8], registry: &Registry) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            parsed.problems.push(Problem::new(
                path.display().to_string(),
                format!(
                    "not UTF-8 text (invalid byte at offset {}); nothing in it was loaded",
                    e.valid_up_to()
                ),
            ));
            return parsed;
        }
    };
    let json = path.extension().is_some_and(|e| e == "json");
    if !json && let Some(documents) = whole_stream(text) {
        for (document, (line, value)) in documents.into_iter().enumerate() {
            let origin = Arc::new(Origin {
                path: path.to_owned(),
                document,
                line,
            });
            add_items(&mut parsed, value, &origin, registry);
        }
        return parsed;
    }
    let chunks = if json {
        vec![(1, text)]
    } else {
        split_documents(text)
    };
    // Numbered as the whole-stream reader numbers them: empty documents
    // are no documents.
    let mut document = 0;
    for (line, chunk) in chunks {
        let parsed_chunk = parse_chunk(chunk, json);
        if matches!(parsed_chunk, Ok(Value::Null)) {
            continue;
        }
        let origin = Arc::new(Origin {
            path: path.to_owned(),
            document,
            line,
        });
        document += 1;
        let document = origin.document;
        let value = match parsed_chunk {
            Ok(value) => value,
            Err((relative, message)) => {
                let location = match relative {
                    Some((l, c)) => format!(
                        "{}:{}:{} (document {document})",
                        path.display(),
                        line + l - 1,
                        c
                    ),
                    None => origin.to_string(),
                };
                parsed.problems.push(Problem::new(location, message));
                continue;
            }
        };
        add_items(&mut parsed, value, &origin, registry);
    }
    parsed
}

/// The documents of a YAML stream that parses whole, as serde-saphyr's
/// multi-document reader reads it (markers anywhere YAML allows them, a
/// document on its marker's line too), each with the line its content
/// starts on; `None` if any document does not parse, to be read one by one
/// so the others still load.
fn whole_stream(text: &str) -> Option<Vec<(usize, Value)>> {
    let documents: Vec<serde_saphyr::Spanned<Value>> = serde_saphyr::from_multiple(text).ok()?;
    Some(
        documents
            .into_iter()
            .map(|d| (d.defined.line() as usize, d.value))
            .collect(),
    )
}

/// The resources one document holds (a `List`'s items, or itself) into
/// `parsed`, with what makes any of them no resource.
fn add_items(parsed: &mut ParsedFile, value: Value, origin: &Arc<Origin>, registry: &Registry) {
    for item in items(value) {
        match document_of(item, origin, registry) {
            Ok(Some(doc)) => parsed.documents.push(doc),
            Ok(None) => {}
            Err(invalid) => parsed
                .problems
                .push(Problem::new(origin.to_string(), invalid.to_string())),
        }
    }
}

/// Splits YAML text that does not parse whole into documents at `---`
/// marker lines, with the line each document starts on (from 1), so each
/// can be parsed (and fail) alone. A marker at column 0 always starts a new
/// document in YAML, even inside a block scalar; content after it on its
/// line belongs to the new document.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut documents = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 1, 0);
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- #") || bare == "..." {
            documents.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = index + 2;
        } else if let Some(content) = line
            .strip_prefix("--- ")
            .or_else(|| line.strip_prefix("---\t"))
        {
            documents.push((start_line, &text[start..offset]));
            start = offset + line.len() - content.len();
            start_line = index + 1;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start..]));
    documents
}

/// Parses one document; on error, the position within it and the reason.
fn parse_chunk(chunk: &str, json: bool) -> Result<Value, (Option<(usize, usize)>, String)> {
    if json {
        return serde_json::from_str(chunk).map_err(|e| {
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            (Some((e.line(), e.column())), message)
        });
    }
    serde_saphyr::from_str(chunk).map_err(|e| {
        let position = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        let message = crate::yaml::first_line(&e.to_string());
        // Drop the parser's own "line X column Y: " (relative to the document).
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_owned(),
            _ => message,
        };
        (position, message)
    })
}

/// A `kind: List` document's items, or the document itself.
fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Object(mut object) if object.get("kind").and_then(Value::as_str) == Some("List") => {
            match object.remove("items") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        other => vec![other],
    }
}

/// One Kubernetes-style object → a resource. `Ok(None)` for an empty document.
pub(crate) fn document_of(
    value: Value,
    origin: &Arc<Origin>,
    registry: &Registry,
) -> Result<Option<Document>, Invalid> {
    let mut object = match value {
        Value::Null => return Ok(None),
        Value::Object(object) => object,
        other => return Err(Invalid::NotMapping(kind_of(&other))),
    };
    let api_version = string_field(&object, "apiVersion")?;
    let kind = string_field(&object, "kind")?;
    // What is kept of it, hashed: a change only to what is not kept (a Pod's
    // conditions) is no change.
    object = super::compact::object(&api_version, &kind, object);
    let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(&object).unwrap_or_default()).into();
    let Some(schema) = registry.lookup(&api_version, &kind) else {
        let known: Vec<String> = registry
            .schemas()
            .iter()
            .flat_map(|s| {
                s.api_versions()
                    .map(|v| format!("{v} {}", s.kind))
                    .collect::<Vec<_>>()
            })
            .collect();
        let written = format!("{api_version} {kind}");
        let suggestion =
            galleon_mcp::quote::did_you_mean(&written, known.iter().map(String::as_str));
        return Err(Invalid::UnknownKind {
            kind,
            api_version,
            suggestion,
        });
    };
    let metadata = match object.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        Some(other) => {
            let found = kind_of(&other);
            return Err(Invalid::Metadata { kind, found });
        }
        None => return Err(Invalid::NoName { kind }),
    };
    let name = match metadata.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return Err(Invalid::NoName { kind }),
    };
    if let Err(why) = check_name(&name) {
        return Err(Invalid::Name { kind, name, why });
    }
    let name = if schema.cluster_scoped {
        name
    } else {
        let namespace = match metadata.get("namespace") {
            Some(Value::String(ns)) if !ns.is_empty() => ns.as_str(),
            None | Some(Value::Null) => "default",
            Some(_) => return Err(Invalid::NamespaceNotString { kind, name }),
        };
        if let Err(why) = check_namespace(namespace) {
            let namespace = namespace.to_owned();
            return Err(Invalid::Namespace {
                kind,
                name,
                namespace,
                why,
            });
        }
        format!("{namespace}/{name}")
    };
    let body = match schema.body {
        BodyShape::Spec => object.remove("spec").unwrap_or(Value::Null),
        BodyShape::Object => {
            object.remove("apiVersion");
            object.remove("kind");
            Value::Object(object)
        }
        BodyShape::Credential => super::credential::summary(&object),
    };
    let entry = Entry {
        labels: string_map(&metadata, "labels", &name)?,
        annotations: string_map(&metadata, "annotations", &name)?,
        create_time: metadata
            .get("creationTimestamp")
            .and_then(Value::as_str)
            .map(str::to_owned),
        // Files rarely carry a resourceVersion; a prefix of the document's
        // hash stands in for it (plugins copy it into annotations).
        version: metadata
            .get("resourceVersion")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map_or_else(|| hex::encode(&hash[..8]), str::to_owned),
        name,
        body: body.into(),
        origin: Some(origin.clone()),
    };
    Ok(Some(Document {
        collection: schema.collection.clone(),
        entry: Arc::new(entry),
        hash,
    }))
}

/// One Kubernetes-style object as the resource a file's document would
/// make, with its collection, or why it is not one (`Ok(None)` for `null`):
/// for checks outside a source, such as the admission webhook's.
pub fn resource_of(
    value: Value,
    origin: &Arc<Origin>,
    registry: &Registry,
) -> Result<Option<(Collection, Entry)>, String> {
    match document_of(value, origin, registry) {
        Ok(document) => Ok(document.map(|d| (d.collection, Arc::unwrap_or_clone(d.entry)))),
        Err(invalid) => Err(invalid.to_string()),
    }
}

fn string_field(object: &Map<String, Value>, field: &'static str) -> Result<String, Invalid> {
    match object.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(other) if !other.is_string() => Err(Invalid::NotString {
            field,
            found: kind_of(other),
        }),
        _ => Err(Invalid::MissingField(field)),
    }
}

fn string_map(
    metadata: &Map<String, Value>,
    field: &'static str,
    name: &str,
) -> Result<BTreeMap<String, String>, Invalid> {
    let invalid = |key: Option<&String>, expected, found| Invalid::StringMap {
        name: name.to_owned(),
        field,
        key: key.cloned(),
        expected,
        found,
    };
    match metadata.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(invalid(Some(k), "a string", kind_of(other))),
            })
            .collect(),
        Some(other) => Err(invalid(None, "a mapping", kind_of(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedFile {
        parse_file(
            Path::new("dir/f.yaml"),
            text.as_bytes(),
            &Registry::builtin(),
        )
    }

    const VS: &str = "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n";

    #[test]
    fn multi_document_yaml_with_names_and_metadata() {
        let text = format!(
            "# leading comment\n{VS}metadata:\n  name: a\n  namespace: prod\n  labels: {{app: web}}\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\nspec:\n  hosts: [a]\n---\n---\n{VS}metadata:\n  name: b\nspec: {{}}\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  namespace: ignored\n"
        );
        let parsed = parse(&text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let names: Vec<_> = parsed
            .documents
            .iter()
            .map(|d| d.entry.name.as_str())
            .collect();
        assert_eq!(names, ["prod/a", "default/b", "n1"]);
        let a = &parsed.documents[0];
        assert_eq!(a.entry.labels["app"], "web");
        assert_eq!(a.entry.create_time.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(a.entry.body.value()["hosts"][0], "a");
        assert_eq!(
            &*a.collection,
            "k8s/networking.istio.io/v1alpha3/virtualservices"
        );
        let b = &parsed.documents[1];
        assert_eq!((b.origin().document, b.origin().line), (1, 13));
    }

    #[test]
    fn a_document_may_start_on_its_separators_line() {
        let text = format!(
            "{VS}metadata: {{name: a}}\n--- {{apiVersion: networking.istio.io/v1alpha3, kind: VirtualService, metadata: {{name: b}}}}\n"
        );
        let parsed = parse(&text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let b = &parsed.documents[1];
        assert_eq!((b.entry.name.as_str(), b.origin().line), ("default/b", 4));
        // And beside a broken document, read one by one.
        let broken = format!("{text}---\nkind: [unclosed\n");
        let parsed = parse(&broken);
        let names: Vec<_> = parsed
            .documents
            .iter()
            .map(|d| d.entry.name.as_str())
            .collect();
        assert_eq!(names, ["default/a", "default/b"]);
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        assert!(!parsed.problems[0].message.contains("from_str_multiple"));
    }

    #[test]
    fn a_bad_document_is_reported_with_its_line_and_the_rest_load() {
        let text = format!(
            "{VS}metadata: {{name: good}}\n---\n{VS}metadata:\n  name: [broken\n---\n{VS}metadata: {{name: also-good}}\n"
        );
        let parsed = parse(&text);
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.problems.len(), 1);
        let problem = &parsed.problems[0];
        assert!(problem.location.starts_with("dir/f.yaml:8:9"), "{problem}");
        assert!(problem.location.ends_with("(document 1)"), "{problem}");
    }

    #[test]
    fn unknown_kinds_and_missing_fields_are_named() {
        let parsed = parse(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\nkind: VirtualService\n---\napiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {}\n---\n- 1\n",
        );
        let messages: Vec<_> = parsed.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages[0].contains("unknown kind Widget (example.com/v1)"),
            "{messages:?}"
        );
        let typo = parse(
            "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualServce\nmetadata: {name: a}\n",
        );
        assert!(
            typo.problems[0]
                .message
                .contains("did you mean \"networking.istio.io/v1alpha3 VirtualService\"?"),
            "{:?}",
            typo.problems
        );
        assert!(messages[1].contains("no apiVersion"), "{messages:?}");
        assert!(messages[2].contains("no metadata.name"), "{messages:?}");
        assert!(messages[3].contains("found a list"), "{messages:?}");
        assert_eq!(parsed.problems[3].location, "dir/f.yaml:11 (document 3)");
    }

    #[test]
    fn whole_object_kinds_keep_everything_but_type_and_metadata() {
        let parsed = parse(
            "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e, namespace: ns}\nsubsets:\n- addresses: [{ip: 10.0.0.1}]\n",
        );
        let body = parsed.documents[0].entry.body.value();
        assert_eq!(body["subsets"][0]["addresses"][0]["ip"], "10.0.0.1");
        assert!(body.get("kind").is_none() && body.get("metadata").is_none());
    }

    #[test]
    fn lists_json_and_non_utf8() {
        let list = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80}]}}]}"#;
        let parsed = parse_file(Path::new("l.json"), list.as_bytes(), &Registry::builtin());
        assert_eq!(parsed.documents[0].entry.name, "default/s");
        let bad = parse_file(Path::new("x.json"), b"{\"a\": ", &Registry::builtin());
        assert!(
            bad.problems[0].location.starts_with("x.json:1:"),
            "{:?}",
            bad.problems
        );
        let binary = parse_file(
            Path::new("b.yaml"),
            &[0x61, 0xff, 0xfe],
            &Registry::builtin(),
        );
        assert!(binary.problems[0].message.contains("not UTF-8"));
    }

    #[test]
    fn splitting_tracks_lines() {
        assert_eq!(
            split_documents("a: 1\n---\nb: 2\n"),
            [(1, "a: 1\n"), (3, "b: 2\n")]
        );
        assert_eq!(split_documents("---\na: 1\n"), [(1, ""), (2, "a: 1\n")]);
    }
}
