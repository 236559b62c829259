//! Shell completion. `galleon completions SHELL` prints a static script;
//! sourcing `COMPLETE=SHELL galleon` instead (clap_complete's dynamic engine)
//! also completes values only a running hub knows: the collections it
//! serves, read from its admin server (`GALLEON_ADMIN_ADDR`, default
//! `127.0.0.1:9902`) within a fraction of a second, or nothing.

use std::ffi::OsStr;
use std::time::Duration;

use clap_complete::engine::CompletionCandidate;
use galleon_hub::admin::api::PublishedCollection;

use super::admin_client::AdminClient;

/// The longest a completion waits for the hub.
const PATIENCE: Duration = Duration::from_millis(500);

/// The admin server completions read when `GALLEON_ADMIN_ADDR` is unset.
const DEFAULT_ADMIN: &str = "127.0.0.1:9902";

/// The served collections that start with `current`.
pub(super) fn collections(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    let mut names = served().unwrap_or_default();
    names.retain(|name| name.starts_with(&*prefix));
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Every collection the hub publishes, or `None` when it cannot be read.
fn served() -> Option<Vec<String>> {
    let admin = std::env::var("GALLEON_ADMIN_ADDR").unwrap_or_else(|_| DEFAULT_ADMIN.into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let client = AdminClient::new("GALLEON_ADMIN_ADDR", &admin).ok()?;
        let published = tokio::time::timeout(
            PATIENCE,
            client.get_json::<Vec<PublishedCollection>>("/debug/snapshots"),
        )
        .await
        .ok()?
        .ok()?;
        Some(published.into_iter().map(|p| p.collection).collect())
    })
}
