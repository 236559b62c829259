//! The pipeline with controlled time: scripted sources, the real runtime,
//! processor and cache, and tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::diagnostics::Diagnostics;
use crate::event::{Collection, Entry, Event};
use crate::registry::MESH_CONFIG;
use crate::source::scripted::scripted;
use crate::source::{Aggregate, Source};
use galleon_mcp::cache::{DefaultGroup, SnapshotCache};

const INPUT: &str = "k8s/example/v1/things";
const OUTPUT: &str = "example/things";

fn entry(name: &str, value: i64) -> Entry {
    Entry {
        name: name.into(),
        labels: Default::default(),
        annotations: Default::default(),
        create_time: None,
        version: String::new(),
        body: json!({ "value": value }).into(),
        origin: None,
    }
}

fn spec(strategy: Strategy) -> PipelineSpec {
    let direct = DirectMapping::new([
        (Collection::from(INPUT), Collection::from(OUTPUT)),
        (Collection::from(MESH_CONFIG), Collection::from(MESH_CONFIG)),
    ]);
    PipelineSpec {
        transformers: vec![Arc::new(direct)],
        groups: vec![GroupSpec {
            name: "default".into(),
            strategy,
            collections: vec![OUTPUT.into(), MESH_CONFIG.into()],
        }],
        codecs: Default::default(),
        validators: Vec::new(),
        analysis: None,
        canary: None,
    }
}

/// Runs a pipeline over `source`; returns the cache and a stop handle.
fn run(source: Arc<dyn Source>, strategy: Strategy) -> (SnapshotCache, CancellationToken) {
    let cache = SnapshotCache::new(DefaultGroup);
    let stop = CancellationToken::new();
    let runtime = Runtime::new(
        source,
        spec(strategy),
        cache.clone(),
        Diagnostics::default(),
        "cluster.local".into(),
    );
    tokio::spawn(runtime.run(stop.clone()));
    (cache, stop)
}

/// Publishes of OUTPUT, with the (paused-clock) time each arrived.
fn record(cache: &SnapshotCache) -> Arc<std::sync::Mutex<Vec<(Instant, usize)>>> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (cache, log) = (cache.clone(), seen.clone());
    tokio::spawn(async move {
        let mut known = None;
        loop {
            let state = cache.watch("default", OUTPUT, known.clone()).await;
            known = Some(state.version().clone());
            log.lock().unwrap().push((Instant::now(), state.len()));
        }
    });
    seen
}

async fn mesh_synced(script: &tokio::sync::mpsc::Sender<Event>) {
    script
        .send(Event::Added(
            MESH_CONFIG.into(),
            entry(crate::mesh::MESH_CONFIG_NAME, 0).into(),
        ))
        .await
        .unwrap();
    script
        .send(Event::FullSync(MESH_CONFIG.into()))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn immediate_publishes_at_once_and_only_after_full_sync() {
    let (source, script) = scripted(&[INPUT, MESH_CONFIG]);
    let (cache, stop) = run(source, Strategy::Immediate);
    let published = record(&cache);
    mesh_synced(&script).await;
    script
        .send(Event::Added(INPUT.into(), entry("ns/a", 1).into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        published.lock().unwrap().is_empty(),
        "nothing before the collection synced"
    );

    let t0 = Instant::now();
    script.send(Event::FullSync(INPUT.into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let t1 = Instant::now();
    script
        .send(Event::Added(INPUT.into(), entry("ns/b", 1).into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        published.lock().unwrap().clone(),
        [(t0, 1), (t1, 2)],
        "published at once, on every change"
    );
    stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn debounce_publishes_after_quiesce_or_at_max_delay() {
    let (source, script) = scripted(&[INPUT, MESH_CONFIG]);
    let strategy = Strategy::Debounce {
        max_delay: Duration::from_secs(1),
        quiesce: Duration::from_millis(500),
    };
    let (cache, stop) = run(source, strategy);
    let published = record(&cache);
    mesh_synced(&script).await;
    let t0 = Instant::now();
    script.send(Event::FullSync(INPUT.into())).await.unwrap();
    // A short burst: published 500 ms after its last change.
    for (i, at) in [0, 100, 200].into_iter().enumerate() {
        tokio::time::sleep_until(t0 + Duration::from_millis(at)).await;
        script
            .send(Event::Added(
                INPUT.into(),
                entry(&format!("ns/{i}"), 1).into(),
            ))
            .await
            .unwrap();
    }
    tokio::time::sleep_until(t0 + Duration::from_millis(1500)).await;
    assert_eq!(
        published.lock().unwrap().clone(),
        [(t0 + Duration::from_millis(700), 3)]
    );

    // A change every 100 ms for 2 s: published at the 1 s max delay.
    let t1 = Instant::now();
    for i in 0..20 {
        tokio::time::sleep_until(t1 + Duration::from_millis(100 * i)).await;
        script
            .send(Event::Updated(
                INPUT.into(),
                entry("ns/0", i as i64 + 10).into(),
            ))
            .await
            .unwrap();
    }
    let published = published.lock().unwrap().clone();
    assert_eq!(published[1].0, t1 + Duration::from_secs(1), "{published:?}");
    stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_group_waits_for_every_source_of_its_collections() {
    let (fast, fast_script) = scripted(&[INPUT, MESH_CONFIG]);
    let (slow, slow_script) = scripted(&[INPUT]);
    let source = Arc::new(Aggregate::new(vec![fast, slow]));
    let (cache, stop) = run(source, Strategy::Immediate);
    mesh_synced(&fast_script).await;
    fast_script
        .send(Event::Added(INPUT.into(), entry("ns/fast", 1).into()))
        .await
        .unwrap();
    fast_script
        .send(Event::FullSync(INPUT.into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        cache.snapshot("default").is_none(),
        "the slow source has not synced: nothing is published"
    );

    slow_script
        .send(Event::Added(INPUT.into(), entry("ns/slow", 1).into()))
        .await
        .unwrap();
    slow_script
        .send(Event::FullSync(INPUT.into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let snapshot = cache
        .snapshot("default")
        .expect("published once both synced");
    assert_eq!(snapshot.collection(OUTPUT).unwrap().len(), 2);
    stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_body_the_codec_rejects_keeps_the_last_good_version() {
    let (source, script) = scripted(&[INPUT, MESH_CONFIG]);
    let cache = SnapshotCache::new(DefaultGroup);
    let diagnostics = Diagnostics::default();
    let runtime = Runtime::new(
        source,
        spec(Strategy::Immediate),
        cache.clone(),
        diagnostics.clone(),
        "x".into(),
    );
    let stop = CancellationToken::new();
    tokio::spawn(runtime.run(stop.clone()));
    mesh_synced(&script).await;
    script
        .send(Event::Added(INPUT.into(), entry("ns/a", 1).into()))
        .await
        .unwrap();
    script.send(Event::FullSync(INPUT.into())).await.unwrap();
    let mut bad = entry("ns/a", 2);
    bad.body = json!(["not", "a", "mapping"]).into();
    script
        .send(Event::Updated(INPUT.into(), bad.into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let served = cache
        .snapshot("default")
        .unwrap()
        .collection(OUTPUT)
        .unwrap()
        .get("ns/a")
        .unwrap()
        .decode();
    let body = served.body.unwrap();
    let body = <prost_types::Struct as prost::Message>::decode(body.value.as_slice()).unwrap();
    assert_eq!(galleon_proto::json::struct_to_json(&body)["value"], 1);
    let problems = diagnostics.problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("body must be a mapping, found a list"),
        "{problems:?}"
    );

    script
        .send(Event::Updated(INPUT.into(), entry("ns/a", 3).into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        diagnostics.problems().is_empty(),
        "a good version clears the problem"
    );
    stop.cancel();
}

/// The direct mapping under a plugin's name, as a wasm transformer would
/// produce the same output.
struct Plugin(DirectMapping);

impl Transformer for Plugin {
    fn name(&self) -> &str {
        "bad-plugin"
    }
    fn inputs(&self) -> Vec<Collection> {
        Transformer::inputs(&self.0)
    }
    fn outputs(&self) -> Vec<Collection> {
        Transformer::outputs(&self.0)
    }
    fn handle(&mut self, event: &Event) -> Vec<Event> {
        self.0.handle(event)
    }
}

impl TransformerFactory for Plugin {
    fn inputs(&self) -> Vec<Collection> {
        Transformer::inputs(self)
    }
    fn outputs(&self) -> Vec<Collection> {
        Transformer::outputs(self)
    }
    fn build(&self, _: &crate::mesh::MeshSettings) -> Box<dyn Transformer> {
        Box::new(Plugin(self.0.clone()))
    }
}

#[tokio::test(start_paused = true)]
async fn output_a_codec_refuses_names_the_plugin_that_made_it() {
    let (source, script) = scripted(&[INPUT, MESH_CONFIG]);
    let cache = SnapshotCache::new(DefaultGroup);
    let diagnostics = Diagnostics::default();
    let mut spec = spec(Strategy::Immediate);
    let plugin = Plugin(DirectMapping::new([(
        Collection::from(INPUT),
        Collection::from(OUTPUT),
    )]));
    let mesh_only =
        DirectMapping::new([(Collection::from(MESH_CONFIG), Collection::from(MESH_CONFIG))]);
    spec.transformers = vec![Arc::new(plugin), Arc::new(mesh_only)];
    let runtime = Runtime::new(source, spec, cache.clone(), diagnostics.clone(), "x".into());
    let stop = CancellationToken::new();
    tokio::spawn(runtime.run(stop.clone()));
    mesh_synced(&script).await;
    let mut bad = entry("ns/a", 1);
    bad.body = json!("not a mapping").into();
    script
        .send(Event::Added(INPUT.into(), bad.into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let problems = diagnostics.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .message
            .starts_with("output of plugin bad-plugin: cannot serve ns/a"),
        "{problems:?}"
    );
    script
        .send(Event::Deleted(INPUT.into(), "ns/a".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        diagnostics.problems().is_empty(),
        "deleting it clears the problem"
    );
    stop.cancel();
}

/// The value of OUTPUT's `name` as served now.
fn served_value(cache: &SnapshotCache, name: &str) -> Option<serde_json::Value> {
    let snapshot = cache.snapshot("default")?;
    let served = snapshot.collection(OUTPUT)?.get(name)?.decode();
    let body = served.body.unwrap();
    let body = <prost_types::Struct as prost::Message>::decode(body.value.as_slice()).unwrap();
    Some(galleon_proto::json::struct_to_json(&body)["value"].clone())
}

#[tokio::test(start_paused = true)]
async fn two_transformers_producing_one_resource_serve_the_first_bound_and_report_it() {
    const OTHER: &str = "k8s/example/v1/others";
    let (source, script) = scripted(&[INPUT, OTHER, MESH_CONFIG]);
    let cache = SnapshotCache::new(DefaultGroup);
    let diagnostics = Diagnostics::default();
    let mut spec = spec(Strategy::Immediate);
    let direct = DirectMapping::new([
        (Collection::from(INPUT), Collection::from(OUTPUT)),
        (Collection::from(MESH_CONFIG), Collection::from(MESH_CONFIG)),
    ]);
    let plugin = Plugin(DirectMapping::new([(
        Collection::from(OTHER),
        Collection::from(OUTPUT),
    )]));
    spec.transformers = vec![Arc::new(direct), Arc::new(plugin)];
    let runtime = Runtime::new(source, spec, cache.clone(), diagnostics.clone(), "x".into());
    let stop = CancellationToken::new();
    tokio::spawn(runtime.run(stop.clone()));
    mesh_synced(&script).await;
    // The plugin's comes first; the direct mapping is bound first and wins.
    for event in [
        Event::Added(OTHER.into(), entry("ns/a", 2).into()),
        Event::FullSync(OTHER.into()),
        Event::Added(INPUT.into(), entry("ns/a", 1).into()),
        Event::FullSync(INPUT.into()),
    ] {
        script.send(event).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(served_value(&cache, "ns/a"), Some(json!(1)));
    let problems = diagnostics.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].message,
        "the direct mapping and plugin bad-plugin both produce ns/a in example/things; the one \
         from the direct mapping is served, the other is not. Rename one of them, or bind only \
         one transformer to write it"
    );

    // The winner withdraws its own: the other's is served, nothing to report.
    script
        .send(Event::Deleted(INPUT.into(), "ns/a".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(served_value(&cache, "ns/a"), Some(json!(2)));
    assert!(
        diagnostics.problems().is_empty(),
        "{:?}",
        diagnostics.problems()
    );
    stop.cancel();
}
