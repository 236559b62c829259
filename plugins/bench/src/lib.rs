//! The load the plugin benchmarks put on a transformer: VirtualService
//! updates, handed one at a time, timed per event.

use std::time::{Duration, Instant};

use galleon_plugin_sdk::harness::UnderTest;
use galleon_plugin_sdk::serde_json::json;
use galleon_plugin_sdk::{Event, Mesh, Resource};

/// The collection the events are in (the add-label example's input).
pub const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";

/// The `i`th VirtualService update.
pub fn event(i: usize) -> Event {
    let body = json!({"hosts": [format!("svc-{i}.example.com")], "http": [{"route": [{"destination": {"host": format!("svc-{i}"), "port": {"number": 9080}}}]}]});
    Event::Updated(Resource::new(INPUT, format!("ns/svc-{i}"), body))
}

/// Configures `plugin` with no settings, warms it up on 100 events, then
/// returns the mean time per event over `count` events.
pub fn per_event(plugin: &mut dyn UnderTest, count: usize) -> Duration {
    plugin.configure(&json!({}), &Mesh::default()).unwrap();
    let events: Vec<Event> = (0..count).map(event).collect();
    // Warm up (the first calls of interpreted languages fill their caches).
    for e in events.iter().take(100) {
        plugin.handle(e).unwrap();
    }
    let start = Instant::now();
    for e in &events {
        std::hint::black_box(plugin.handle(e).unwrap());
    }
    start.elapsed() / count as u32
}
