//! Host-side bindings of the `galleon:plugin` WIT worlds (from
//! `plugin-sdk/wit/`, the one contract shared with the SDK).

/// The `transformer-plugin` world.
pub(crate) mod transformer_plugin {
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit",
        world: "transformer-plugin",
    });
}

/// The `validator-plugin` world. Its shared interfaces (`types`, `host`)
/// are the transformer world's.
pub(crate) mod validator_plugin {
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit",
        world: "validator-plugin",
        with: {
            "galleon:plugin/types": super::transformer_plugin::galleon::plugin::types,
            "galleon:plugin/host": super::transformer_plugin::galleon::plugin::host,
        },
    });
}

/// The WIT types both worlds share, and the host interface plugins import.
pub(crate) use transformer_plugin::galleon::plugin::{host, types as wit};
pub(crate) use transformer_plugin::{TransformerPlugin, TransformerPluginPre};
pub(crate) use validator_plugin::{ValidatorPlugin, ValidatorPluginPre};

/// The package and version of the contract this host serves.
pub const WIT_PACKAGE: &str = "galleon:plugin";
/// The served version.
pub const WIT_VERSION: &str = "0.1.0";
