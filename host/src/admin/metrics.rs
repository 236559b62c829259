//! `/metrics` in Prometheus text format (prometheus-client), read from the
//! hub's own counters at scrape time. Galley's names where Galley had the
//! metric (`istio_mcp_*`), galleon's own for the rest.

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

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes every metric as of now.
pub(super) async fn metrics(State(state): State<AdminState>) -> Response {
    let mut registry = Registry::default();
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
        gauge(
            e,
            "istio_mcp_clients_total",
            "Sinks connected (MCP and xDS streams).",
            sinks.len() as i64,
        )?;
        counter(e, "istio_mcp_request_acks", "ACKs received.", stats.acks)?;
        counter(e, "istio_mcp_request_nacks", "NACKs received.", stats.nacks)?;
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
            "Connections closed over the connection limit or the handshake deadline.",
            stats.refused_connections,
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
        self.sink_sync(e)
    }
}

impl HubCollector {
    /// Resources per published collection.
    fn snapshots(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let cache = &self.0.cache;
        let resources = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_collection_resources",
            "Resources in each published collection.",
            None,
            resources.metric_type(),
        )?;
        for group in cache.groups() {
            let Some(snapshot) = cache.snapshot(&group) else {
                continue;
            };
            for collection in snapshot.collections() {
                let labels = [
                    ("group", group.as_str()),
                    ("collection", collection.collection()),
                ];
                ConstGauge::new(collection.len() as i64).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }

    /// Per sink and collection: 1 when the sink ACKed the latest version.
    fn sink_sync(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let cache = &self.0.cache;
        let synced = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "galleon_sink_synced",
            "1 when the sink ACKed the latest version of the collection (or xDS type), else 0.",
            None,
            synced.metric_type(),
        )?;
        for sink in cache.sinks() {
            for (collection, status) in &sink.collections {
                let served = status.collection.as_deref().unwrap_or(collection);
                let latest = cache
                    .snapshot(&status.group)
                    .and_then(|s| s.collection(served).map(|c| c.version().to_string()));
                let acked = status.acked_version.is_some() && status.acked_version == latest;
                let stream = sink.stream.to_string();
                let labels = [
                    ("node", sink.node_id.as_str()),
                    ("stream", stream.as_str()),
                    ("collection", collection.as_str()),
                ];
                ConstGauge::new(i64::from(acked)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
