//! `/debug/memory`: where the hub's bytes are. The process's resident set,
//! the allocator's own figures (when the binary says which allocator it
//! runs: the library cannot know), each plugin binding's instance memory
//! (linear memory, which an instance never gives back while it lives), and
//! each served collection's encoded size in the snapshot cache.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AdminState;

/// The allocator's figures, in bytes, as jemalloc names them.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatorFigures {
    /// Bytes the program has allocated and not freed.
    pub allocated: u64,
    /// Bytes in the pages those allocations occupy.
    pub active: u64,
    /// Bytes of the allocator's pages resident in memory (its metadata
    /// included).
    pub resident: u64,
    /// Bytes the allocator has mapped.
    pub mapped: u64,
    /// Bytes unmapped but kept reserved for reuse.
    pub retained: u64,
}

/// Reads the allocator's figures (the binary's, e.g. jemalloc's), or why
/// they cannot be read.
pub type AllocatorReader = fn() -> Result<AllocatorFigures, String>;

/// The whole answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Memory {
    /// The process's resident set now and at its peak (`None` where
    /// `/proc` cannot be read).
    resident_bytes: Option<u64>,
    peak_resident_bytes: Option<u64>,
    /// The allocator's figures, when the binary reports them.
    allocator: Option<AllocatorFigures>,
    /// Why the allocator's figures are missing, if they are.
    allocator_error: Option<String>,
    /// Each plugin binding's instance memory.
    plugins: Vec<PluginMemory>,
    /// Each served collection in the cache, largest first.
    collections: Vec<CollectionMemory>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PluginMemory {
    name: String,
    kind: &'static str,
    /// The linear memory of the instance called last.
    linear_memory_bytes: u64,
    /// The most an instance may grow to.
    memory_limit_bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CollectionMemory {
    group: String,
    collection: String,
    resources: usize,
    /// The resources' encoded bytes (each held once, shared by every push
    /// and sink).
    encoded_bytes: u64,
}

/// `/debug/memory`.
pub(super) async fn memory(State(state): State<AdminState>) -> Json<Memory> {
    let status = procfs::process::Process::myself().and_then(|me| me.status());
    let (resident_bytes, peak_resident_bytes) = match status {
        Ok(status) => (
            status.vmrss.map(|kib| kib * 1024),
            status.vmhwm.map(|kib| kib * 1024),
        ),
        Err(_) => (None, None),
    };
    let (allocator, allocator_error) = match state.allocator.map(|read| read()) {
        Some(Ok(figures)) => (Some(figures), None),
        Some(Err(error)) => (None, Some(error)),
        None => (
            None,
            Some("the binary does not report its allocator".to_owned()),
        ),
    };
    let plugins = state
        .plugins
        .iter()
        .flat_map(|host| host.status())
        .map(|plugin| PluginMemory {
            linear_memory_bytes: plugin.counts.linear_memory,
            memory_limit_bytes: plugin.memory_limit as u64,
            name: plugin.name,
            kind: plugin.kind,
        })
        .collect();
    let mut collections = Vec::new();
    for group in state.cache.groups() {
        let Some(snapshot) = state.cache.snapshot(&group) else {
            continue;
        };
        for collection in snapshot.collections() {
            collections.push(CollectionMemory {
                group: group.clone(),
                collection: collection.collection().to_owned(),
                resources: collection.len(),
                encoded_bytes: collection
                    .resources()
                    .map(|r| r.encoded().len() as u64)
                    .sum(),
            });
        }
    }
    collections.sort_by_key(|c| std::cmp::Reverse(c.encoded_bytes));
    Json(Memory {
        resident_bytes,
        peak_resident_bytes,
        allocator,
        allocator_error,
        plugins,
        collections,
    })
}
