//! `/metrics` in Prometheus text format (prometheus-client), read from the
//! hub's own counters at scrape time. Galley's names where Galley had the
//! metric (`istio_mcp_*`), galleon's own for the rest.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::AdminState;
use galleon_mcp::cache::resources_encoded;
use galleon_pipeline::diagnostics::{Scope, Severity};
use galleon_pipeline::event::Collection;
use galleon_plugin_host::CallCounts;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes every metric as of now.
pub(super) async fn metrics(State(state): State<AdminState>) -> Response {
    let mut registry = Registry::default();
    if let Some(admission) = &state.admission {
        admission.register(&mut registry);
    }
    registry.register_collector(Box::new(HubCollector(state)));
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// Reads the hub's state when scraped.
struct HubCollector(AdminState);

impl std::fmt::Debug for HubCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubCollector")
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// The most distinct message codes `galleon_analysis_messages` labels.
const ANALYSIS_CODES_SHOWN: usize = 256;

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for HubCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let state = &self.0;
        let stats = state.mcp.stats();
        let sinks = state.cache.sinks();
        let e = &mut encoder;
        self.galley(e, sinks.len())?;
        gauge(
            e,
            "galleon_sinks_connected",
            "Sinks connected (MCP and xDS streams).",
            sinks.len() as i64,
        )?;
        build_info(e)?;
        counter(
            e,
            "galleon_streams_opened",
            "Sink streams opened.",
            stats.streams_opened,
        )?;
        counter(
            e,
            "galleon_streams_closed",
            "Sink streams closed.",
            stats.streams_closed,
        )?;
        counter(
            e,
            "galleon_pushes",
            "Pushes (MCP) and responses (xDS) sent.",
            stats.pushes,
        )?;
        counter(
            e,
            "galleon_resources_sent",
            "Resources sent in pushes.",
            stats.resources_sent,
        )?;
        counter(
            e,
            "galleon_stale_requests",
            "ACKs/NACKs ignored for a stale nonce.",
            stats.stale_requests,
        )?;
        counter(
            e,
            "galleon_stalled_sinks",
            "Streams dropped for leaving a push unanswered.",
            stats.stalled_sinks,
        )?;
        counter(
            e,
            "galleon_repeated_subscriptions",
            "Subscriptions repeated on a stream (answered with nothing).",
            stats.repeated_subscriptions,
        )?;
        counter(
            e,
            "galleon_refused_streams",
            "New streams refused for being over their peer's stream rate.",
            stats.refused_streams,
        )?;
        counter(
            e,
            "galleon_refused_connections",
            "Connections closed at once over the connection limit.",
            stats.refused_connections,
        )?;
        counter(
            e,
            "galleon_tls_handshake_failures",
            "Connections whose TLS handshake failed or missed the handshake deadline.",
            stats.tls_failures,
        )?;
        counter(
            e,
            "galleon_denied_streams",
            "Streams refused with PERMISSION_DENIED: the client is not on the access list.",
            stats.denied_streams,
        )?;
        counter(
            e,
            "galleon_source_events",
            "Events the sources delivered to the pipeline.",
            state.source_events.load(Ordering::Relaxed),
        )?;
        counter(
            e,
            "galleon_snapshots_published",
            "Snapshots published to the cache, every group together.",
            state.cache.published(),
        )?;
        counter(
            e,
            "galleon_resources_encoded",
            "Resources encoded to protobuf.",
            resources_encoded(),
        )?;
        gauge(
            e,
            "galleon_input_problems",
            "Problems with the input now (see /debug/diagnostics).",
            state.diagnostics.problems().len() as i64,
        )?;
        counter(
            e,
            "galleon_input_problems_reported",
            "Problems with the input reported since start.",
            state.diagnostics.reported(),
        )?;
        self.snapshots(e)?;
        self.refused(e)?;
        self.analysis(e)?;
        self.sink_sync(e)?;
        self.plugins(e)?;
        process(e)
    }
}

/// A per-plugin counter: name, help, and how to read it.
type PluginCounter = (&'static str, &'static str, fn(&CallCounts) -> u64);

/// The process's CPU time, memory and descriptors, under the names every
/// Prometheus client library uses (from procfs; nothing on other systems).
fn process(e: &mut DescriptorEncoder) -> std::fmt::Result {
    let Ok(me) = procfs::process::Process::myself() else {
        return Ok(());
    };
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second() as f64;
        let cpu = (stat.utime + stat.stime) as f64 / ticks;
        let metric = ConstCounter::new(cpu);
        metric.encode(e.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds.",
            None,
            metric.metric_type(),
        )?)?;
        if let Ok(boot) = procfs::boot_time_secs() {
            let started = boot as f64 + stat.starttime as f64 / ticks;
            let metric = ConstGauge::new(started);
            metric.encode(e.encode_descriptor(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
                None,
                metric.metric_type(),
            )?)?;
        }
        gauge(
            e,
            "process_virtual_memory_bytes",
            "Virtual memory size, in bytes.",
            i64::try_from(stat.vsize).unwrap_or(i64::MAX),
        )?;
        let rss = stat.rss.saturating_mul(procfs::page_size());
        gauge(
            e,
            "process_resident_memory_bytes",
            "Resident memory, in bytes.",
            i64::try_from(rss).unwrap_or(i64::MAX),
        )?;
    }
    if let Ok(open) = me.fd_count() {
        gauge(e, "process_open_fds", "Open file descriptors.", open as i64)?;
    }
    if let Ok(limits) = me.limits()
        && let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit
    {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        gauge(e, "process_max_fds", "The open-file limit (soft).", max)?;
    }
    Ok(())
}

/// The component Galley's series carry (`galley` in Galley).
const COMPONENT: &str = "galleon";

/// `galleon_build_info{version,commit} 1`.
fn build_info(e: &mut DescriptorEncoder) -> std::fmt::Result {
    let metric = ConstGauge::new(1i64);
    let mut family = e.encode_descriptor(
        "galleon_build_info",
        "The running build: its version and git commit.",
        None,
        metric.metric_type(),
    )?;
    let labels = [
        ("version", env!("CARGO_PKG_VERSION")),
        ("commit", crate::COMMIT),
    ];
    metric.encode(family.encode_family(&labels)?)
}

impl HubCollector {
    /// Galley's series with Galley's label sets (`pkg/mcp/monitoring`):
    /// `istio_mcp_clients_total{component}` (a gauge, as Galley named it),
    /// `istio_mcp_request_acks_total{component,collection}` and
    /// `istio_mcp_request_nacks_total{component,collection,code}`.
    fn galley(&self, e: &mut DescriptorEncoder, clients: usize) -> std::fmt::Result {
        let metric = ConstGauge::new(clients as i64);
        let mut family = e.encode_descriptor(
            "istio_mcp_clients_total",
            "Sinks connected (MCP and xDS streams); Galley's name for a gauge.",
            None,
            metric.metric_type(),
        )?;
        metric.encode(family.encode_family(&[("component", COMPONENT)])?)?;
        let answers = self.0.mcp.answers();
        let acks = ConstCounter::new(0u64);
        let mut family = e.encode_descriptor(
            "istio_mcp_request_acks",
            "ACKs received, by collection.",
            None,
            acks.metric_type(),
        )?;
        for (answer, count) in answers.iter().filter(|(a, _)| a.nack_code.is_none()) {
            let labels = [
                ("component", COMPONENT),
                ("collection", answer.collection.as_str()),
            ];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }
        let mut family = e.encode_descriptor(
            "istio_mcp_request_nacks",
            "NACKs received, by collection and gRPC code.",
            None,
            acks.metric_type(),
        )?;
        for (answer, count) in &answers {
            let Some(code) = answer.nack_code else {
                continue;
            };
            let code = code.to_string();
            let labels = [
                ("component", COMPONENT),
                ("collection", answer.collection.as_str()),
                ("code", code.as_str()),
            ];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// Resources a validation stage refuses now (the CRDs, a validator
    /// plugin), by kind: each stays out, its last good version served.
    fn refused(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let mut by_collection: BTreeMap<Collection, i64> = BTreeMap::new();
        for (scope, problems) in self.0.diagnostics.current() {
            if let Scope::Validation(collection, _) = scope
                && problems.iter().any(|p| p.severity == Severity::Error)
            {
                *by_collection.entry(collection).or_default() += 1;
            }
        }
        let registry = self.0.config.registry();
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_validation_refused_resources",
            "Resources refused by validation now (CRD schema and rules, validator plugins), by kind.",
            None,
            gauge.metric_type(),
        )?;
        for (collection, refused) in &by_collection {
            let kind = registry
                .schemas()
                .into_iter()
                .find(|s| &s.collection == collection)
                .map_or_else(String::new, |s| s.kind.clone());
            let labels = [("kind", kind.as_str()), ("collection", &**collection)];
            ConstGauge::new(*refused).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// The analyzers' current messages by code and level. Codes come from
    /// plugins: past [`ANALYSIS_CODES_SHOWN`] distinct ones, the rest are
    /// counted under `other` (a plugin cannot grow the series without end).
    fn analysis(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let mut counts: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
        let mut codes = std::collections::BTreeSet::new();
        for finding in self.0.findings.all() {
            let m = &finding.message;
            let code = if codes.len() < ANALYSIS_CODES_SHOWN || codes.contains(&m.code) {
                codes.insert(m.code.clone());
                m.code.clone()
            } else {
                "other".to_owned()
            };
            *counts.entry((code, m.level.as_str())).or_default() += 1;
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_analysis_messages",
            "The analyzers' current messages (IST codes), by code and level.",
            None,
            gauge.metric_type(),
        )?;
        for ((code, level), count) in &counts {
            let labels = [("code", code.as_str()), ("level", level)];
            ConstGauge::new(*count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// Resources per published collection, and how old its version is.
    fn snapshots(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let cache = &self.0.cache;
        let mut collections = Vec::new();
        for group in cache.groups() {
            if let Some(snapshot) = cache.snapshot(&group) {
                collections.extend(snapshot.collections().map(|c| (group.clone(), c.clone())));
            }
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_collection_resources",
            "Resources in each published collection.",
            None,
            gauge.metric_type(),
        )?;
        for (group, collection) in &collections {
            let labels = [
                ("group", group.as_str()),
                ("collection", collection.collection()),
            ];
            ConstGauge::new(collection.len() as i64).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "galleon_collection_version_age_seconds",
            "Seconds since each published collection last changed.",
            None,
            gauge.metric_type(),
        )?;
        let now = SystemTime::now();
        for (group, collection) in &collections {
            let age = now.duration_since(collection.made_at()).unwrap_or_default();
            let labels = [
                ("group", group.as_str()),
                ("collection", collection.collection()),
            ];
            ConstGauge::new(age.as_secs_f64()).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "galleon_collection_pinned",
            "1 for each collection a rollback pins to an earlier version (`galleon rollback --release` resumes).",
            None,
            gauge.metric_type(),
        )?;
        for pin in cache.pins() {
            let labels = [
                ("group", pin.group.as_str()),
                ("collection", pin.collection.as_str()),
            ];
            ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// Per plugin binding: calls, failures by cause, swaps and call
    /// durations.
    fn plugins(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let Some(host) = &self.0.plugins else {
            return Ok(());
        };
        let plugins = host.status();
        let counters: [PluginCounter; 5] = [
            ("galleon_plugin_calls", "Calls into the plugin.", |c| {
                c.calls
            }),
            (
                "galleon_plugin_failures",
                "Failed calls and instance starts, any cause.",
                |c| c.failures,
            ),
            (
                "galleon_plugin_deadline_traps",
                "Calls stopped at the deadline.",
                |c| c.deadline_traps,
            ),
            (
                "galleon_plugin_memory_traps",
                "Calls stopped at the memory cap.",
                |c| c.memory_traps,
            ),
            (
                "galleon_plugin_hot_swaps",
                "New versions swapped in since start.",
                |c| c.hot_swaps,
            ),
        ];
        for (name, help, read) in counters {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                ConstCounter::new(0u64).metric_type(),
            )?;
            for plugin in &plugins {
                let labels = [("plugin", plugin.name.as_str())];
                ConstCounter::new(read(&plugin.counts)).encode(family.encode_family(&labels)?)?;
            }
        }
        let Some(first) = plugins.first() else {
            return Ok(());
        };
        let mut family = encoder.encode_descriptor(
            "galleon_plugin_call_duration_seconds",
            "How long calls into the plugin took.",
            None,
            first.counts.durations.metric_type(),
        )?;
        for plugin in &plugins {
            let labels = [("plugin", plugin.name.as_str())];
            plugin
                .counts
                .durations
                .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// Per sink node and collection: 1 when every stream of the node ACKed
    /// the latest version. The node id and collection come from the sink:
    /// escaped and bounded, as label values.
    fn sink_sync(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let cache = &self.0.cache;
        let synced = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_sink_synced",
            "1 when the sink ACKed the latest version of the collection (or xDS type), else 0.",
            None,
            synced.metric_type(),
        )?;
        let mut nodes: BTreeMap<(String, String), bool> = BTreeMap::new();
        for sink in cache.sinks() {
            for (collection, status) in &sink.collections {
                let served = status.collection.as_deref().unwrap_or(collection);
                let latest = cache
                    .snapshot(&status.group)
                    .and_then(|s| s.collection(served).map(|c| c.version().to_string()));
                let acked = status.acked_version.is_some() && status.acked_version == latest;
                let key = (label(&sink.node_id), label(collection));
                *nodes.entry(key).or_insert(true) &= acked;
            }
        }
        for ((node, collection), acked) in &nodes {
            let labels = [("node", node.as_str()), ("collection", collection.as_str())];
            ConstGauge::new(i64::from(*acked)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The longest label value made from what a sink sent.
const LABEL_MAX: usize = 128;

/// `value` as a label value: escaped as the text format escapes (`\`, `"`,
/// newlines; other control characters too) and bounded, so a sink cannot
/// forge a series or grow the scrape.
fn label(value: &str) -> String {
    galleon_mcp::quote::label_value(value, LABEL_MAX)
}
