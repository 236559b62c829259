//! A plugin that keeps failing is retried on its backoff, not on every
//! refresh of the pipeline (which the plugin host wakes once a second).

use std::sync::Arc;

use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::{Entry, Event};
use galleon_pipeline::mesh::MeshSettings;
use galleon_pipeline::registry::Registry;
use galleon_plugin_host::{PluginHost, PluginsConfig};
use serde_json::json;

use crate::support::cache_dir;

const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";

/// The consecutive failures the plugin's diagnostics report.
fn failures(diagnostics: &Diagnostics) -> u32 {
    let problems = diagnostics.problems();
    let message = &problems
        .iter()
        .find(|p| p.message.contains("consecutive failures"))
        .expect("the failure is reported")
        .message;
    let before = message.split(" consecutive failures").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

fn trigger() -> Entry {
    Entry {
        name: "default/trigger".into(),
        labels: Default::default(),
        annotations: Default::default(),
        create_time: None,
        version: String::new(),
        body: json!({"hosts": ["t"]}).into(),
        origin: None,
    }
}

/// Runs outside any async runtime: plugin calls then run in place.
#[test]
fn a_failing_plugin_is_retried_on_its_backoff_not_on_every_refresh() {
    let staging = tempfile::tempdir().unwrap();
    let file = staging.path().join("hostile.wasm");
    std::fs::copy(galleon_plugin_artifacts::HOSTILE, &file).unwrap();
    let config: PluginsConfig = serde_json::from_value(json!({
        "cacheDir": cache_dir(),
        "builtinDir": staging.path().join("builtin"),
        "builtins": {
            "authpolicy": {"enabled": false},
            "ingress": {"enabled": false},
            "serviceentry": {"enabled": false},
        },
        "bindings": [{"file": file, "kind": "transformer", "settings": {"mode": "trap"}}],
    }))
    .unwrap();
    let diagnostics = Diagnostics::default();
    let host = PluginHost::load(
        &config,
        &galleon_plugin_artifacts::builtins(),
        Arc::new(Registry::builtin()),
        diagnostics.clone(),
    )
    .expect("the hostile plugin loads");
    let factory = host.transformer_factories().remove(0);
    let mut transformer = factory.build(&MeshSettings::defaults("cluster.local"));

    transformer.handle(&Event::Added(INPUT.into(), trigger().into()));
    // The call traps, and so does the replay into a fresh instance at once.
    assert_eq!(failures(&diagnostics), 2);
    // The next attempt waits at least 100 ms, however often the pipeline
    // refreshes meanwhile.
    for _ in 0..50 {
        transformer.refresh();
    }
    assert_eq!(failures(&diagnostics), 2);
    std::thread::sleep(std::time::Duration::from_millis(250));
    transformer.refresh();
    assert_eq!(failures(&diagnostics), 3, "retried once the backoff passed");
}
