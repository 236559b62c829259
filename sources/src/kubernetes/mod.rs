//! The Kubernetes source: every kind the registry knows (Istio's CRDs,
//! Services, Endpoints, Pods, Nodes, Ingresses, user kinds), listed and
//! watched through kube-rs, in the namespaces configured (all by default)
//! and under an optional label selector. Objects carry their
//! resourceVersion as the source version; see [`kind`] for what one kind's
//! watch does with relists, bookmarks, absent CRDs and API errors.

mod kind;
mod object;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::{Collection, Event};
use galleon_pipeline::registry::{MESH_CONFIG, Registry};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio_util::sync::CancellationToken;
use tracing::info;

use self::kind::KindWatch;
use super::link::{Link, Retry};
use super::{EventSender, Source, SourceRun};
use crate::config::KubernetesConfig;
use crate::health::SourceHealth;

/// Delays between attempts to read the client configuration.
const CONFIG_RETRY: galleon_mcp::BackoffOptions = galleon_mcp::BackoffOptions {
    min: std::time::Duration::from_secs(1),
    max: std::time::Duration::from_secs(30),
};

/// A source of resources read from a Kubernetes API server.
pub struct KubernetesSource {
    options: KubernetesConfig,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    health: SourceHealth,
}

impl KubernetesSource {
    /// Reads every kind `registry` knows from the API server `options` name.
    pub fn new(
        options: KubernetesConfig,
        registry: Arc<Registry>,
        diagnostics: Diagnostics,
    ) -> Self {
        Self {
            options,
            registry,
            diagnostics,
            health: SourceHealth::default(),
        }
    }

    /// Reports its links' health to `health`.
    pub fn with_health(mut self, health: SourceHealth) -> Self {
        self.health = health;
        self
    }

    async fn client(&self) -> Result<Client, kube::Error> {
        let mut config = match &self.options.kubeconfig {
            Some(path) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(kube::Error::InferKubeconfig)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .map_err(kube::Error::InferKubeconfig)?
            }
            None => kube::Config::infer()
                .await
                .map_err(kube::Error::InferConfig)?,
        };
        // The watches retry with their own backoff and report the link
        // while they do; kube-client's own retry of 503s would hide an
        // outage for minutes.
        config.default_retry = false;
        Client::try_from(config)
    }

    /// One watch per kind and namespace.
    fn watches(&self, client: &Client) -> Vec<KindWatch> {
        let namespaces: Vec<Option<String>> = if self.options.namespaces.is_empty() {
            vec![None]
        } else {
            self.options.namespaces.iter().cloned().map(Some).collect()
        };
        let mut watches = Vec::new();
        for schema in self.registry.schemas() {
            if &*schema.collection == MESH_CONFIG {
                continue;
            }
            let scopes: &[Option<String>] = if schema.cluster_scoped {
                &[None]
            } else {
                &namespaces
            };
            for namespace in scopes {
                let link = Arc::new(Link::new(
                    self.name(),
                    format!("{} {}/{}", self.name(), schema.api_version, schema.kind),
                    self.diagnostics.clone(),
                    self.health.clone(),
                ));
                watches.push(KindWatch {
                    client: client.clone(),
                    schema: schema.clone(),
                    namespace: namespace.clone(),
                    label_selector: self.options.label_selector.clone(),
                    registry: self.registry.clone(),
                    diagnostics: self.diagnostics.clone(),
                    link,
                });
            }
        }
        watches
    }
}

impl Source for KubernetesSource {
    fn name(&self) -> String {
        match &self.options.kubeconfig {
            Some(path) => format!("kubernetes {}", path.display()),
            None => "kubernetes".into(),
        }
    }

    fn collections(&self) -> Vec<Collection> {
        self.registry
            .schemas()
            .into_iter()
            .map(|s| s.collection.clone())
            .filter(|c| &**c != MESH_CONFIG)
            .collect()
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let link = Arc::new(Link::new(
                self.name(),
                format!("{} client", self.name()),
                self.diagnostics.clone(),
                self.health.clone(),
            ));
            let mut retry = Retry::new(link, CONFIG_RETRY);
            let client = loop {
                match self.client().await {
                    Ok(client) => break client,
                    Err(error) => {
                        if !retry
                            .failed("kubeconfig", &error, "nothing read yet", &stop)
                            .await
                        {
                            return;
                        }
                    }
                }
            };
            retry.up("kubeconfig");
            let watches = self.watches(&client);
            info!(source = %self.name(), watches = watches.len(), "watching");
            // A collection syncs once every namespace's watch of it listed.
            let pending: Arc<Mutex<HashMap<Collection, usize>>> = Arc::default();
            for watch in &watches {
                *pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(watch.schema.collection.clone())
                    .or_default() += 1;
            }
            let mut tasks = Vec::new();
            for watch in watches {
                let collection = watch.schema.collection.clone();
                let pending = pending.clone();
                let synced = move || {
                    let mut pending = pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let left = pending.get_mut(&collection)?;
                    *left -= 1;
                    (*left == 0).then(|| Event::FullSync(collection.clone()))
                };
                tasks.push(tokio::spawn(watch.run(
                    events.clone(),
                    stop.clone(),
                    synced,
                )));
            }
            for task in tasks {
                let _ = task.await;
            }
        })
    }
}
