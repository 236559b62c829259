//! The test harness (native builds): runs a transformer, a validator or an
//! analyzer — the native build of a plugin, or through the host, its
//! compiled component — over a fixture of input events and compares the
//! transcript of its outputs (a validator's: its findings on each added or
//! updated resource; an analyzer's: the messages standing once every event
//! is handled) with a golden file. `BLESS=1` rewrites the golden files.
//!
//! A fixture is YAML:
//!
//! ```yaml
//! settings: {label: team}          # optional, the binding's settings
//! mesh: {ingressClass: nginx}      # optional, laid over the default mesh config
//! domainSuffix: corp.local         # optional
//! events:
//!   - added: {collection: k8s/example.com/v1/things, name: ns/a, body: {size: 1}}
//!   - added:                       # or a whole Kubernetes object; the body is
//!       collection: k8s/networking.k8s.io/v1/ingresses     # its spec if that is
//!       object: {metadata: {name: web, namespace: ns}, spec: {rules: []}}
//!                                  # all it has, else all of it (a Pod)
//!   - updated: {collection: ..., name: ns/a, body: {size: 2}}
//!   - deleted: {collection: ..., name: ns/a}
//!   - fullSync: k8s/example.com/v1/things
//!   - reset: {}
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    Analyzer, Analyzers, Description, Diagnostic, Event, Level, Mesh, Message, Report, Resource,
    ResourceRef, Severity, Transformer, Validator,
};

thread_local! {
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn record_log(level: Level, message: &str) {
    LOGS.with(|logs| logs.borrow_mut().push((level, message.to_owned())));
}

/// Lines logged by natively built plugins on this thread since the last call.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|logs| std::mem::take(&mut *logs.borrow_mut()))
}

/// A transformer under test, native or compiled.
pub trait UnderTest {
    /// Its description.
    fn describe(&mut self) -> Result<Description, String>;
    /// Configures it.
    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String>;
    /// One event.
    fn handle(&mut self, event: &Event) -> Result<Vec<Event>, String>;
}

/// A natively built transformer.
#[derive(Default)]
pub struct Native<T>(pub T);

impl<T: Transformer> UnderTest for Native<T> {
    fn describe(&mut self) -> Result<Description, String> {
        Ok(T::describe())
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        self.0.configure(settings, mesh)
    }

    fn handle(&mut self, event: &Event) -> Result<Vec<Event>, String> {
        self.0.handle(event.clone())
    }
}

/// A validator under test, native or compiled.
pub trait ValidatorUnderTest {
    /// Configures it.
    fn configure(&mut self, settings: &Value) -> Result<(), String>;
    /// Its findings on one resource (an `Err` if the call itself failed).
    fn validate(&mut self, resource: &Resource) -> Result<Vec<Diagnostic>, String>;
}

/// A natively built validator.
#[derive(Default)]
pub struct NativeValidator<T>(pub T);

impl<T: Validator> ValidatorUnderTest for NativeValidator<T> {
    fn configure(&mut self, settings: &Value) -> Result<(), String> {
        self.0.configure(settings)
    }

    fn validate(&mut self, resource: &Resource) -> Result<Vec<Diagnostic>, String> {
        Ok(self.0.validate(resource))
    }
}

/// An analyzer under test, native or compiled.
pub trait AnalyzerUnderTest {
    /// What it holds.
    fn describe(&mut self) -> Result<Analyzers, String>;
    /// Configures it.
    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String>;
    /// One batch of events.
    fn handle_batch(&mut self, events: &[Event]) -> Result<Vec<Report>, String>;
}

/// A natively built analyzer.
#[derive(Default)]
pub struct NativeAnalyzer<T>(pub T);

impl<T: Analyzer> AnalyzerUnderTest for NativeAnalyzer<T> {
    fn describe(&mut self) -> Result<Analyzers, String> {
        Ok(T::describe())
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        self.0.configure(settings, mesh)
    }

    fn handle_batch(&mut self, events: &[Event]) -> Result<Vec<Report>, String> {
        self.0.handle_batch(events.to_vec())
    }
}

/// The messages standing after `reports` are applied in order, by subject
/// (each report replaces its subject's messages).
pub fn standing(reports: impl IntoIterator<Item = Report>) -> BTreeMap<ResourceRef, Vec<Message>> {
    let mut messages = BTreeMap::new();
    for report in reports {
        if report.messages.is_empty() {
            messages.remove(&report.subject);
        } else {
            messages.insert(report.subject, report.messages);
        }
    }
    messages
}

/// Runs `analyzer` over `fixture`, its events as one batch; the transcript
/// lists the messages standing afterwards, by subject.
pub fn run_analyzer(analyzer: &mut dyn AnalyzerUnderTest, fixture: &Fixture) -> Value {
    if let Err(error) = analyzer.configure(&fixture.settings, &fixture.mesh) {
        return json!({ "configureError": error });
    }
    match analyzer.handle_batch(&fixture.events) {
        Ok(reports) => {
            let messages: Vec<Value> = standing(reports)
                .into_iter()
                .flat_map(|(subject, messages)| {
                    messages
                        .into_iter()
                        .map(move |m| message_json(&subject, &m))
                })
                .collect();
            json!({ "messages": messages })
        }
        Err(error) => json!({ "error": error }),
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// A message about `subject`, as JSON, for transcripts.
pub fn message_json(subject: &ResourceRef, message: &Message) -> Value {
    json!({
        "subject": {"collection": subject.collection, "name": subject.name},
        "analyzer": message.analyzer,
        "code": message.code,
        "name": message.name,
        "severity": severity_name(message.severity),
        "field": message.field,
        "text": message.text,
        "references": message.references.iter().map(|r| json!({"collection": r.collection, "name": r.name})).collect::<Vec<_>>(),
    })
}

/// A parsed fixture.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The binding's settings.
    pub settings: Value,
    /// The mesh configuration.
    pub mesh: Mesh,
    /// Input events, in order.
    pub events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    settings: Value,
    #[serde(default)]
    mesh: Map<String, Value>,
    #[serde(default)]
    domain_suffix: Option<String>,
    events: Vec<EventSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum EventSpec {
    Added(ResourceSpec),
    Updated(ResourceSpec),
    Deleted { collection: String, name: String },
    FullSync(String),
    Reset(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceSpec {
    collection: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    create_time: Option<String>,
    #[serde(default)]
    body: Value,
    #[serde(default)]
    object: Option<Map<String, Value>>,
}

impl ResourceSpec {
    fn into_resource(self) -> Result<Resource, String> {
        let mut resource = Resource {
            collection: self.collection,
            name: self.name.unwrap_or_default(),
            version: self.version,
            labels: self.labels,
            annotations: self.annotations,
            create_time: self.create_time,
            body: self.body,
        };
        if let Some(mut object) = self.object {
            let metadata = object.remove("metadata").unwrap_or_default();
            let text = |key: &str| metadata.get(key).and_then(Value::as_str).map(str::to_owned);
            let name = text("name").ok_or("object without metadata.name")?;
            resource.name = format!(
                "{}/{name}",
                text("namespace").unwrap_or_else(|| "default".into())
            );
            resource.create_time = text("creationTimestamp");
            resource.version = text("resourceVersion").unwrap_or_default();
            for (field, map) in [
                ("labels", &mut resource.labels),
                ("annotations", &mut resource.annotations),
            ] {
                if let Some(Value::Object(entries)) = metadata.get(field) {
                    map.extend(
                        entries
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())),
                    );
                }
            }
            object.remove("apiVersion");
            object.remove("kind");
            // As the host reads kinds: the spec where that is all there is
            // (Ingress, Service, ...), else the whole object (Pod, Endpoints).
            resource.body = match object.remove("spec") {
                Some(spec) if object.is_empty() => spec,
                Some(spec) => {
                    object.insert("spec".into(), spec);
                    Value::Object(object)
                }
                None => Value::Object(object),
            };
        }
        if resource.name.is_empty() {
            return Err(format!("a resource of {} has no name", resource.collection));
        }
        Ok(resource)
    }
}

impl Fixture {
    /// Reads a fixture file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: FixtureFile =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut mesh = Mesh::default();
        if let Value::Object(config) = &mut mesh.config {
            config.extend(file.mesh);
        }
        if let Some(domain) = file.domain_suffix {
            mesh.domain_suffix = domain;
        }
        let events = file
            .events
            .into_iter()
            .map(|spec| {
                Ok(match spec {
                    EventSpec::Added(r) => Event::Added(r.into_resource()?),
                    EventSpec::Updated(r) => Event::Updated(r.into_resource()?),
                    EventSpec::Deleted { collection, name } => Event::Deleted { collection, name },
                    EventSpec::FullSync(collection) => Event::FullSync(collection),
                    EventSpec::Reset(_) => Event::Reset,
                })
            })
            .collect::<Result<_, String>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self {
            settings: file.settings,
            mesh,
            events,
        })
    }
}

/// Runs `plugin` over `fixture`; the transcript has one entry per input
/// event with the outputs (or the error) it produced.
pub fn run(plugin: &mut dyn UnderTest, fixture: &Fixture) -> Value {
    let mut steps = Vec::new();
    if let Err(error) = plugin.configure(&fixture.settings, &fixture.mesh) {
        return json!({ "configureError": error });
    }
    for event in &fixture.events {
        let step = match plugin.handle(event) {
            Ok(outputs) => json!({
                "input": summary(event),
                "outputs": outputs.iter().map(event_json).collect::<Vec<_>>(),
            }),
            Err(error) => json!({ "input": summary(event), "error": error }),
        };
        steps.push(step);
    }
    Value::Array(steps)
}

/// Runs `validator` over the added and updated resources of `fixture`; the
/// transcript has one entry per judged resource with its findings.
pub fn run_validator(validator: &mut dyn ValidatorUnderTest, fixture: &Fixture) -> Value {
    if let Err(error) = validator.configure(&fixture.settings) {
        return json!({ "configureError": error });
    }
    let steps = fixture
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Added(r) | Event::Updated(r) => Some((event, r)),
            _ => None,
        })
        .map(|(event, resource)| match validator.validate(resource) {
            Ok(diagnostics) => json!({
                "input": summary(event),
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            }),
            Err(error) => json!({ "input": summary(event), "error": error }),
        })
        .collect();
    Value::Array(steps)
}

fn diagnostic_json(diagnostic: &Diagnostic) -> Value {
    json!({
        "severity": severity_name(diagnostic.severity),
        "field": diagnostic.field,
        "message": diagnostic.message,
    })
}

fn summary(event: &Event) -> String {
    match event {
        Event::Added(r) => format!("added {} {}", r.collection, r.name),
        Event::Updated(r) => format!("updated {} {}", r.collection, r.name),
        Event::Deleted { collection, name } => format!("deleted {collection} {name}"),
        Event::FullSync(collection) => format!("fullSync {collection}"),
        Event::Reset => "reset".into(),
    }
}

/// An event as JSON, for transcripts.
pub fn event_json(event: &Event) -> Value {
    let resource = |r: &Resource| {
        json!({
            "collection": r.collection,
            "name": r.name,
            "labels": r.labels,
            "annotations": r.annotations,
            "body": r.body,
        })
    };
    match event {
        Event::Added(r) => json!({ "added": resource(r) }),
        Event::Updated(r) => json!({ "updated": resource(r) }),
        Event::Deleted { collection, name } => {
            json!({ "deleted": { "collection": collection, "name": name } })
        }
        Event::FullSync(collection) => json!({ "fullSync": collection }),
        Event::Reset => json!("reset"),
    }
}

/// Compares `transcript` with the golden file at `golden`, or with
/// `BLESS=1` writes it there.
pub fn check_golden(transcript: &Value, golden: &Path) -> Result<(), String> {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    compare_golden(transcript, golden, bless)
}

/// Compares `transcript` with the golden file at `golden`, or if `bless`
/// writes it there.
pub fn compare_golden(transcript: &Value, golden: &Path, bless: bool) -> Result<(), String> {
    let rendered = serde_json::to_string_pretty(transcript).expect("JSON renders") + "\n";
    if bless {
        return std::fs::write(golden, &rendered).map_err(|e| format!("{}: {e}", golden.display()));
    }
    let expected = std::fs::read_to_string(golden)
        .map_err(|e| format!("{}: {e} (run with BLESS=1 to create it)", golden.display()))?;
    if expected == rendered {
        return Ok(());
    }
    let first_difference = expected
        .lines()
        .zip(rendered.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(rendered.lines().count()));
    Err(format!(
        "{} differs from the golden file from line {} on:\n  golden: {}\n  actual: {}\n(to accept it: `galleon plugin test --bless`, or BLESS=1 for cargo test)",
        golden.display(),
        first_difference + 1,
        expected.lines().nth(first_difference).unwrap_or("<end>"),
        rendered.lines().nth(first_difference).unwrap_or("<end>"),
    ))
}

/// Fixture files (`*.yaml`) in `dir`, each with its golden file
/// (`*.golden.json`) beside it.
pub fn fixtures(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    list_fixtures(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// [`fixtures`], with an unreadable directory an error.
pub fn list_fixtures(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let golden = p.with_extension("golden.json");
            (p, golden)
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Runs every fixture in `dir` against a fresh plugin from `make`; panics
/// listing every fixture whose transcript differs from its golden file.
pub fn check_fixtures(dir: &Path, mut make: impl FnMut() -> Box<dyn UnderTest>) {
    check_transcripts(dir, |fixture| run(make().as_mut(), fixture));
}

/// [`check_fixtures`] for an analyzer: each fixture's events as one batch
/// to a fresh analyzer from `make`, the messages standing compared.
pub fn check_analyzer_fixtures(dir: &Path, mut make: impl FnMut() -> Box<dyn AnalyzerUnderTest>) {
    check_transcripts(dir, |fixture| run_analyzer(make().as_mut(), fixture));
}

fn check_transcripts(dir: &Path, mut transcript: impl FnMut(&Fixture) -> Value) {
    let fixtures = fixtures(dir);
    assert!(!fixtures.is_empty(), "no fixtures in {}", dir.display());
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|(fixture, golden)| {
            let fixture = match Fixture::load(fixture) {
                Ok(f) => f,
                Err(e) => return Some(e),
            };
            check_golden(&transcript(&fixture), golden).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
