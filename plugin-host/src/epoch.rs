//! The epoch clock behind plugin deadlines. Each engine's ticker thread
//! advances its epoch every [`EPOCH_TICK`] while a plugin call is running
//! anywhere in the process, and sleeps otherwise: an idle hub costs no
//! wakeups. A deadline counts ticks from the start of its call, so pausing
//! the clock between calls changes nothing a plugin can observe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How often the epoch advances during calls; deadlines are whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The process's plugin calls.
static CALLS: Gate = Gate::new();

/// Counts calls in progress; wakes tickers when the first one starts.
pub(crate) struct Gate {
    active: Mutex<usize>,
    changed: Condvar,
}

impl Gate {
    const fn new() -> Self {
        Self {
            active: Mutex::new(0),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `call` as a call in progress.
    fn during<R>(&self, call: impl FnOnce() -> R) -> R {
        struct Leave<'a>(&'a Gate);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                *self.0.lock() -= 1;
            }
        }
        {
            let mut active = self.lock();
            *active += 1;
            if *active == 1 {
                self.changed.notify_all();
            }
        }
        let _leave = Leave(self);
        call()
    }

    /// Blocks while no call is in progress and `stop` is not set.
    fn wait_for_call(&self, stop: &AtomicBool) {
        let active = self.lock();
        let _active = self
            .changed
            .wait_while(active, |active| {
                *active == 0 && !stop.load(Ordering::Relaxed)
            })
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Runs `call` as a plugin call: the epoch clocks tick while it runs.
pub(crate) fn during_call<R>(call: impl FnOnce() -> R) -> R {
    CALLS.during(call)
}

/// A ticker thread; stops when dropped.
pub(crate) struct Ticker {
    gate: &'static Gate,
    stop: Arc<AtomicBool>,
}

impl Ticker {
    /// Advances `engine`'s epoch while plugin calls run.
    pub(crate) fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        Self::on(&CALLS, move || engine.increment_epoch())
    }

    /// Calls `tick` every [`EPOCH_TICK`] while a call of `gate` runs.
    fn on(gate: &'static Gate, tick: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("galleon-epoch".into())
            .spawn(move || {
                loop {
                    gate.wait_for_call(&stopped);
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(EPOCH_TICK);
                    tick();
                }
            })?;
        Ok(Self { gate, stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Taking the lock orders the store before the waiter's next check.
        let _active = self.gate.lock();
        self.gate.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    #[test]
    fn the_clock_ticks_only_during_calls() {
        static GATE: Gate = Gate::new();
        let ticks = Arc::new(AtomicU64::new(0));
        let counted = ticks.clone();
        let ticker = Ticker::on(&GATE, move || {
            counted.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        std::thread::sleep(EPOCH_TICK * 5);
        assert_eq!(ticks.load(Ordering::Relaxed), 0, "idle: no ticks");
        GATE.during(|| std::thread::sleep(EPOCH_TICK * 5));
        let during = ticks.load(Ordering::Relaxed);
        assert!(during >= 2, "{during} ticks during a call of five");
        std::thread::sleep(EPOCH_TICK * 5);
        // At most the tick under way when the call ended.
        assert!(ticks.load(Ordering::Relaxed) <= during + 1);
        drop(ticker);
    }
}
