//! galleon as istiod's config source: MCP over xDS spoken by an independent
//! client ([`ads`]) the way istiod's `configSources` client speaks it,
//! state of the world ([`sotw`]) and incremental ([`delta`]), with bodies
//! typed from a small Istio schema the tests own (`istio/schema/`), and
//! what happens to bodies that do not fit it ([`typed`]).

mod ads;
mod delta;
mod fleet;
mod sotw;
mod typed;

use galleon_tests::hub::Hub;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::Value;

/// The test-owned schema, laid out as an istio/api checkout.
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/istio/schema");

/// Fast debounce, and the schema.
fn config(extra: &str) -> String {
    format!(
        "{}schemas: {{protoPaths: [\"{SCHEMA}\"]{extra}}}\n",
        galleon_tests::hub::FAST
    )
}

/// A hub over `files`, typed by the test schema.
async fn hub(files: &[(&str, &str)]) -> Hub {
    Hub::start_with(files, &config(""), "").await
}

/// The test schema, compiled by the test (not by galleon).
fn pool() -> DescriptorPool {
    let mut compiler = protox::Compiler::new([SCHEMA]).unwrap();
    compiler
        .open_files([
            "networking/v1alpha3/virtual_service.proto",
            "networking/v1alpha3/destination_rule.proto",
            "mesh/v1alpha1/config.proto",
        ])
        .unwrap();
    compiler.descriptor_pool()
}

/// A typed body as protobuf JSON.
fn decode(pool: &DescriptorPool, any: &prost_types::Any) -> Value {
    let name = any
        .type_url
        .strip_prefix("type.googleapis.com/")
        .expect("a type URL");
    let message = pool
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in the schema"));
    let message =
        DynamicMessage::decode(message, any.value.as_slice()).expect("decodes as its type");
    serde_json::to_value(&message).unwrap()
}

/// A VirtualService in today's API version, with a duration, a wrapper, a
/// map, nested messages and a oneof.
const REVIEWS_VS: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default, labels: {app: reviews}}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers: {end-user: {exact: jason}}
      uri: {prefix: /reviews}
    timeout: 30ms
    retries: {attempts: 3, perTryTimeout: 2s, retryRemoteLocalities: true}
    route:
    - destination: {host: reviews, subset: v2, port: {number: 9080}}
      weight: 80
    - destination: {host: reviews, subset: v1}
      weight: 20
";

/// What a sink decodes `REVIEWS_VS`'s body into.
fn reviews_vs_body() -> Value {
    serde_json::json!({
        "hosts": ["reviews"],
        "http": [{
            "name": "jason",
            "match": [{"headers": {"end-user": {"exact": "jason"}}, "uri": {"prefix": "/reviews"}}],
            "timeout": "0.030s",
            "retries": {"attempts": 3, "perTryTimeout": "2s", "retryRemoteLocalities": true},
            "route": [
                {"destination": {"host": "reviews", "subset": "v2", "port": {"number": 9080}}, "weight": 80},
                {"destination": {"host": "reviews", "subset": "v1"}, "weight": 20},
            ],
        }],
    })
}

/// A DestinationRule in its first API version, with an enum, a 64-bit
/// integer written as a string, a map and a duration.
const REVIEWS_DR: &str = "\
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 10}
    connectionPool: {tcp: {maxConnections: 100, connectTimeout: 1.5s, maxConnectionBytes: \"9007199254740993\"}}
  subsets:
  - {name: v1, labels: {version: v1}}
";

fn reviews_dr_body() -> Value {
    serde_json::json!({
        "host": "reviews",
        "trafficPolicy": {
            "loadBalancer": {"simple": "LEAST_REQUEST", "warmupDurationSecs": 10},
            "connectionPool": {"tcp": {"maxConnections": 100, "connectTimeout": "1.500s", "maxConnectionBytes": "9007199254740993"}},
        },
        "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
    })
}
