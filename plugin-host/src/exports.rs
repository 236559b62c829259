//! A component's galleon exports, whichever contract version it was built
//! against: found once per loaded component (the `…Indices`, by the version
//! `component` read from its export names), taken from each instance, and
//! called through one face. 0.1.0 and 0.2.0 share their types, so a call
//! means the same thing in both; only `batch` and analyzers are 0.2.0's.

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{AsContextMut, Store};

use super::sandbox::StoreState;
use super::wit_bindings::{v0_1, v0_2, wit};

use v0_1::transformer_world::exports::galleon::plugin::transformer as t1;
use v0_1::validator_world::exports::galleon::plugin::validator as v1;
use v0_2::analyzer_world::exports::galleon::plugin::analyzer as a2;
use v0_2::transformer_world::exports::galleon::plugin::{batch as b2, transformer as t2};
use v0_2::validator_world::exports::galleon::plugin::validator as v2;

/// A contract version this host loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contract {
    /// The current one.
    V0_2,
    /// The first release.
    V0_1,
}

impl Contract {
    /// The version `version` names, if this host loads it.
    pub(crate) fn of(version: &str) -> Option<Self> {
        match version {
            "0.2.0" => Some(Self::V0_2),
            "0.1.0" => Some(Self::V0_1),
            _ => None,
        }
    }
}

/// Where a transformer's exports are.
#[derive(Clone)]
pub(crate) enum TransformerIndices {
    V0_2 {
        transformer: t2::GuestIndices,
        batch: Option<b2::GuestIndices>,
    },
    V0_1(t1::GuestIndices),
}

/// A transformer instance's exports.
pub(crate) enum TransformerExports {
    V0_2 {
        transformer: t2::Guest,
        batch: Option<b2::Guest>,
    },
    V0_1(t1::Guest),
}

impl TransformerIndices {
    pub(crate) fn new(pre: &InstancePre<StoreState>, contract: Contract) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::V0_2 => Self::V0_2 {
                transformer: t2::GuestIndices::new(pre)?,
                batch: b2::GuestIndices::new(pre).ok(),
            },
            Contract::V0_1 => Self::V0_1(t1::GuestIndices::new(pre)?),
        })
    }

    pub(crate) fn load(
        &self,
        mut store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> wasmtime::Result<TransformerExports> {
        Ok(match self {
            Self::V0_2 { transformer, batch } => TransformerExports::V0_2 {
                transformer: transformer.load(&mut store, instance)?,
                batch: batch
                    .as_ref()
                    .map(|b| b.load(&mut store, instance))
                    .transpose()?,
            },
            Self::V0_1(transformer) => TransformerExports::V0_1(transformer.load(store, instance)?),
        })
    }
}

impl TransformerExports {
    pub(crate) fn describe(&self, store: impl AsContextMut) -> wasmtime::Result<wit::Description> {
        match self {
            Self::V0_2 { transformer, .. } => transformer.call_describe(store),
            Self::V0_1(transformer) => transformer.call_describe(store),
        }
    }

    pub(crate) fn configure(
        &self,
        store: impl AsContextMut,
        settings: &str,
        mesh: &wit::Mesh,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::V0_2 { transformer, .. } => transformer.call_configure(store, settings, mesh),
            Self::V0_1(transformer) => transformer.call_configure(store, settings, mesh),
        }
    }

    pub(crate) fn handle(
        &self,
        store: impl AsContextMut,
        event: &wit::Event,
    ) -> wasmtime::Result<Result<Vec<wit::Event>, String>> {
        match self {
            Self::V0_2 { transformer, .. } => transformer.call_handle(store, event),
            Self::V0_1(transformer) => transformer.call_handle(store, event),
        }
    }

    /// The batch call, when the component exports it.
    pub(crate) fn batch(&self) -> Option<&b2::Guest> {
        match self {
            Self::V0_2 { batch, .. } => batch.as_ref(),
            Self::V0_1(_) => None,
        }
    }
}

/// Where a validator's exports are.
#[derive(Clone)]
pub(crate) enum ValidatorIndices {
    V0_2(v2::GuestIndices),
    V0_1(v1::GuestIndices),
}

/// A validator instance's exports.
pub(crate) enum ValidatorExports {
    V0_2(v2::Guest),
    V0_1(v1::Guest),
}

impl ValidatorIndices {
    pub(crate) fn new(pre: &InstancePre<StoreState>, contract: Contract) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::V0_2 => Self::V0_2(v2::GuestIndices::new(pre)?),
            Contract::V0_1 => Self::V0_1(v1::GuestIndices::new(pre)?),
        })
    }

    pub(crate) fn load(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> wasmtime::Result<ValidatorExports> {
        Ok(match self {
            Self::V0_2(v) => ValidatorExports::V0_2(v.load(store, instance)?),
            Self::V0_1(v) => ValidatorExports::V0_1(v.load(store, instance)?),
        })
    }
}

impl ValidatorExports {
    pub(crate) fn configure(
        &self,
        store: impl AsContextMut,
        settings: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::V0_2(v) => v.call_configure(store, settings),
            Self::V0_1(v) => v.call_configure(store, settings),
        }
    }

    pub(crate) fn validate(
        &self,
        store: impl AsContextMut,
        resource: &wit::Resource,
    ) -> wasmtime::Result<Vec<wit::Diagnostic>> {
        match self {
            Self::V0_2(v) => v.call_validate(store, resource),
            Self::V0_1(v) => v.call_validate(store, resource),
        }
    }
}

/// Where an analyzer's exports are (0.2.0 only).
pub(crate) type AnalyzerIndices = a2::GuestIndices;
/// An analyzer instance's exports.
pub(crate) type AnalyzerExports = a2::Guest;
