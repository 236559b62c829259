//! Host-side bindings of the `galleon:plugin` WIT worlds: the current
//! contract (0.2.0, `plugin-sdk/wit/`, shared with the SDK) and the 0.1.0
//! contract as released (`plugin-host/wit-0.1.0/`), whose components still
//! load. 0.1.0's types are 0.2.0's (0.2.0 only adds), so both versions
//! share one set of Rust types; only the export names differ.

/// The 0.2.0 worlds. `batch-transformer-plugin` holds every transformer
/// interface; a component that exports no `batch` is found by the
/// interfaces' own indices (see `component`).
pub(crate) mod v0_2 {
    /// Transformers, with the optional `batch` interface.
    pub(crate) mod transformer_world {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit",
            world: "batch-transformer-plugin",
        });
    }

    /// Validators; the shared interfaces are the transformer world's.
    pub(crate) mod validator_world {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit",
            world: "validator-plugin",
            with: {
                "galleon:plugin/types": super::transformer_world::galleon::plugin::types,
                "galleon:plugin/host": super::transformer_world::galleon::plugin::host,
            },
        });
    }

    /// Analyzers; the shared interfaces are the transformer world's.
    pub(crate) mod analyzer_world {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit",
            world: "analyzer-plugin",
            with: {
                "galleon:plugin/types": super::transformer_world::galleon::plugin::types,
                "galleon:plugin/host": super::transformer_world::galleon::plugin::host,
            },
        });
    }
}

/// The 0.1.0 worlds, over 0.2.0's types. Their `host` import is generated
/// apart (its name carries the version) and forwards to 0.2.0's.
pub(crate) mod v0_1 {
    /// 0.1.0 transformers.
    pub(crate) mod transformer_world {
        wasmtime::component::bindgen!({
            path: "wit-0.1.0",
            world: "transformer-plugin",
            with: {
                "galleon:plugin/types": crate::wit_bindings::v0_2::transformer_world::galleon::plugin::types,
            },
        });
    }

    /// 0.1.0 validators.
    pub(crate) mod validator_world {
        wasmtime::component::bindgen!({
            path: "wit-0.1.0",
            world: "validator-plugin",
            with: {
                "galleon:plugin/types": crate::wit_bindings::v0_2::transformer_world::galleon::plugin::types,
                "galleon:plugin/host": super::transformer_world::galleon::plugin::host,
            },
        });
    }
}

/// The WIT types every world shares, and the host interface plugins import.
pub(crate) use v0_2::transformer_world::galleon::plugin::{host, types as wit};

/// The package and version of the contract this host serves.
pub const WIT_PACKAGE: &str = "galleon:plugin";
/// The served version.
pub const WIT_VERSION: &str = "0.2.0";
/// Earlier versions whose components still load.
pub(crate) const WIT_VERSIONS_LOADED: &[&str] = &["0.2.0", "0.1.0"];
