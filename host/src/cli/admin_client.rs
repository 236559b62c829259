//! A client of a running hub's admin server, for the commands that read it
//! (`status`, `version --admin-addr`, `history`, `diff`) or write to it
//! (`rollback`, `plugin preview`): the address as every command takes it
//! ([`AdminAddr`]), one request per call, JSON read into the admin API's
//! own types.

use std::path::PathBuf;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use galleon_mcp::tls::ClientTls;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use super::address;

/// The `--admin-addr` of every command that talks to a running hub, and
/// the TLS it is dialled with (an admin server with `admin.tls`).
#[derive(Debug, Args)]
pub(super) struct AdminAddr {
    /// The hub's admin server: host:port (a scheme allowed).
    #[arg(long, env = "GALLEON_ADMIN_ADDR", default_value = "127.0.0.1:9902")]
    admin_addr: String,
    /// Dial HTTPS, trusting the CAs in this PEM file (an admin server with
    /// admin.tls).
    #[arg(long, value_name = "FILE", env = "GALLEON_ADMIN_CA")]
    admin_ca: Option<PathBuf>,
    /// Present this certificate (PEM): a writer's, listed in
    /// admin.tls.writers; with --admin-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "admin_key",
        env = "GALLEON_ADMIN_CERT"
    )]
    admin_cert: Option<PathBuf>,
    /// The private key (PEM) of --admin-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "admin_cert",
        env = "GALLEON_ADMIN_KEY"
    )]
    admin_key: Option<PathBuf>,
}

impl AdminAddr {
    /// A client of it.
    pub(super) fn client(&self) -> anyhow::Result<AdminClient> {
        let tls = (self.admin_ca.is_some() || self.admin_cert.is_some()).then(|| ClientTls {
            ca: self.admin_ca.clone(),
            cert: self.admin_cert.clone(),
            key: self.admin_key.clone(),
            server_name: None,
        });
        AdminClient::with_tls("--admin-addr", &self.admin_addr, tls)
    }

    /// `POST /debug/plugins/ACTION?binding=BINDING` with `body`, from a
    /// command that runs outside the async runtime (the plugin commands):
    /// one is started for the call.
    pub(super) fn post_plugin<T: DeserializeOwned>(
        &self,
        action: &str,
        binding: &str,
        body: Bytes,
    ) -> anyhow::Result<T> {
        let query = serde_urlencoded::to_string([("binding", binding)])?;
        let path = format!("/debug/plugins/{action}?{query}");
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        runtime.block_on(async { self.client()?.post_json(&path, body).await })
    }
}

/// A running hub's admin server.
pub(super) struct AdminClient {
    base: String,
    client: Transport,
}

/// How requests reach it.
enum Transport {
    Http(Client<HttpConnector, Full<Bytes>>),
    Https(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl AdminClient {
    /// The admin server at `address` (given as `flag`), over plain HTTP.
    pub(super) fn new(flag: &str, address: &str) -> anyhow::Result<Self> {
        Self::with_tls(flag, address, None)
    }

    /// The admin server at `address`, over HTTPS with `tls` when given.
    fn with_tls(flag: &str, address: &str, tls: Option<ClientTls>) -> anyhow::Result<Self> {
        let base = address::uri(flag, address, tls.is_some())?;
        let builder = Client::builder(TokioExecutor::new());
        let client = match &tls {
            Some(tls) => {
                let config = tls.rustls_config().context("--admin-ca")?;
                let connector = HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_only()
                    .enable_http1()
                    .build();
                Transport::Https(builder.build(connector))
            }
            None if base.starts_with("https://") => bail!(
                "{flag} {address:?}: HTTPS needs --admin-ca (the CA of the admin server's certificate)"
            ),
            None => Transport::Http(builder.build_http()),
        };
        Ok(Self { base, client })
    }

    /// `GET path`, read as JSON.
    pub(super) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(Method::GET, path, Bytes::new()).await
    }

    /// `POST path` (a write: its parameters in the query, `body` what it
    /// uploads), read as JSON.
    pub(super) async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<T> {
        self.send(Method::POST, path, body).await
    }

    /// Sends a request; a refusal is an error carrying the server's own
    /// message (which names the fix).
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<T> {
        let uri = format!("{}{path}", self.base);
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Full::new(body))?;
        let response = match &self.client {
            Transport::Http(client) => client.request(request).await,
            Transport::Https(client) => client.request(request).await,
        };
        let response =
            response.with_context(|| format!("cannot reach the admin server at {}", self.base))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let message = String::from_utf8_lossy(&body);
            let message = message.trim();
            if message.is_empty() {
                bail!("{uri}: {status}");
            }
            bail!("{message} ({status})");
        }
        serde_json::from_slice(&body).with_context(|| format!("{uri}: not the JSON expected"))
    }
}
