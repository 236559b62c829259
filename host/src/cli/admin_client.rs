//! A client of a running hub's admin server, for the commands that read it
//! (`status`, `version --admin-addr`): the address as every command takes
//! it, one GET per call, JSON read into the admin API's own types.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use super::address;

/// A running hub's admin server.
pub(super) struct AdminClient {
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
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
        let uri = format!("{}{path}", self.base);
        let response = self
            .client
            .get(uri.parse()?)
            .await
            .with_context(|| format!("cannot reach the admin server at {}", self.base))?;
        if !response.status().is_success() {
            bail!("{uri}: {}", response.status());
        }
        let body = response.into_body().collect().await?.to_bytes();
        serde_json::from_slice(&body).with_context(|| format!("{uri}: not the JSON expected"))
    }
}
