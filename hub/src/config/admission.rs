//! The admission webhook's settings (`admission:`): its own address (never
//! the MCP or admin port), the HTTPS certificate the API server trusts
//! (re-read when it changes), and the limits on each review.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `admission:`: serve a Kubernetes validating admission webhook.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Listen address (default `0.0.0.0:9443`; the API server dials it
    /// through a Service).
    #[serde(default = "default_address")]
    pub address: SocketAddr,
    /// The serving certificate: the API server calls webhooks over HTTPS
    /// only.
    pub tls: AdmissionTlsConfig,
    /// Largest AdmissionReview body read (default 3 MiB: the API server's
    /// own request limit); a larger one is refused with 413.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// How long one review may take, plugins included (default 8s, inside
    /// the API server's default webhook timeout of 10s). A review not
    /// answered in time is denied, naming the timeout.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Connections open at once (default 256); one more is closed at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

/// The webhook's certificate and key (PEM), re-read when they change (a
/// cert-manager renewal or a rotated Secret applies to the next handshake).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdmissionTlsConfig {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

impl AdmissionConfig {
    /// Makes the TLS paths relative to the configuration file.
    pub(super) fn resolve_paths(&mut self, resolve: &impl Fn(&mut PathBuf)) {
        resolve(&mut self.tls.cert);
        resolve(&mut self.tls.key);
    }
}

fn default_address() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 9443))
}

fn default_max_request_bytes() -> usize {
    3 << 20
}

fn default_timeout() -> Duration {
    Duration::from_secs(8)
}

fn default_max_connections() -> usize {
    256
}
