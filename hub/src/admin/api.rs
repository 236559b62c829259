//! The JSON the admin server answers with, as types both ends share: the
//! server serialises them and `galleon status` (or any Rust client) reads
//! them back, so the two cannot drift.

use galleon_pipeline::analysis::{Findings, Level};
use galleon_pipeline::registry::Registry;
use serde::{Deserialize, Serialize};

pub use galleon_mcp::cache::{
    Answer, CollectionHistory, CollectionStatus, Nack, PinStatus, SinkStatus, VersionRecord, Write,
};
pub use galleon_pipeline::diagnostics::{Problem, Severity};
pub use galleon_plugin_host::CanaryStatus;
pub use galleon_sources::{LinkHealth, LinkState};

/// `/debug/snapshots`: one collection of a published snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedCollection {
    /// The snapshot group it is published in.
    pub group: String,
    /// The collection.
    pub collection: String,
    /// Its content-hash version.
    pub version: String,
    /// How many resources it holds.
    pub resources: usize,
    /// When this version was built (RFC 3339).
    pub published_at: String,
}

/// `/debug/diagnostics`: one current problem and what it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScopedProblem {
    /// What the problem belongs to (a source, a plugin, a collection).
    pub scope: String,
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
}

/// `/debug/version` (and `galleon version`): what a binary is, and for a
/// running hub, since when and where.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The release, e.g. `0.1.0`.
    pub version: String,
    /// The plugin contract it serves, e.g. `galleon:plugin@0.2.0`.
    pub plugin_contract: String,
    /// The git commit it was built from.
    pub commit: String,
    /// A running hub's start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// A running hub's uptime, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<u64>,
    /// The host (or pod) it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The configuration file it was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

impl BuildInfo {
    /// The binary this is compiled into.
    pub fn this_binary() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            plugin_contract: format!(
                "{}@{}",
                galleon_plugin_host::WIT_PACKAGE,
                galleon_plugin_host::WIT_VERSION
            ),
            commit: crate::COMMIT.to_owned(),
            started_at: None,
            uptime_seconds: None,
            host: None,
            config: None,
        }
    }
}

/// `/debug/resources?collection=…`: one page of a served collection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePage {
    /// The collection.
    pub collection: String,
    /// Its version.
    pub version: String,
    /// How many resources it holds in all.
    pub total: usize,
    /// Where this page starts.
    pub offset: usize,
    /// This page, by name.
    pub resources: Vec<ServedResource>,
}

/// One served resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedResource {
    /// `namespace/name`, or `name`.
    pub name: String,
    /// Its content version.
    pub version: String,
    /// Where it came from (`file:line (document n)`), when known.
    pub origin: Option<String>,
    /// Its encoded size, in bytes.
    pub size: usize,
}

/// `/debug`: every endpoint, with what it answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    /// The path.
    pub path: String,
    /// What it answers.
    pub description: String,
}

/// A resource as an analysis message names it (istioctl's `Kind
/// name.namespace`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AnalyzedResource {
    /// Its kind, e.g. `VirtualService` (the collection when no kind is
    /// known for it).
    pub kind: String,
    /// Its namespace (`default` for a file resource without one; empty for
    /// a cluster-scoped kind).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// Where a resource was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageOrigin {
    /// The file (or source locator).
    pub file: String,
    /// The line its document starts on.
    pub line: usize,
}

/// One analysis message (`/debug/analysis`, `galleon analyze -o json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisMessage {
    /// Its code, e.g. `IST0101`.
    pub code: String,
    /// The code's name, e.g. `ReferencedResourceNotFound`.
    pub name: String,
    /// `Error`, `Warning` or `Info`.
    pub level: String,
    /// The analyzer that found it.
    pub analyzer: String,
    /// The resource it is about.
    pub resource: AnalyzedResource,
    /// Where that resource was read from.
    pub origin: Option<MessageOrigin>,
    /// The field it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Other resources it names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<AnalyzedResource>,
    /// The analyzer failed since it was found: it may no longer hold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// One analyzer a bound plugin holds (`galleon analyze --list-analyzers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerListing {
    /// The plugin binding holding it.
    pub plugin: String,
    /// Its name, e.g. `virtualservice.GatewayAnalyzer`.
    pub name: String,
    /// What it finds.
    pub description: String,
    /// The collections it reads.
    pub inputs: Vec<String>,
}

/// Every current finding, as messages ordered by level, then resource.
pub fn analysis_messages(findings: &Findings, registry: &Registry) -> Vec<AnalysisMessage> {
    // A namespaced resource without a namespace (a file's) is in
    // `default`, as istioctl treats files.
    let resource = |collection: &str, name: &str| {
        let schema = registry.by_collection(collection);
        let cluster_scoped = schema.is_some_and(|s| s.cluster_scoped);
        let (namespace, name) = name.split_once('/').unwrap_or(("", name));
        let namespace = if namespace.is_empty() && !cluster_scoped {
            "default"
        } else {
            namespace
        };
        AnalyzedResource {
            kind: schema.map_or_else(|| collection.to_owned(), |s| s.kind.clone()),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    };
    let mut all: Vec<(Level, AnalysisMessage)> = findings
        .all()
        .into_iter()
        .map(|f| {
            let m = f.message;
            let message = AnalysisMessage {
                code: m.code,
                name: m.name,
                level: m.level.to_string(),
                analyzer: m.analyzer,
                resource: resource(&f.subject.0, &f.subject.1),
                origin: f.origin.map(|o| MessageOrigin {
                    file: o.path.display().to_string(),
                    line: o.line,
                }),
                field: m.field,
                message: m.text,
                references: m.references.iter().map(|(c, n)| resource(c, n)).collect(),
                stale: f.stale,
            };
            (m.level, message)
        })
        .collect();
    all.sort_by(|(la, a), (lb, b)| {
        (la, &a.resource, &a.code, &a.message).cmp(&(lb, &b.resource, &b.code, &b.message))
    });
    all.into_iter().map(|(_, m)| m).collect()
}

/// `/debug/history`: one collection with a history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistorySummary {
    /// The snapshot group it is published in.
    pub group: String,
    /// The collection.
    pub collection: String,
    /// How many versions are kept.
    pub versions: usize,
    /// The newest version the producer published.
    pub newest: VersionRecord,
    /// The version served instead, while a rollback pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
}

/// `/debug/history/diff`: what changed from one kept version to another.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDiff {
    /// The snapshot group.
    pub group: String,
    /// The collection.
    pub collection: String,
    /// The version compared from.
    pub from: String,
    /// The version compared to.
    pub to: String,
    /// Every resource that differs, by name.
    pub changes: Vec<ResourceDiff>,
}

/// One resource that differs between two versions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    /// `namespace/name`.
    pub name: String,
    /// `added`, `changed` or `removed`.
    pub change: String,
    /// Where it came from (the newer side's origin, or the removed one's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The field-level difference as a JSON Patch (RFC 6902) from the
    /// older resource to the newer.
    pub patch: serde_json::Value,
    /// The same as a unified diff of the two resources' YAML.
    pub yaml: String,
}

/// `POST /debug/plugins/preview`: what a candidate build of a transformer
/// would change, run on the binding's live inputs beside the current build.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginPreview {
    /// The binding.
    pub binding: String,
    /// The digest of the build serving now.
    pub current: String,
    /// The candidate's digest.
    pub candidate: String,
    /// Events each build was handed (`Reset`, every input, the syncs).
    pub replayed: usize,
    /// Outputs the candidate leaves as they are.
    pub unchanged: usize,
    /// Every output it would add, change or remove.
    pub changes: Vec<PreviewChange>,
    /// Inputs it rejected.
    pub rejections: Vec<PreviewRejection>,
    /// What it logged, in order.
    pub log: Vec<LoggedLine>,
    /// Lines it logged beyond those shown.
    pub log_dropped: usize,
    /// What its replay cost.
    pub candidate_cost: BuildCost,
    /// What the current build's replay of the same events cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_cost: Option<BuildCost>,
    /// Why the current build's replay failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_failure: Option<String>,
}

/// One output a candidate would change.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewChange {
    /// The output collection.
    pub collection: String,
    /// How (the older side is what is served now).
    #[serde(flatten)]
    pub diff: ResourceDiff,
}

/// An input a candidate rejected.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRejection {
    /// Its collection.
    pub collection: String,
    /// Its name.
    pub name: String,
    /// The plugin's message.
    pub message: String,
}

/// A line a plugin logged.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The message, escaped.
    pub message: String,
}

/// What one build's replay cost.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildCost {
    /// Instantiating and configuring it, in microseconds.
    pub start_us: u64,
    /// Handling every replayed event, in microseconds.
    pub replay_us: u64,
    /// The replay per event, in nanoseconds.
    pub per_event_ns: u64,
    /// The most linear memory it grew to, in bytes.
    pub peak_memory: usize,
}

/// `/debug/plugins/canary`: the canary and the sinks it serves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryView {
    /// The canary.
    #[serde(flatten)]
    pub canary: CanaryStatus,
    /// The node ids of the connected sinks its selector picks: served the
    /// candidate's outputs while it runs, the binding's build after.
    pub sinks: Vec<String>,
}
