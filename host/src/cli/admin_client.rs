//! A client of a running hub's admin server, for the commands that read it
//! (`status`, `version --admin-addr`, `history`, `diff`) or write to it
//! (`rollback`, `plugin preview`): the address as every command takes it
//! ([`AdminAddr`]), one request per call, JSON read into the admin API's
//! own types.

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use super::address;

/// The `--admin-addr` of every command that talks to a running hub.
#[derive(Debug, Args)]
pub(super) struct AdminAddr {
    /// The hub's admin server: host:port (a scheme allowed).
    #[arg(long, env = "GALLEON_ADMIN_ADDR", default_value = "127.0.0.1:9902")]
    admin_addr: String,
}

impl AdminAddr {
    /// A client of it.
    pub(super) fn client(&self) -> anyhow::Result<AdminClient> {
        AdminClient::new("--admin-addr", &self.admin_addr)
    }
}

/// A running hub's admin server.
pub(super) struct AdminClient {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl AdminClient {
    /// The admin server at `address` (given as `flag`).
    pub(super) fn new(flag: &str, address: &str) -> anyhow::Result<Self> {
        Ok(Self {
            base: address::uri(flag, address, false)?,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
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
        let response = self
            .client
            .request(request)
            .await
            .with_context(|| format!("cannot reach the admin server at {}", self.base))?;
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
