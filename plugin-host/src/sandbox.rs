//! The sandbox each plugin instance runs in: a `Store` with a memory cap, an
//! epoch deadline on every call, and a linker that offers the `log` import
//! and — for components that import WASI anyway (JavaScript and Python
//! toolchains do, and Rust's standard library may) — WASI with an empty
//! context: no preopened directories, no environment, no arguments, closed
//! stdin, discarded stdout/stderr, every socket denied, and sleeping traps.
//! A plugin's `log` lines go to the hub's log (its warnings and errors to
//! the ledger too), or, for a preview, into a [`LogCapture`].

use std::sync::{Arc, Mutex, PoisonError};

use tracing::{Level, event};
use wasmtime::component::{HasSelf, Linker, Resource};
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use galleon_pipeline::diagnostics::{Diagnostics, PluginScope, Problem, Scope};

use super::engine::PluginEngine;
use super::epoch::{EPOCH_TICK, during_call};
use super::error::PluginError;
use super::failure::{MemoryLimitExceeded, SleepDenied};
use super::limits::Limits;
use super::wit_bindings::{host, v0_1, wit as types};

/// How many of a plugin's logged warnings and errors the ledger keeps.
const LOGGED_PROBLEMS_KEPT: usize = 5;

/// How many logged lines a [`LogCapture`] keeps.
const CAPTURED_LINES_KEPT: usize = 200;

/// Where a plugin's `log` lines go.
#[derive(Clone)]
enum LogTarget {
    /// The hub's log, and warnings and errors to the ledger (none in
    /// harnesses).
    Hub(Option<Diagnostics>),
    /// Kept aside, off the hub's log and ledger.
    Captured(LogCapture),
}

/// The lines plugins logged in a sandbox of their own: the first
/// [`CAPTURED_LINES_KEPT`], and how many more there were.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<Mutex<CapturedLog>>);

/// What a [`LogCapture`] holds.
#[derive(Clone, Debug, Default)]
pub struct CapturedLog {
    /// `(level, message)`, the message escaped and cut as the hub's log shows it.
    pub lines: Vec<(String, String)>,
    /// Lines logged beyond those kept.
    pub dropped: usize,
}

impl LogCapture {
    fn push(&self, level: host::Level, message: String) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if log.lines.len() < CAPTURED_LINES_KEPT {
            log.lines.push((level_name(level).to_owned(), message));
        } else {
            log.dropped += 1;
        }
    }

    /// What was logged so far.
    pub(crate) fn taken(&self) -> CapturedLog {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn level_name(level: host::Level) -> &'static str {
    match level {
        host::Level::Trace => "trace",
        host::Level::Debug => "debug",
        host::Level::Info => "info",
        host::Level::Warn => "warn",
        host::Level::Error => "error",
    }
}

/// What a plugin's store holds.
pub(crate) struct StoreState {
    plugin: Arc<str>,
    log: LogTarget,
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
}

/// The memory cap of one instance. Growing past it fails the call with
/// [`MemoryLimitExceeded`], which names the cause as a type (not a message).
struct MemoryCap {
    bytes: usize,
    /// The most linear memory the instance has grown to.
    peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.bytes {
            return Err(MemoryLimitExceeded { desired }.into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl StoreState {
    /// The most linear memory this instance has grown to, in bytes.
    pub(crate) fn peak_memory(&self) -> usize {
        self.memory.peak
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The longest message a plugin's `log` call is shown with.
const LOGGED_MESSAGE_MAX: usize = 1_000;

impl host::Host for StoreState {
    fn log(&mut self, level: host::Level, message: String) {
        let plugin = &*self.plugin;
        // A plugin's text on the hub's log and status: no forged lines.
        let message = galleon_pipeline::diagnostics::escaped(&message, LOGGED_MESSAGE_MAX);
        let ledger = match &self.log {
            LogTarget::Captured(capture) => return capture.push(level, message),
            LogTarget::Hub(ledger) => ledger,
        };
        match level {
            host::Level::Trace => event!(Level::TRACE, plugin, "{message}"),
            host::Level::Debug => event!(Level::DEBUG, plugin, "{message}"),
            host::Level::Info => event!(Level::INFO, plugin, "{message}"),
            host::Level::Warn => event!(Level::WARN, plugin, "{message}"),
            host::Level::Error => event!(Level::ERROR, plugin, "{message}"),
        }
        if matches!(level, host::Level::Warn | host::Level::Error)
            && let Some(ledger) = ledger
        {
            let scope = Scope::Plugin(plugin.to_owned(), PluginScope::Log);
            let severity = if matches!(level, host::Level::Warn) {
                "warning"
            } else {
                "error"
            };
            let text = format!("logged {severity}: {message}");
            let problem = match level {
                host::Level::Warn => Problem::warning(format!("plugin {plugin}"), text),
                _ => Problem::new(format!("plugin {plugin}"), text),
            };
            ledger.push(&scope, problem, LOGGED_PROBLEMS_KEPT);
        }
    }
}

impl types::Host for StoreState {}

/// 0.1.0's `log` import: the same call under the older version's name.
impl v0_1::transformer_world::galleon::plugin::host::Host for StoreState {
    fn log(
        &mut self,
        level: v0_1::transformer_world::galleon::plugin::host::Level,
        message: String,
    ) {
        use v0_1::transformer_world::galleon::plugin::host::Level as L;
        let level = match level {
            L::Trace => host::Level::Trace,
            L::Debug => host::Level::Debug,
            L::Info => host::Level::Info,
            L::Warn => host::Level::Warn,
            L::Error => host::Level::Error,
        };
        host::Host::log(self, level, message);
    }
}

/// WASI's monotonic clock, with its timers replaced by ones that fail: a
/// host-side sleep could not be interrupted by the epoch deadline, so
/// plugins may read the clock but not sleep.
impl monotonic_clock::Host for StoreState {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        self.clocks().now()
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        self.clocks().resolution()
    }

    fn subscribe_instant(
        &mut self,
        _when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        Err(SleepDenied.into())
    }

    fn subscribe_duration(
        &mut self,
        _duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        Err(SleepDenied.into())
    }
}

/// The one linker every plugin is linked with, built once per engine.
#[derive(Clone)]
pub(crate) struct Sandbox {
    pub(crate) engine: PluginEngine,
    /// Where plugins' `log` lines go.
    log: LogTarget,
    /// WASI (sleeping denied) and the `host` import of every contract
    /// version loaded: all any world imports.
    pub(crate) linker: Arc<Linker<StoreState>>,
}

impl Sandbox {
    pub(crate) fn new(engine: PluginEngine) -> Result<Self, PluginError> {
        let mut linker = Linker::new(engine.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .and_then(|()| deny_sleep(&mut linker))
            .and_then(|()| host::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))
            .and_then(|()| {
                v0_1::transformer_world::galleon::plugin::host::add_to_linker::<_, HasSelf<_>>(
                    &mut linker,
                    |s| s,
                )
            })
            .map_err(|e| PluginError::Engine(format!("cannot link the plugin world: {e:#}")))?;
        Ok(Self {
            linker: Arc::new(linker),
            engine,
            log: LogTarget::Hub(None),
        })
    }

    /// This sandbox, with plugins' logged warnings and errors recorded in
    /// `ledger`.
    pub(crate) fn with_ledger(mut self, ledger: Diagnostics) -> Self {
        self.log = LogTarget::Hub(Some(ledger));
        self
    }

    /// This sandbox with its plugins' `log` lines kept in a capture of
    /// their own instead (a preview's: nothing reaches the hub's log).
    pub(crate) fn capturing(&self) -> (Self, LogCapture) {
        let capture = LogCapture::default();
        let sandbox = Self {
            log: LogTarget::Captured(capture.clone()),
            ..self.clone()
        };
        (sandbox, capture)
    }

    /// A fresh store for one instance of plugin `name`.
    pub(crate) fn store(&self, name: &str, limits: Limits) -> Store<StoreState> {
        let state = StoreState {
            plugin: name.into(),
            log: self.log.clone(),
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            memory: MemoryCap {
                bytes: limits.memory,
                peak: 0,
            },
        };
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|state| &mut state.memory);
        store.epoch_deadline_trap();
        store
    }
}

/// Runs a plugin call outside the async runtime's context: WASI's blocking
/// host functions (a plugin writing to stderr, say) drive their own futures
/// and must not find themselves inside a runtime's `block_on`. Outside any
/// runtime this just calls `call`.
/// The epoch clock ticks while it runs (see `epoch`).
pub(crate) fn blocking<R>(call: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(|| during_call(call))
}

/// Arms the deadline for the next call.
pub(crate) fn arm(store: &mut Store<StoreState>, limits: Limits) {
    let ticks = limits
        .deadline
        .as_millis()
        .div_ceil(EPOCH_TICK.as_millis())
        .max(1);
    store.set_epoch_deadline(ticks as u64);
}

/// Shadows WASI's monotonic clock with [`StoreState`]'s, which denies
/// sleeping. The interface is linked by wasmtime-wasi's own bindings, under
/// whatever WASI version it serves, so the shadow always matches it.
fn deny_sleep(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    linker.allow_shadowing(false);
    Ok(())
}
