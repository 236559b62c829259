//! The typed codec against `Struct`: 10,000 VirtualService bodies (two HTTP
//! routes with matches, a timeout, retries and weighted destinations, the
//! shape Istio users write), encoded by each codec in the same run, as the
//! accumulator does once per change. Prints resources per second, encoded
//! bytes per body and the typed/Struct ratios. Typed bodies use the tests'
//! own Istio schema (`tests/istio/schema`).
//!
//! `cargo bench -p galleon-tests --bench codec`

use std::time::{Duration, Instant};

use galleon_pipeline::{BodyCodec, StructCodec};
use galleon_schemas::{SchemaSources, TypedCodec, UnknownFields};
use serde_json::{Value, json};

const BODIES: usize = 10_000;
const ROUNDS: usize = 5;
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/istio/schema");

fn body(n: usize) -> Value {
    json!({
        "hosts": [format!("svc-{n}.ns-{}.svc.cluster.local", n % 100)],
        "gateways": ["mesh"],
        "http": [
            {
                "name": "canary",
                "match": [{"headers": {"end-user": {"exact": format!("user-{n}")}}, "uri": {"prefix": "/api"}}],
                "timeout": "1.5s",
                "retries": {"attempts": 3, "perTryTimeout": "500ms", "retryOn": "5xx,reset"},
                "route": [
                    {"destination": {"host": format!("svc-{n}"), "subset": "v2", "port": {"number": 8080}}, "weight": 10},
                    {"destination": {"host": format!("svc-{n}"), "subset": "v1", "port": {"number": 8080}}, "weight": 90},
                ],
            },
            {
                "route": [{"destination": {"host": format!("svc-{n}"), "subset": "v1"}}],
                "timeout": "30s",
            },
        ],
    })
}

/// The fastest of `ROUNDS` passes over every body, and the bytes encoded.
fn measure(codec: &dyn BodyCodec, bodies: &[Value]) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        bytes = bodies
            .iter()
            .map(|b| codec.encode(b).expect("encodes").body.value.len())
            .sum();
        best = best.min(start.elapsed());
    }
    (best, bytes)
}

#[allow(clippy::print_stdout)]
fn main() {
    let sources = SchemaSources {
        proto_paths: vec![SCHEMA.into()],
        descriptor_sets: Vec::new(),
    };
    let pool = galleon_schemas::load(&sources, |p| p.starts_with("istio."))
        .expect("the test schema compiles")
        .pool;
    let message = pool
        .get_message_by_name("istio.networking.v1alpha3.VirtualService")
        .expect("VirtualService in the schema");
    let typed = TypedCodec::new(message, "spec", UnknownFields::Warn);
    let bodies: Vec<Value> = (0..BODIES).map(body).collect();

    let (struct_time, struct_bytes) = measure(&StructCodec, &bodies);
    let (typed_time, typed_bytes) = measure(&typed, &bodies);
    let rate = |t: Duration| BODIES as f64 / t.as_secs_f64();
    println!("{BODIES} VirtualService bodies, best of {ROUNDS} passes");
    println!(
        "  Struct: {:>9.0} bodies/s  {:>6.2} µs/body  {:>4} bytes/body",
        rate(struct_time),
        struct_time.as_secs_f64() * 1e6 / BODIES as f64,
        struct_bytes / BODIES
    );
    println!(
        "  typed:  {:>9.0} bodies/s  {:>6.2} µs/body  {:>4} bytes/body",
        rate(typed_time),
        typed_time.as_secs_f64() * 1e6 / BODIES as f64,
        typed_bytes / BODIES
    );
    println!(
        "  typed/Struct: time ×{:.2}, size ×{:.2}",
        typed_time.as_secs_f64() / struct_time.as_secs_f64(),
        typed_bytes as f64 / struct_bytes as f64
    );
}
