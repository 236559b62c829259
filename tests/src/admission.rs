//! The API server's side of a validating admission webhook: AdmissionReview
//! bodies shaped as kube-apiserver sends them (`admission.k8s.io/v1`, the
//! object as it would be stored, the user, the options), posted over real
//! HTTPS (rustls trusting the test's CA, HTTP/2 or HTTP/1.1 by ALPN, as the
//! API server's client negotiates). Each call dials a new connection, so a
//! rotated server certificate is seen at once.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::PATIENCE;

/// What the API server is asked to do with the object.
#[derive(Clone, Copy, Debug)]
pub enum Operation {
    /// `kubectl create` / `apply` of a new object.
    Create,
    /// A change to an existing one.
    Update,
    /// A delete (the object is `null`, the old object the one going away).
    Delete,
}

/// An AdmissionReview for `object` (`apiVersion`, `kind`, `metadata` and
/// the rest), as the API server would send it for `operation`.
pub fn review(operation: Operation, object: &Value, dry_run: bool) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or_default();
    let resource = format!("{}s", kind.to_ascii_lowercase());
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": resource});
    let (operation, options, new, old) = match operation {
        Operation::Create => ("CREATE", "CreateOptions", object.clone(), Value::Null),
        Operation::Update => ("UPDATE", "UpdateOptions", object.clone(), object.clone()),
        Operation::Delete => ("DELETE", "DeleteOptions", Value::Null, object.clone()),
    };
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": format!("{:08x}-9cb7-44dd-b98e-09fd62def2f4", rand_id(object)),
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": new,
            "oldObject": old,
            "dryRun": dry_run,
            "options": {"kind": options, "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply"},
        }
    })
}

/// A uid that differs between objects, so an echo can be checked.
fn rand_id(object: &Value) -> u32 {
    object.to_string().bytes().fold(2166136261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    })
}

/// A client of one webhook, trusting one CA.
pub struct WebhookClient {
    addr: SocketAddr,
    tls: ClientConfig,
    /// Connections kept open between calls, as the API server keeps them.
    pooled: Option<Client<HttpsConnector<HttpConnector>, Full<bytes::Bytes>>>,
}

impl WebhookClient {
    /// A client of the webhook on `addr` (certificate for `localhost`)
    /// that trusts `ca` (PEM).
    pub fn new(addr: SocketAddr, ca: &str) -> Self {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(certificate.expect("CA PEM")).expect("CA");
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            addr,
            tls,
            pooled: None,
        }
    }

    /// This client, keeping its connections open between calls.
    pub fn keep_alive(mut self) -> Self {
        self.pooled = Some(self.client(true));
        self
    }

    fn client(&self, pooled: bool) -> Client<HttpsConnector<HttpConnector>, Full<bytes::Bytes>> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(self.tls.clone())
            .https_only()
            .enable_all_versions()
            .wrap_connector(http);
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(if pooled { usize::MAX } else { 0 })
            .build(connector)
    }

    /// POSTs `body` to `path` (on a new connection unless kept alive): the
    /// status and the body, or the error (a refused handshake).
    pub async fn post(&self, path: &str, body: Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
        let client = self.pooled.clone().unwrap_or_else(|| self.client(false));
        let request = http::Request::post(format!("https://localhost:{}{path}", self.addr.port()))
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(body)))?;
        let exchange = async {
            let response = client.request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes().to_vec();
            anyhow::Ok((status, body))
        };
        tokio::time::timeout(PATIENCE, exchange).await?
    }

    /// Sends `review` to `/validate` and returns the response part of the
    /// answer (panics unless it is a 200 with an AdmissionReview whose uid
    /// echoes the request's).
    pub async fn validate(&self, review: &Value) -> Value {
        let (status, body) = self
            .post("/validate", serde_json::to_vec(review).expect("JSON"))
            .await
            .expect("the webhook answers");
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
        assert_eq!(answer["kind"], "AdmissionReview", "{answer}");
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1", "{answer}");
        let response = answer["response"].clone();
        assert_eq!(response["uid"], review["request"]["uid"], "{answer}");
        response
    }
}
