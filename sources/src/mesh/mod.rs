//! The mesh-config source: serves the mesh configuration file (over Galley's
//! defaults) as the `istio/mesh/v1alpha1/MeshConfig` collection and reports
//! changes to it. A file that turns malformed is reported and its last good
//! content stays in force. Reading and parsing the file is [`file`].

pub mod file;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::info;

use self::file::{MESH_CONFIG_NAME, MeshConfigError};
use crate::{EventSender, Source, SourceRun};
use galleon_fs_watch::{RescanSignals, next_change, watch_or_warn};
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_pipeline::registry::MESH_CONFIG;

/// The mesh configuration, from a file or Galley's defaults.
pub struct MeshSource {
    path: Option<PathBuf>,
    diagnostics: Diagnostics,
    last_good: Mutex<Option<Value>>,
}

impl MeshSource {
    /// Serves `path` (or the defaults when `None`).
    pub fn new(path: Option<PathBuf>, diagnostics: Diagnostics) -> Self {
        Self {
            path,
            diagnostics,
            last_good: Mutex::new(None),
        }
    }

    /// [`MeshSource::current`], read on a blocking thread (the file may sit
    /// on a slow volume); `None` if that thread failed.
    async fn read(self: &Arc<Self>) -> Option<Value> {
        let source = self.clone();
        tokio::task::spawn_blocking(move || source.current())
            .await
            .inspect_err(|e| tracing::warn!("reading the mesh config failed: {e}"))
            .ok()
    }

    /// The file's content, or the last good content if it cannot be used.
    fn current(&self) -> Value {
        let mut last_good = self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(path) = &self.path else {
            return Value::Object(file::defaults());
        };
        let scope = Scope::File(path.clone());
        match file::load(path) {
            Ok(config) => {
                self.diagnostics.clear(&scope);
                *last_good = Some(config.clone());
                config
            }
            // Never read: Galley's defaults, as Galley did.
            Err(MeshConfigError::Missing { .. }) if last_good.is_none() => {
                self.diagnostics.clear(&scope);
                Value::Object(file::defaults())
            }
            // Gone, unreadable or malformed while serving: an error is never
            // a reset to the defaults.
            Err(error) => {
                let problem = Problem::new(path.display(), error);
                self.diagnostics.set(&scope, vec![problem]);
                last_good
                    .clone()
                    .unwrap_or_else(|| Value::Object(file::defaults()))
            }
        }
    }
}

fn entry(config: Value) -> Arc<Entry> {
    Arc::new(Entry {
        name: MESH_CONFIG_NAME.to_owned(),
        labels: Default::default(),
        annotations: Default::default(),
        create_time: None,
        version: String::new(),
        body: config.into(),
        origin: None,
    })
}

impl Source for MeshSource {
    fn name(&self) -> String {
        match &self.path {
            Some(path) => format!("mesh config {}", path.display()),
            None => "mesh config (defaults)".into(),
        }
    }

    fn collections(&self) -> Vec<Collection> {
        vec![MESH_CONFIG.into()]
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let collection: Collection = MESH_CONFIG.into();
            // Watch before reading, so a change between the two is not missed.
            let mut watcher = self
                .path
                .as_ref()
                .and_then(|path| watch_or_warn(std::slice::from_ref(path), "the mesh config"));
            let mut served = self
                .read()
                .await
                .unwrap_or_else(|| Value::Object(file::defaults()));
            let initial = [
                Event::Added(collection.clone(), entry(served.clone())),
                Event::FullSync(collection.clone()),
            ];
            for event in initial {
                if events.send(event).await.is_err() {
                    return;
                }
            }
            let Some(path) = self.path.clone() else {
                stop.cancelled().await;
                return;
            };
            let mut signals = RescanSignals::new();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = signals.recv() => {}
                    changed = next_change(&mut watcher) => {
                        if !changed.is_empty() && !changed.iter().any(|p| p.file_name() == path.file_name()) {
                            continue;
                        }
                    }
                }
                let Some(config) = self.read().await else {
                    continue;
                };
                if config != served {
                    info!(path = %path.display(), "mesh config changed");
                    served = config.clone();
                    if events
                        .send(Event::Updated(collection.clone(), entry(config)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        })
    }
}
