//! What history costs: a 10,000-resource collection published once, then
//! 100 more times with one resource changed each time (as the pipeline
//! publishes an edit: unchanged resources shared with the version before),
//! in a cache keeping 101 versions and in one keeping only the newest.
//! Prints the bytes each holds at the end (jemalloc's own count, in this
//! process), their ratio, the time to publish an edit in each, and the
//! time to rebuild the oldest version.
//!
//! `cargo bench -p galleon-tests --bench history`

use std::sync::Arc;
use std::time::{Duration, Instant};

use galleon_mcp::cache::{
    CachedResource, CollectionSnapshot, DefaultGroup, HistoryLimits, Snapshot, SnapshotCache,
};
use galleon_proto::mcp::{Metadata, Resource};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const RESOURCES: usize = 10_000;
const EDITS: usize = 100;
const COLLECTION: &str = "istio/networking/v1alpha3/virtualservices";

/// A resource of about the size of a typical VirtualService (400 bytes).
fn resource(n: usize, generation: usize) -> CachedResource {
    let body = format!("{{hosts: [svc-{n}.ns.svc.cluster.local], generation: {generation}}}");
    let mut value = body.into_bytes();
    value.resize(400, b' ');
    CachedResource::new(Resource {
        metadata: Some(Metadata {
            name: format!("ns-{}/vs-{n}", n % 100),
            ..Default::default()
        }),
        body: Some(prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Struct".into(),
            value,
        }),
    })
}

fn allocated() -> usize {
    tikv_jemalloc_ctl::epoch::advance().expect("jemalloc epoch");
    tikv_jemalloc_ctl::stats::allocated::read().expect("jemalloc stats")
}

/// Publishes the initial version then `EDITS` edits into a cache keeping
/// `versions`: the cache, the bytes it holds at the end, and the mean
/// publish time of an edit.
fn run(versions: usize) -> (SnapshotCache, usize, Duration) {
    let limits = HistoryLimits {
        versions,
        max_age: None,
    };
    let before = allocated();
    let cache = SnapshotCache::with_history(DefaultGroup, limits);
    let mut current: Vec<CachedResource> = (0..RESOURCES).map(|n| resource(n, 0)).collect();
    let publish = |resources: &[CachedResource]| {
        let collection = CollectionSnapshot::new(COLLECTION, resources.iter().cloned());
        let snapshot = Snapshot::builder().with(Arc::new(collection)).build();
        cache.publish("default", snapshot, None);
    };
    publish(&current);
    let mut publishing = Duration::ZERO;
    for edit in 1..=EDITS {
        current[edit * 97 % RESOURCES] = resource(edit * 97 % RESOURCES, edit);
        let start = Instant::now();
        publish(&current);
        publishing += start.elapsed();
    }
    drop(current);
    (cache, allocated() - before, publishing / EDITS as u32)
}

#[allow(clippy::print_stdout)]
fn main() {
    let (newest_only, one, plain_publish) = run(1);
    drop(newest_only);
    let (cache, all, publish) = run(EDITS + 1);
    let kept = cache
        .history()
        .of("default", COLLECTION)
        .expect("a history")
        .versions;
    assert_eq!(kept.len(), EDITS + 1, "every version kept");
    let oldest = kept.last().expect("versions").version.clone();
    let start = Instant::now();
    let rebuilt = cache
        .history()
        .at("default", COLLECTION, &oldest)
        .expect("the oldest rebuilds");
    let rebuild = start.elapsed();
    assert_eq!(&**rebuilt.version(), oldest, "rebuilt exactly");
    let ratio = all as f64 / one as f64;
    // The README's claim: history costs about one version.
    assert!(ratio <= 1.2, "{ratio:.3}x one version: more than 1.2x");
    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    println!("{RESOURCES} resources of ~400 bytes, {EDITS} edits of one resource each");
    println!("  newest version kept:  {:>7.2} MiB", mib(one));
    println!("  {} versions kept:    {:>7.2} MiB", EDITS + 1, mib(all));
    println!("  ratio:                {ratio:>7.3}x one version");
    println!(
        "  publish an edit:      {:>7.2} ms with history, {:.2} ms with one version kept",
        publish.as_secs_f64() * 1e3,
        plain_publish.as_secs_f64() * 1e3
    );
    println!(
        "  rebuild the oldest:   {:>7.2} ms",
        rebuild.as_secs_f64() * 1e3
    );
}
