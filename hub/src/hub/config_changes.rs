//! A changed configuration file is never ignored in silence: at each rescan
//! signal (SIGHUP, SIGUSR1) the file the hub started from is read again,
//! and if a setting in it differs from the running one, the hub says which
//! sections changed and that they take a restart. (Sources and plugin
//! files are re-read by their own watches; the configuration itself is
//! read once.)

use std::path::PathBuf;
use std::sync::Arc;

use galleon_fs_watch::RescanSignals;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::HubConfig;

/// Watches for rescan signals until `stop`, comparing the file at `path`
/// with what it held when the hub started (`as_read`: command-line flags
/// are not edits of the file).
pub(super) async fn watch(path: PathBuf, as_read: Arc<HubConfig>, stop: CancellationToken) {
    let mut signals = RescanSignals::new();
    let running = sections(&as_read);
    let mut reported = None;
    // The first look is at once: a change (and its SIGHUP) made between
    // loading and this task subscribing to the signals would be missed.
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            tokio::select! {
                () = stop.cancelled() => return,
                () = signals.recv() => {}
            }
        }
        let now = match HubConfig::load(&path) {
            Ok(config) => sections(&config),
            Err(error) => {
                warn!(
                    "the configuration file no longer loads ({error}); the hub runs on as it started"
                );
                continue;
            }
        };
        let changed = changed_sections(&running, &now);
        if changed.is_empty() {
            if reported.take().is_some() {
                info!(path = %path.display(), "the configuration file is as the hub runs it again");
            }
        } else if reported.as_ref() != Some(&changed) {
            warn!(
                path = %path.display(),
                sections = %changed.join(", "),
                "the configuration file changed; restart galleon to apply it (sources and plugin files are re-read without one)"
            );
            reported = Some(changed);
        }
    }
}

/// The configuration's top-level sections, as JSON.
fn sections(config: &HubConfig) -> serde_json::Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(sections)) => sections,
        _ => serde_json::Map::new(),
    }
}

/// The sections (and for `plugins`, `mcp`, `admin`, their keys) that
/// differ.
fn changed_sections(
    running: &serde_json::Map<String, Value>,
    now: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let mut changed = Vec::new();
    for (name, value) in now {
        let before = running.get(name);
        if before == Some(value) {
            continue;
        }
        match (before, value) {
            (Some(Value::Object(before)), Value::Object(after)) => {
                let keys = after.keys().chain(before.keys());
                let mut keys: Vec<&String> =
                    keys.filter(|k| before.get(*k) != after.get(*k)).collect();
                keys.sort();
                keys.dedup();
                changed.extend(keys.into_iter().map(|k| format!("{name}.{k}")));
            }
            _ => changed.push(name.clone()),
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changed_sections_are_named() {
        let before = HubConfig::parse("mcp: {stallTimeout: 5m}\n").unwrap();
        let after = HubConfig::parse(
            "mcp: {stallTimeout: 1m}\nplugins: {bindings: [{file: a.wasm, kind: transformer}]}\n",
        )
        .unwrap();
        let changed = changed_sections(&sections(&before), &sections(&after));
        assert_eq!(changed, ["mcp.stallTimeout", "plugins.bindings"]);
        assert!(changed_sections(&sections(&after), &sections(&after)).is_empty());
    }
}
