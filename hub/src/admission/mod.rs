//! The validating admission webhook (`admission:`): `POST /validate` on a
//! port of its own, over HTTPS with a certificate re-read when it changes,
//! answers the API server's `admission.k8s.io/v1` AdmissionReviews with
//! the same checks the pipeline runs (CRD schemas and CEL rules, validator
//! plugins bound to the kind's collection, typed bodies), so what a file
//! or etcd key would be refused for is refused at `kubectl apply` too.
//!
//! [`review`] turns a review into the resource to judge and the verdict
//! into the answer; [`pool`] lends each review a check session within its
//! deadline; [`stats`] counts reviews and their latency by kind.

mod pool;
mod review;
mod stats;

pub use stats::AdmissionStats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kube_core::DynamicObject;
use kube_core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use galleon_mcp::tls::ServerTls;
use galleon_pipeline::registry::Registry;

use crate::checks::Checks;
use crate::config::AdmissionConfig;
use crate::http_server::{self, Limits};
use pool::{Late, Pool};
use review::Subject;

/// Deadline for a connection's TLS handshake and each request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the webhook's handler reads.
#[derive(Clone)]
pub(crate) struct Webhook {
    registry: Arc<Registry>,
    pool: Pool,
    stats: AdmissionStats,
    timeout: Duration,
}

impl Webhook {
    /// The webhook of `checks` over `registry`'s kinds, within `config`'s
    /// limits.
    pub(crate) fn new(
        checks: Checks,
        registry: Arc<Registry>,
        config: &AdmissionConfig,
        stats: AdmissionStats,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            registry,
            pool: Pool::new(checks, cores * 2),
            stats,
            timeout: config.timeout,
        }
    }
}

/// Serves the webhook on `listener` over `tls` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    webhook: Webhook,
    tls: ServerTls,
    config: &AdmissionConfig,
    stop: CancellationToken,
) {
    let router = Router::new()
        .route("/validate", post(validate))
        .layer(DefaultBodyLimit::max(config.max_request_bytes))
        .with_state(webhook);
    let limits = Limits {
        name: "admission webhook",
        setting: "admission.maxConnections",
        max_connections: config.max_connections,
        header_read_timeout: HEADER_READ_TIMEOUT,
    };
    http_server::serve(listener, router, limits, Some(tls), stop).await;
}

/// `POST /validate`: one AdmissionReview in, its answer out. A body that is
/// not a review is answered 400 (413 over `admission.maxRequestBytes`).
async fn validate(State(webhook): State<Webhook>, body: Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let request = match body.map(|body| read(&body)) {
        Ok(Ok(request)) => request,
        Ok(Err(reason)) => {
            webhook.stats.refused();
            return (StatusCode::BAD_REQUEST, reason).into_response();
        }
        Err(rejection) => {
            webhook.stats.refused();
            return rejection.into_response();
        }
    };
    let response = match review::subject(&request, &webhook.registry) {
        Subject::Allow(warnings) => {
            let mut response = AdmissionResponse::from(&request);
            response.warnings = (!warnings.is_empty()).then_some(warnings);
            response
        }
        Subject::Deny(message) => {
            review::denied(AdmissionResponse::from(&request), &message, "Invalid", 422)
        }
        Subject::Check(collection, entry) => {
            match webhook.pool.check(collection, entry, webhook.timeout).await {
                Ok(verdict) => review::answer(&request, verdict),
                Err(Late) => review::denied(
                    AdmissionResponse::from(&request),
                    &format!(
                        "galleon's checks did not finish within admission.timeout ({})",
                        humantime::format_duration(webhook.timeout)
                    ),
                    "Timeout",
                    504,
                ),
            }
        }
    };
    let known = &request.kind;
    let api_version = if known.group.is_empty() {
        known.version.clone()
    } else {
        format!("{}/{}", known.group, known.version)
    };
    // Only kinds the hub knows become labels: anyone reaching the port
    // could otherwise grow the metrics without bound.
    let kind = match webhook.registry.lookup(&api_version, &known.kind) {
        Some(schema) => schema.kind.as_str(),
        None => "other",
    };
    webhook
        .stats
        .answered(kind, response.allowed, started.elapsed());
    Json(response.into_review()).into_response()
}

/// The request of an AdmissionReview, or why `body` is not one.
fn read(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, String> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body)
        .map_err(|error| format!("not an AdmissionReview: {error}\n"))?;
    review
        .try_into()
        .map_err(|_| "an AdmissionReview without a request\n".to_owned())
}

/// The webhook's judging on arbitrary bytes, without the server: read as a
/// review, turned into its subject, judged by `checks` and answered (for
/// the fuzz target; feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_review(checks: &Checks, registry: &Registry, bytes: &[u8]) {
    let Ok(request) = read(bytes) else { return };
    let response = match review::subject(&request, registry) {
        Subject::Allow(_) => AdmissionResponse::from(&request),
        Subject::Deny(message) => {
            review::denied(AdmissionResponse::from(&request), &message, "Invalid", 422)
        }
        Subject::Check(collection, entry) => {
            let verdict = checks.session().check(&collection, &entry);
            review::answer(&request, verdict)
        }
    };
    let _ = serde_json::to_vec(&response.into_review());
}
