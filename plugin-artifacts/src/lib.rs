//! galleon's plugins built as WebAssembly components by this crate's build
//! script (into its `OUT_DIR`): the built-in plugins, as the binary hands
//! them to the plugin host ([`builtins`]), and the paths of every component
//! built (the example and test plugins only with the `test-plugins`
//! feature).

use std::time::Duration;

use galleon_plugin_host::{Builtin, PluginKind};

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// The built-in plugins, bound by default: Galley's three transforms, and
/// `analyzers`, Istio's analyzers, which run beside the pipeline (a full
/// analysis of a large cluster is one call: it gets 10 s and 512 MiB).
/// `serviceentry` holds every Pod,
/// Service and Endpoints of the cluster (10,000 Services with 100,000 Pods
/// need between 64 and 128 MiB, see `docs/benchmarks.md`), and one Node
/// event regenerates every Service with a Pod on that Node (60 ms for 500
/// of them, sandboxed): unless configured it gets room for several times
/// that. The others keep the default limits.
pub fn builtins() -> Vec<Builtin> {
    BUILTINS
        .iter()
        .map(|&(name, component)| {
            let analyzers = name == "analyzers";
            let heavy = name == "serviceentry";
            Builtin {
                name,
                component,
                kind: if analyzers {
                    PluginKind::Analyzer
                } else {
                    PluginKind::Transformer
                },
                deadline: if analyzers {
                    Some(Duration::from_secs(10))
                } else {
                    heavy.then_some(Duration::from_secs(1))
                },
                memory_mib: (heavy || analyzers).then_some(512),
            }
        })
        .collect()
}
