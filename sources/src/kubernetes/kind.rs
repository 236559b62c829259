//! One kind's watch: kube-runtime's watcher (list, then watch from the
//! list's resourceVersion with bookmarks; a `410 Gone` relists) over the
//! first of the kind's API versions the server serves, turned into pipeline
//! events. A relist sends only the difference from what was held; the
//! first complete list sends the collection's `FullSync`. A kind the server
//! does not serve (its CRD not installed) is synced empty, logged once, and
//! looked for again until it appears.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use galleon_pipeline::event::Event;
use galleon_pipeline::registry::{Registry, Schema};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::watcher;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::object::{document, locator};
use crate::link::{Link, Retry};
use crate::{EventSender, send_all};
use galleon_mcp::BackoffOptions;

/// Delays between attempts while the API server fails.
const RETRY: BackoffOptions = BackoffOptions {
    min: Duration::from_millis(200),
    max: Duration::from_secs(30),
};

/// The endpoint named in link reports.
const ENDPOINT: &str = "kubernetes";

/// What stays served while the API server fails.
const SERVED: &str = "serving what was listed before";

/// How long to wait before looking again for a kind the server does not
/// serve.
const ABSENT_RETRY: Duration = Duration::from_secs(5);

/// What one kind's watch needs.
pub(super) struct KindWatch {
    pub(super) client: Client,
    pub(super) schema: Arc<Schema>,
    pub(super) namespace: Option<String>,
    pub(super) label_selector: Option<String>,
    pub(super) registry: Arc<Registry>,
    pub(super) diagnostics: Diagnostics,
    pub(super) link: Arc<Link>,
}

/// What the watch holds: each object's content hash and locator, by name.
#[derive(Default)]
struct Held {
    objects: HashMap<String, ([u8; 32], std::path::PathBuf)>,
    /// Names seen since the current (re)list began.
    relisting: Option<HashSet<String>>,
    synced: bool,
}

impl KindWatch {
    fn api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        match &self.namespace {
            Some(namespace) if !self.schema.cluster_scoped => {
                Api::namespaced_with(self.client.clone(), namespace, resource)
            }
            _ => Api::all_with(self.client.clone(), resource),
        }
    }

    /// The kind in `api_version`.
    fn resource(&self, api_version: &str) -> ApiResource {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let plural = self
            .schema
            .collection
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let gvk = GroupVersionKind::gvk(group, version, &self.schema.kind);
        ApiResource::from_gvk_with_plural(&gvk, plural)
    }

    /// The first API version the server serves the kind in, if any.
    async fn served(&self) -> Result<Option<ApiResource>, kube::Error> {
        for api_version in self.schema.api_versions() {
            let resource = self.resource(api_version);
            match self
                .api(&resource)
                .list_metadata(&ListParams::default().limit(1))
                .await
            {
                Ok(_) => return Ok(Some(resource)),
                Err(kube::Error::Api(status)) if status.code == 404 => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    fn name(&self) -> String {
        let scope = self.namespace.as_deref().unwrap_or("all namespaces");
        format!(
            "{}/{} in {scope}",
            self.schema.api_version, self.schema.kind
        )
    }

    /// Runs until `stop` or until the pipeline is gone. `synced` is
    /// called once, after the first complete list (or when the kind turns
    /// out not to be served).
    pub(super) async fn run(
        self,
        events: EventSender,
        stop: CancellationToken,
        mut synced: impl FnMut() -> Option<Event> + Send,
    ) {
        let mut held = Held::default();
        let mut absent_logged = false;
        let mut retry = Retry::new(self.link.clone(), RETRY);
        loop {
            let resource = tokio::select! {
                () = stop.cancelled() => return,
                served = self.served() => served,
            };
            let resource = match resource {
                Ok(Some(resource)) => resource,
                Ok(None) => {
                    if !absent_logged {
                        info!(kind = %self.name(), "not served (CRD not installed?); synced empty, looking again every {}s", ABSENT_RETRY.as_secs());
                        absent_logged = true;
                    }
                    // Whatever was held went with the kind.
                    let mut batch = self.forget_all(&mut held);
                    if !held.synced {
                        held.synced = true;
                        batch.extend(synced());
                    }
                    if send_all(&events, batch).await.is_err() {
                        return;
                    }
                    retry.up(ENDPOINT);
                    if sleep_or_stop(ABSENT_RETRY, &stop).await {
                        return;
                    }
                    continue;
                }
                Err(error) => {
                    if !retry.failed(ENDPOINT, &error, SERVED, &stop).await {
                        return;
                    }
                    continue;
                }
            };
            if absent_logged {
                info!(kind = %self.name(), api_version = %resource.api_version, "now served; watching");
                absent_logged = false;
            }
            let mut config = watcher::Config::default();
            if let Some(selector) = &self.label_selector {
                config = config.labels(selector);
            }
            let stream = watcher(self.api(&resource), config);
            let mut stream = std::pin::pin!(stream);
            loop {
                let next = tokio::select! {
                    () = stop.cancelled() => return,
                    next = stream.next() => next,
                };
                let batch = match next {
                    None => break,
                    Some(Ok(event)) => {
                        retry.up(ENDPOINT);
                        self.apply(event, &mut held, &mut synced)
                    }
                    Some(Err(error)) => {
                        let gone = matches!(&error, watcher::Error::InitialListFailed(kube::Error::Api(s)) if s.code == 404);
                        if gone {
                            debug!(kind = %self.name(), "no longer served");
                            break;
                        }
                        if matches!(&error, watcher::Error::WatchError(s) if s.code == 410) {
                            debug!(kind = %self.name(), "watch expired (410 Gone); relisting");
                            continue;
                        }
                        // The watcher retries on the next poll; space the retries.
                        if !retry.failed(ENDPOINT, &error, SERVED, &stop).await {
                            return;
                        }
                        continue;
                    }
                };
                if send_all(&events, batch).await.is_err() {
                    return;
                }
            }
        }
    }

    /// The events one watcher event makes.
    fn apply(
        &self,
        event: watcher::Event<DynamicObject>,
        held: &mut Held,
        synced: &mut impl FnMut() -> Option<Event>,
    ) -> Vec<Event> {
        match event {
            watcher::Event::Init => {
                held.relisting = Some(HashSet::new());
                Vec::new()
            }
            watcher::Event::InitApply(object) => {
                let name = self.upsert_name(&object);
                if let (Some(seen), Some(name)) = (held.relisting.as_mut(), name) {
                    seen.insert(name);
                }
                self.upsert(object, held)
            }
            watcher::Event::Apply(object) => self.upsert(object, held),
            watcher::Event::Delete(object) => {
                let Some(name) = self.upsert_name(&object) else {
                    return Vec::new();
                };
                self.remove(&name, held).into_iter().collect()
            }
            watcher::Event::InitDone => {
                let seen = held.relisting.take().unwrap_or_default();
                let gone: Vec<String> = held
                    .objects
                    .keys()
                    .filter(|name| !seen.contains(*name))
                    .cloned()
                    .collect();
                let mut events: Vec<Event> = gone
                    .iter()
                    .filter_map(|name| self.remove(name, held))
                    .collect();
                if !held.synced {
                    held.synced = true;
                    info!(kind = %self.name(), objects = held.objects.len(), "listed");
                    events.extend(synced());
                }
                events
            }
        }
    }

    /// The resource name an object has (`namespace/name` for namespaced kinds).
    fn upsert_name(&self, object: &DynamicObject) -> Option<String> {
        let name = object.metadata.name.clone()?;
        if self.schema.cluster_scoped {
            return Some(name);
        }
        let namespace = object.metadata.namespace.as_deref().unwrap_or("default");
        Some(format!("{namespace}/{name}"))
    }

    fn upsert(&self, object: DynamicObject, held: &mut Held) -> Vec<Event> {
        let Ok(Value::Object(object)) = serde_json::to_value(object) else {
            return Vec::new();
        };
        let path = locator(&self.schema, &object);
        let scope = Scope::File(path.clone());
        let document = match document(&self.schema, object, &self.registry) {
            Ok(document) => document,
            Err(message) => {
                // Refused; whatever it was before stays served.
                let problem = Problem::new(path.display(), message);
                self.diagnostics.set(&scope, vec![problem]);
                return Vec::new();
            }
        };
        self.diagnostics.clear(&scope);
        let name = document.entry.name.clone();
        let collection = document.collection.clone();
        match held.objects.insert(name, (document.hash, path)) {
            Some((hash, _)) if hash == document.hash => Vec::new(),
            Some(_) => vec![Event::Updated(collection, document.entry)],
            None => vec![Event::Added(collection, document.entry)],
        }
    }

    fn remove(&self, name: &str, held: &mut Held) -> Option<Event> {
        let (_, path) = held.objects.remove(name)?;
        self.diagnostics.clear(&Scope::File(path));
        Some(Event::Deleted(
            self.schema.collection.clone(),
            name.to_owned(),
        ))
    }

    fn forget_all(&self, held: &mut Held) -> Vec<Event> {
        let names: Vec<String> = held.objects.keys().cloned().collect();
        names
            .iter()
            .filter_map(|name| self.remove(name, held))
            .collect()
    }
}

/// Sleeps `delay`; `true` if `stop` came first.
async fn sleep_or_stop(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(delay) => false,
    }
}
