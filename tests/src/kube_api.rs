//! A small Kubernetes API server fake, because no real API server can run
//! on these machines. It speaks the real wire protocol over HTTP, as
//! kube-rs does against a cluster, for the part the Kubernetes source
//! uses, and nothing more:
//!
//! - **list** (`GET …/{plural}`, cluster-wide or `…/namespaces/{ns}/…`),
//!   with `limit`/`continue` paging in key order over the current state (a
//!   real server pages one snapshot; this one pages whatever is current), and
//!   `labelSelector` of `key=value` terms only;
//! - **watch** (`?watch=true&resourceVersion=N`): the changes after `N`
//!   from its log as newline-delimited `ADDED`/`MODIFIED`/`DELETED`
//!   events, then live ones; a `resourceVersion` older than the
//!   compaction point gets an `ERROR` event with `410 Expired`, as etcd
//!   compaction makes a real server answer; `BOOKMARK` events on demand;
//! - **404** for a resource not served (a CRD not installed), and **500**
//!   for the next requests when a test injects failures.
//!
//! Tests drive it in-process: create, update and delete objects, install a
//! kind later, expire watches, send bookmarks, fail requests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A resource as the API serves it: `group/version/plural` (`""` group for
/// the core API, e.g. `/v1/pods`).
pub type ResourceKey = String;

#[derive(Clone, Debug)]
enum Note {
    Changed,
    Bookmark,
    Expire,
    /// End every watch without a word (a connection lost).
    Drop,
}

#[derive(Default)]
struct Store {
    revision: u64,
    /// Watches from before this revision get 410.
    compacted: u64,
    served: BTreeSet<ResourceKey>,
    /// Current objects by (resource, namespace, name).
    objects: BTreeMap<(ResourceKey, String, String), Value>,
    /// Every change: (revision, resource, type, object).
    log: Vec<(u64, ResourceKey, &'static str, Value)>,
    /// Requests still to fail with 500.
    failures: u32,
    /// Every request fails with 503 (the server is unreachable).
    partitioned: bool,
    /// Every request: when, and its path and query.
    requests: Vec<(Instant, String)>,
}

/// The running fake.
pub struct FakeApiServer {
    /// Where it listens (plain HTTP on loopback).
    pub addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    notes: broadcast::Sender<Note>,
    stop: CancellationToken,
}

#[derive(Clone)]
struct Shared {
    store: Arc<Mutex<Store>>,
    notes: broadcast::Sender<Note>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }
}

impl FakeApiServer {
    /// Serves the `resources` (e.g. `/v1/services`,
    /// `networking.istio.io/v1alpha3/virtualservices`) on a fresh port.
    pub async fn start(resources: &[&str]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (notes, _) = broadcast::channel(1 << 16);
        let store = Arc::new(Mutex::new(Store {
            revision: 1,
            served: resources.iter().map(|r| r.to_string()).collect(),
            ..Store::default()
        }));
        let shared = Shared {
            store: store.clone(),
            notes: notes.clone(),
        };
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
        });
        Self {
            addr,
            store,
            notes,
            stop,
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    /// A kubeconfig pointing at it, written to `dir/kubeconfig`.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://{}\"}}}}]\n\
             users: [{{name: fake, user: {{}}}}]\n\
             contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\ncurrent-context: fake\n",
            self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts serving `resource` (its CRD was installed).
    pub fn serve(&self, resource: &str) {
        self.store().served.insert(resource.to_owned());
    }

    /// Creates or replaces `object` of `resource`; returns its new
    /// resourceVersion.
    pub fn apply(&self, resource: &str, mut object: Value) -> u64 {
        let revision = {
            let mut store = self.store();
            store.revision += 1;
            let revision = store.revision;
            let namespace = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let name = object["metadata"]["name"]
                .as_str()
                .expect("a name")
                .to_owned();
            object["metadata"]["resourceVersion"] = revision.to_string().into();
            let key = (resource.to_owned(), namespace, name);
            let kind = if store.objects.insert(key, object.clone()).is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            };
            store
                .log
                .push((revision, resource.to_owned(), kind, object));
            revision
        };
        let _ = self.notes.send(Note::Changed);
        revision
    }

    /// Deletes an object.
    pub fn delete(&self, resource: &str, namespace: &str, name: &str) {
        {
            let mut store = self.store();
            let key = (resource.to_owned(), namespace.to_owned(), name.to_owned());
            let Some(mut object) = store.objects.remove(&key) else {
                return;
            };
            store.revision += 1;
            object["metadata"]["resourceVersion"] = store.revision.to_string().into();
            let revision = store.revision;
            store
                .log
                .push((revision, resource.to_owned(), "DELETED", object));
        }
        let _ = self.notes.send(Note::Changed);
    }

    /// Compacts history at the current revision and ends every open watch
    /// with `410 Expired`: clients must list again.
    pub fn expire_watches(&self) {
        {
            let mut store = self.store();
            store.compacted = store.revision + 1;
        }
        let _ = self.notes.send(Note::Expire);
    }

    /// Sends a `BOOKMARK` with the current revision on every open watch that
    /// asked for bookmarks.
    pub fn bookmark(&self) {
        let _ = self.notes.send(Note::Bookmark);
    }

    /// Cuts the source off: open watches end and every request fails
    /// until [`FakeApiServer::heal`].
    pub fn partition(&self) {
        self.store().partitioned = true;
        let _ = self.notes.send(Note::Drop);
    }

    /// Answers again.
    pub fn heal(&self) {
        self.store().partitioned = false;
    }

    /// The next `count` requests fail with `500`.
    pub fn fail_next(&self, count: u32) {
        self.store().failures = count;
    }

    /// Requests so far whose path and query contain every needle, with
    /// when they came.
    pub fn requests(&self, needles: &[&str]) -> Vec<Instant> {
        self.store()
            .requests
            .iter()
            .filter(|(_, r)| needles.iter().all(|n| r.contains(n)))
            .map(|(at, _)| *at)
            .collect()
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `(resource, namespace)` of a request path.
fn route(path: &str) -> Option<(ResourceKey, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new() + "/" + version, rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    match rest {
        [plural] => Some((format!("{group}/{plural}"), None)),
        ["namespaces", namespace, plural] => {
            Some((format!("{group}/{plural}"), Some((*namespace).to_owned())))
        }
        _ => None,
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn query(request: &Request) -> BTreeMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3D", "=").replace("%2C", ",")))
        .collect()
}

/// Whether `object` matches `selector` (`k=v,k2=v2`).
fn selected(object: &Value, selector: Option<&String>) -> bool {
    selector.is_none_or(|selector| {
        selector.split(',').filter(|t| !t.is_empty()).all(|term| {
            let (key, value) = term.split_once('=').unwrap_or((term, ""));
            object["metadata"]["labels"][key].as_str() == Some(value)
        })
    })
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let params = query(&request);
    {
        let mut store = shared.store();
        let line = format!("{path}?{}", request.uri().query().unwrap_or(""));
        store.requests.push((Instant::now(), line));
        if store.partitioned {
            let body = status(503, "ServiceUnavailable", "partitioned");
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        }
        if store.failures > 0 {
            store.failures -= 1;
            let body = status(500, "InternalError", "injected failure");
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
        }
    }
    let Some((resource, namespace)) = route(&path) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(status(404, "NotFound", "no route")),
        )
            .into_response();
    };
    if !shared.store().served.contains(&resource) {
        let body = status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    let selector = params
        .get("labelSelector")
        .filter(|s| !s.is_empty())
        .cloned();
    let in_scope = {
        let namespace = namespace.clone();
        let resource = resource.clone();
        move |r: &str, object: &Value| {
            r == resource
                && namespace
                    .as_deref()
                    .is_none_or(|ns| object["metadata"]["namespace"] == ns)
                && selected(object, selector.as_ref())
        }
    };
    if params.get("watch").is_some_and(|w| w == "true" || w == "1") {
        let from: u64 = params
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let bookmarks = params
            .get("allowWatchBookmarks")
            .is_some_and(|b| b == "true");
        return watch(shared, from, bookmarks, in_scope);
    }
    let store = shared.store();
    let limit: usize = params
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    // The continue token is the last key served: `namespace/name`.
    let after = params
        .get("continue")
        .and_then(|token| token.split_once("%2F").or_else(|| token.split_once('/')))
        .map(|(ns, name)| (ns.to_owned(), name.to_owned()));
    let start = match &after {
        Some((ns, name)) => std::ops::Bound::Excluded((resource.clone(), ns.clone(), name.clone())),
        None => std::ops::Bound::Included((resource.clone(), String::new(), String::new())),
    };
    let mut page = Vec::new();
    let mut last = None;
    let mut more = false;
    for ((r, ns, name), object) in store.objects.range((start, std::ops::Bound::Unbounded)) {
        if *r != resource {
            break;
        }
        if !in_scope(r, object) {
            continue;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        page.push(object);
        last = Some(format!("{ns}/{name}"));
    }
    let mut metadata = json!({"resourceVersion": store.revision.to_string()});
    if more {
        metadata["continue"] = last.into();
    }
    axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": page}))
        .into_response()
}

/// A watch from `from`: the log after it, then live changes, as
/// newline-delimited JSON.
fn watch(
    shared: Shared,
    from: u64,
    bookmarks: bool,
    in_scope: impl Fn(&str, &Value) -> bool + Send + 'static,
) -> Response {
    let mut notes = shared.notes.subscribe();
    let (lines, body) = tokio::sync::mpsc::unbounded_channel::<Result<String, std::io::Error>>();
    tokio::spawn(async move {
        let line =
            |kind: &str, object: &Value| format!("{}\n", json!({"type": kind, "object": object}));
        let mut sent = from;
        loop {
            let batch: Vec<String> = {
                let store = shared.store();
                if from > 0 && from + 1 < store.compacted {
                    let expired = status(410, "Expired", "too old resource version");
                    let _ = lines.send(Ok(line("ERROR", &expired)));
                    return;
                }
                let batch = store
                    .log
                    .iter()
                    .filter(|(revision, r, _, object)| *revision > sent && in_scope(r, object))
                    .map(|(_, _, kind, object)| line(kind, object))
                    .collect();
                sent = store.revision;
                batch
            };
            for line in batch {
                if lines.send(Ok(line)).is_err() {
                    return;
                }
            }
            match notes.recv().await {
                Ok(Note::Changed) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(Note::Bookmark) if bookmarks => {
                    let revision = shared.store().revision.to_string();
                    let mark = json!({"kind": "", "apiVersion": "", "metadata": {"resourceVersion": revision}});
                    if lines.send(Ok(line("BOOKMARK", &mark))).is_err() {
                        return;
                    }
                }
                Ok(Note::Bookmark) => {}
                Ok(Note::Expire) => {
                    let expired = status(410, "Expired", "too old resource version");
                    let _ = lines.send(Ok(line("ERROR", &expired)));
                    return;
                }
                Ok(Note::Drop) | Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(body);
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}
