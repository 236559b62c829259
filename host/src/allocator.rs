//! The process's allocator: jemalloc, with background threads that return
//! freed memory to the system (glibc's allocator kept what a thousand
//! departed sinks had used), and its figures for `/debug/memory`.

use galleon_hub::admin::AllocatorFigures;
use tikv_jemalloc_ctl::{epoch, stats};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's figures now (its statistics are refreshed first: they are
/// cached until the epoch advances).
pub(crate) fn figures() -> Result<AllocatorFigures, String> {
    let read = || -> Result<AllocatorFigures, tikv_jemalloc_ctl::Error> {
        epoch::advance()?;
        Ok(AllocatorFigures {
            allocated: stats::allocated::read()? as u64,
            active: stats::active::read()? as u64,
            resident: stats::resident::read()? as u64,
            mapped: stats::mapped::read()? as u64,
            retained: stats::retained::read()? as u64,
        })
    };
    read().map_err(|error| format!("jemalloc's statistics cannot be read: {error}"))
}
