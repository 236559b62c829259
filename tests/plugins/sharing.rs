//! One copy of each input: a binding that keeps what it was sent (for
//! replay after a failure or a hot swap) keeps the event's own resource,
//! not a copy of it, so a cluster's Pods cost one allocation each however
//! many plugins read them.

use std::sync::Arc;

use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::{Entry, Event};
use galleon_pipeline::mesh::MeshSettings;
use galleon_pipeline::registry::Registry;
use galleon_plugin_host::{PluginHost, PluginsConfig};
use serde_json::json;

use crate::support::cache_dir;

const PODS: &str = "k8s/core/v1/pods";

fn pod() -> Arc<Entry> {
    Arc::new(Entry {
        name: "shop/web-1".into(),
        labels: [("app".to_owned(), "web".to_owned())].into(),
        annotations: Default::default(),
        create_time: None,
        version: String::new(),
        body: json!({"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
                     "spec": {"nodeName": "n1"}, "status": {"podIP": "10.0.0.1"}})
        .into(),
        origin: None,
    })
}

/// The built-in serviceentry transformer and analyzers, nothing else.
fn host() -> PluginHost {
    let staging = tempfile::tempdir().unwrap();
    let config: PluginsConfig = serde_json::from_value(json!({
        "cacheDir": cache_dir(),
        "builtinDir": staging.path().join("builtin"),
        "builtins": {"authpolicy": {"enabled": false}, "ingress": {"enabled": false}},
    }))
    .unwrap();
    PluginHost::load(
        &config,
        &galleon_plugin_artifacts::builtins(),
        Arc::new(Registry::builtin()),
        Diagnostics::default(),
    )
    .expect("the built-ins load")
}

/// Runs outside any async runtime: plugin calls then run in place.
#[test]
fn bindings_keep_the_events_resource_not_a_copy() {
    let host = host();
    let mesh = MeshSettings::defaults("cluster.local");
    let mut transformers: Vec<_> = host
        .transformer_factories()
        .iter()
        .filter(|f| f.inputs().iter().any(|c| &**c == PODS))
        .map(|f| f.build(&mesh))
        .collect();
    let mut analyzers: Vec<_> = host
        .analyzer_factories()
        .iter()
        .filter(|f| f.inputs().iter().any(|c| &**c == PODS))
        .map(|f| f.build(&mesh))
        .collect();
    assert_eq!(
        (transformers.len(), analyzers.len()),
        (1, 1),
        "serviceentry and the analyzers read Pods"
    );

    let pod = pod();
    let event = Event::Added(PODS.into(), pod.clone());
    for transformer in &mut transformers {
        transformer.handle(&event);
    }
    for analyzer in &mut analyzers {
        analyzer
            .handle(std::slice::from_ref(&event))
            .expect("the analyzers take a Pod");
    }
    drop(event);
    // Ours, and one reference per binding: a binding that had copied the
    // resource would hold none.
    assert_eq!(
        Arc::strong_count(&pod),
        1 + transformers.len() + analyzers.len()
    );

    for transformer in &mut transformers {
        transformer.handle(&Event::Deleted(PODS.into(), pod.name.clone()));
    }
    for analyzer in &mut analyzers {
        analyzer
            .handle(&[Event::Deleted(PODS.into(), pod.name.clone())])
            .unwrap();
    }
    assert_eq!(Arc::strong_count(&pod), 1, "a deleted Pod is let go");
}
