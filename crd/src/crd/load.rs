//! Loading CustomResourceDefinitions from files and directories (multi-document YAML and JSON,
//! each document's line kept): documents that are not `apiextensions.k8s.io/v1`
//! CustomResourceDefinitions are skipped with a note; a CRD that is malformed, or has a rule that
//! does not compile or is over the cost budget, is reported and left out; every rule of the
//! others is compiled here, once.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::{Crd, Version};
use crate::cel;
use crate::cost;
use crate::error::{BadValue, FieldError, LoadError};
use crate::schema::Schema;

/// A document that was not loaded, and why (not an error: not a CRD).
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// The file.
    pub path: PathBuf,
    /// The document's first line.
    pub line: usize,
    /// Why it was skipped.
    pub message: String,
}

/// What loading found: the CRDs, the documents skipped, the problems.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) crds: Vec<Crd>,
    pub(crate) notes: Vec<Note>,
    pub(crate) problems: Vec<LoadError>,
}

/// The files under `path` (itself if a file), `.yaml`, `.yml` and `.json`, sorted.
fn files(path: &FsPath, loaded: &mut Loaded) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let p = e.path();
                if matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("yaml" | "yml" | "json")
                ) {
                    out.push(p.to_owned());
                }
            }
            Ok(_) => {}
            Err(e) => loaded.problems.push(LoadError::Read {
                path: e
                    .path()
                    .map(FsPath::to_owned)
                    .unwrap_or_else(|| path.to_owned()),
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("unreadable")),
            }),
        }
    }
    out
}

/// Loads every path.
pub(crate) fn load<P: AsRef<FsPath>>(paths: impl IntoIterator<Item = P>) -> Loaded {
    let mut loaded = Loaded::default();
    for p in paths {
        let p = p.as_ref();
        if !p.exists() {
            loaded.problems.push(LoadError::Read {
                path: p.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
            continue;
        }
        for file in files(p, &mut loaded) {
            match std::fs::read_to_string(&file) {
                Ok(text) => load_text(&text, &file, &mut loaded),
                Err(source) => loaded.problems.push(LoadError::Read { path: file, source }),
            }
        }
    }
    loaded
}

/// The documents of a file with their first lines.
pub(crate) fn documents(text: &str, path: &FsPath) -> (Vec<(usize, Value)>, Vec<LoadError>) {
    let json = path.extension().and_then(|x| x.to_str()) == Some("json");
    if json {
        return match serde_json::from_str::<Value>(text) {
            Ok(v) => (vec![(1, v)], Vec::new()),
            Err(e) => (
                Vec::new(),
                vec![LoadError::Parse {
                    path: path.to_owned(),
                    line: e.line(),
                    message: e.to_string(),
                }],
            ),
        };
    }
    // The whole file at once, each document with its position.
    if let Ok(docs) = serde_saphyr::from_multiple::<serde_saphyr::Spanned<Value>>(text) {
        return (
            docs.into_iter()
                .map(|d| (d.defined.line() as usize, d.value))
                .collect(),
            Vec::new(),
        );
    }
    // A document that does not parse: split at `---` lines so the others still load.
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (line, chunk) in split_documents(text) {
        if chunk.trim().is_empty() {
            continue;
        }
        match serde_saphyr::from_str::<Value>(chunk) {
            Ok(Value::Null) => {}
            Ok(v) => out.push((line, v)),
            Err(e) => {
                let at = e.location().map_or(line, |l| line + l.line() as usize - 1);
                errors.push(LoadError::Parse {
                    path: path.to_owned(),
                    line: at,
                    message: e
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or("invalid YAML")
                        .to_owned(),
                });
            }
        }
    }
    (out, errors)
}

/// Splits at lines that start with `---`, keeping each part's first line number.
pub(crate) fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.starts_with("---") {
            parts.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    parts.push((start_line, &text[start..]));
    parts
}

/// The CRDs in `text`, read as if from `path`.
pub(crate) fn load_str(text: &str, path: &FsPath) -> Loaded {
    let mut loaded = Loaded::default();
    load_text(text, path, &mut loaded);
    loaded
}

fn load_text(text: &str, path: &FsPath, loaded: &mut Loaded) {
    let (docs, errors) = documents(text, path);
    loaded.problems.extend(errors);
    for (line, doc) in docs {
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "CustomResourceDefinition" || api_version != "apiextensions.k8s.io/v1" {
            let message = if kind == "CustomResourceDefinition" {
                format!(
                    "skipped: CustomResourceDefinition of {api_version:?} (only apiextensions.k8s.io/v1 is read)"
                )
            } else {
                format!("skipped: not a CustomResourceDefinition ({api_version:?}, kind {kind:?})")
            };
            tracing::debug!(path = %path.display(), line, %message, "document skipped");
            loaded.notes.push(Note {
                path: path.to_owned(),
                line,
                message,
            });
            continue;
        }
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match crd_of(&doc, path, line) {
            Ok(crd) => loaded.crds.push(crd),
            Err(errors) => {
                let e = LoadError::Crd {
                    path: path.to_owned(),
                    line,
                    name,
                    errors,
                };
                tracing::warn!(error = %e, "CustomResourceDefinition not loaded");
                loaded.problems.push(e);
            }
        }
    }
}

fn str_at<'a>(doc: &'a Value, pointer: &str, field: &str, errors: &mut Vec<FieldError>) -> &'a str {
    match doc.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(v) if !v.is_string() => {
            errors.push(FieldError::invalid(
                field,
                BadValue::of(v),
                "must be a string",
            ));
            ""
        }
        _ => {
            errors.push(FieldError::required(field, ""));
            ""
        }
    }
}

/// A CRD document → a CRD, its rules compiled; or what the API server would say against it.
fn crd_of(doc: &Value, path: &FsPath, line: usize) -> Result<Crd, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = str_at(doc, "/metadata/name", "metadata.name", &mut errors).to_owned();
    let group = str_at(doc, "/spec/group", "spec.group", &mut errors).to_owned();
    let kind = str_at(doc, "/spec/names/kind", "spec.names.kind", &mut errors).to_owned();
    let plural = str_at(doc, "/spec/names/plural", "spec.names.plural", &mut errors).to_owned();
    let scope = str_at(doc, "/spec/scope", "spec.scope", &mut errors).to_owned();
    if !scope.is_empty() && scope != "Namespaced" && scope != "Cluster" {
        errors.push(FieldError::unsupported(
            "spec.scope",
            BadValue::Str(scope.clone()),
            &["Cluster".into(), "Namespaced".into()],
        ));
    }
    if !name.is_empty()
        && !plural.is_empty()
        && !group.is_empty()
        && name != format!("{plural}.{group}")
    {
        errors.push(FieldError::invalid(
            "metadata.name",
            BadValue::Str(name.clone()),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let mut versions = Vec::new();
    match doc.pointer("/spec/versions") {
        Some(Value::Array(vs)) if !vs.is_empty() => {
            for (i, v) in vs.iter().enumerate() {
                let at = format!("spec.versions[{i}]");
                let vname = v
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if vname.is_empty() {
                    errors.push(FieldError::required(format!("{at}.name"), ""));
                }
                let served = v.get("served").and_then(Value::as_bool).unwrap_or(false);
                let storage = v.get("storage").and_then(Value::as_bool).unwrap_or(false);
                let schema_at = format!("{at}.schema.openAPIV3Schema");
                let schema = match v.pointer("/schema/openAPIV3Schema") {
                    Some(s) => match Schema::parse(s, &schema_at) {
                        Ok(mut schema) => {
                            compile_rules(&mut schema, &schema_at, Some(1), &mut 0, &mut errors);
                            schema
                        }
                        Err(es) => {
                            errors.extend(es);
                            continue;
                        }
                    },
                    None => {
                        errors.push(FieldError::required(schema_at, "schemas are required"));
                        continue;
                    }
                };
                versions.push(Version {
                    name: vname,
                    served,
                    storage,
                    schema: Arc::new(schema),
                });
            }
            if vs
                .iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .count()
                != 1
            {
                errors.push(FieldError::invalid(
                    "spec.versions",
                    BadValue::Omit,
                    "must have exactly one version marked as storage version",
                ));
            }
        }
        _ => errors.push(FieldError::invalid(
            "spec.versions",
            BadValue::Omit,
            "must have exactly one version marked as storage version",
        )),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Crd {
        name,
        group,
        kind,
        plural,
        namespaced: scope == "Namespaced",
        versions,
        origin: (path.to_owned(), line),
    })
}

/// Compiles every rule of `schema` and below; `cardinality` is how often this node's rules can
/// run in one object; `total` sums each rule's cost times that.
fn compile_rules(
    schema: &mut Schema,
    at: &str,
    cardinality: Option<u64>,
    total: &mut u64,
    errors: &mut Vec<FieldError>,
) {
    let root = at.ends_with("openAPIV3Schema");
    let mut compiled = Vec::new();
    let times = cardinality.unwrap_or_else(|| cost::unbounded_cardinality(schema));
    for (i, spec) in schema.rules.iter().enumerate() {
        let rat = format!("{at}.x-kubernetes-validations[{i}]");
        match cel::compile(spec, schema, &rat) {
            Ok(rule) => {
                if rule.cost > cost::PER_EXPRESSION_LIMIT {
                    errors.push(FieldError::forbidden(
                        format!("{rat}.rule"),
                        cost::over_expression_budget(rule.cost),
                    ));
                }
                *total = total.saturating_add(rule.cost.saturating_mul(times));
                compiled.push(Arc::new(rule));
            }
            Err(e) => errors.push(e),
        }
    }
    schema.compiled = compiled;
    let step = cost::cardinality_step(schema);
    let below = match (cardinality, step) {
        (Some(c), Some(s)) => Some(c.saturating_mul(s)),
        _ => None,
    };
    for (name, prop) in schema.properties.iter_mut() {
        compile_rules(
            prop,
            &format!("{at}.properties[{name}]"),
            cardinality,
            total,
            errors,
        );
    }
    if let Some(items) = schema.items.as_deref_mut() {
        compile_rules(items, &format!("{at}.items"), below, total, errors);
    }
    if let Some(crate::schema::Additional::Schema(add)) = schema.additional_properties.as_mut() {
        compile_rules(
            add,
            &format!("{at}.additionalProperties"),
            below,
            total,
            errors,
        );
    }
    if root && *total > cost::PER_CRD_LIMIT {
        errors.push(FieldError::forbidden(at, cost::over_crd_budget(*total)));
    }
}
