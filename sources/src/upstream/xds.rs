//! An upstream MCP-over-xDS server (another galleon, Nacos, Higress),
//! dialled as istiod dials `configSources: xds://…`: one ADS stream, a
//! state-of-the-world request per type URL, every response unwrapped from
//! its `istio.mcp.v1alpha1.Resource`s and ACKed. After a reconnect the
//! requests carry the last versions accepted; the full state that comes
//! back becomes only what changed.

use std::collections::HashMap;
use std::sync::Arc;

use galleon_mcp::ads::{self, AdsOptions, AdsResponse, AdsStream};
use galleon_mcp::sink::DEFAULT_MAX_MESSAGE_SIZE;
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope, quote};
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::Registry;
use galleon_proto::mcp::Resource;
use galleon_schemas::DescriptorPool;
use tokio_util::sync::CancellationToken;

use super::SERVED;
use super::mirror::Mirror;
use super::{Dial, UpstreamError, UpstreamOptions};
use crate::link::Retry;
use crate::{EventSender, Source, SourceRun, send_all};

/// A source fed by an upstream hub over MCP over xDS.
pub struct XdsUpstream {
    dial: Dial,
}

/// Why one ADS stream ended.
#[derive(Debug, thiserror::Error)]
enum StreamEnd {
    #[error("the hub is stopping")]
    PipelineGone,
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error("stream failed ({code:?}): {message}", code = .0.code(), message = .0.message())]
    Failed(#[from] tonic::Status),
    #[error("the upstream closed the stream")]
    Closed,
}

impl XdsUpstream {
    /// Subscribes to `types` (GVK type URLs such as
    /// `networking.istio.io/v1alpha3/VirtualService`) at `address`; each
    /// feeds the collection of its kind. Typed bodies are read with `pool`.
    pub fn new(
        address: &str,
        types: &[String],
        options: UpstreamOptions,
        registry: &Registry,
        pool: DescriptorPool,
        diagnostics: Diagnostics,
    ) -> Result<Self, UpstreamError> {
        let route = |type_url: &str| {
            registry
                .schemas()
                .into_iter()
                .find(|s| s.gvks().any(|gvk| gvk == type_url))
                .map(|s| s.collection.clone())
        };
        let what = "the type URL of a known kind";
        let dial = Dial::new(address, types, route, what, options, pool, diagnostics)?;
        Ok(Self { dial })
    }

    /// One ADS stream, from dial to end. `accepted` holds each type's last
    /// version ACKed (sent again on the next stream); `up` is called at the
    /// first response.
    async fn stream(
        &self,
        mirror: &mut Mirror,
        accepted: &mut HashMap<String, String>,
        events: &EventSender,
        up: &mut (dyn FnMut() + Send),
    ) -> StreamEnd {
        let channel = match self.dial.endpoint.connect().await {
            Ok(channel) => channel,
            Err(error) => return error.into(),
        };
        let options = AdsOptions {
            node: ads::node(&self.dial.node_id, None),
            types: self.dial.routes.keys().cloned().collect(),
            incremental: false,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        };
        let mut stream = match AdsStream::open(channel, &options, accepted).await {
            Ok(stream) => stream,
            Err(status) => return status.into(),
        };
        let mut answered = false;
        let mut unrequested = 0u64;
        loop {
            let response = match stream.next().await {
                Ok(Some(response)) => response,
                Ok(None) => return StreamEnd::Closed,
                Err(status) => return status.into(),
            };
            if !std::mem::replace(&mut answered, true) {
                up();
            }
            if !self.dial.routes.contains_key(&response.type_url) {
                // Not asked for: ignored, and counted in one report however
                // many there are.
                unrequested += 1;
                self.report_unrequested(unrequested, &response.type_url);
                continue;
            }
            let resources = self.unwrap(&response);
            let batch = mirror.apply(&response.type_url, &resources, &[], false);
            if send_all(events, batch).await.is_err() {
                return StreamEnd::PipelineGone;
            }
            accepted.insert(response.type_url.clone(), response.version.clone());
            if stream.ack(&response).await.is_err() {
                return StreamEnd::Closed;
            }
        }
    }

    /// Reports the `count`th response for a type this source did not ask
    /// for (the latest, `type_url`), in one problem, updated (and logged)
    /// at the first and every tenfold count.
    fn report_unrequested(&self, count: u64, type_url: &str) {
        if count != 10u64.pow(count.ilog10()) {
            return;
        }
        let problem = Problem::new(
            self.name(),
            format!(
                "{count} responses for types not asked for, ignored (the latest: {})",
                quote(type_url)
            ),
        );
        let scope = Scope::Source(format!("{} unrequested", self.name()));
        self.dial.diagnostics.set(&scope, vec![problem]);
    }

    /// A response's resources; entries that are not MCP resources are
    /// reported (the mirror keeps their last good versions).
    fn unwrap(&self, response: &AdsResponse) -> Vec<Resource> {
        let mut problems = Vec::new();
        let resources = response
            .resources
            .iter()
            .filter_map(|entry| {
                entry
                    .resource()
                    .inspect_err(|reason| {
                        problems.push(Problem::new(
                            format!("{} {}", self.name(), response.type_url),
                            format!("response {}: {reason}", response.nonce),
                        ));
                    })
                    .ok()
            })
            .collect();
        self.dial.diagnostics.set(
            &Scope::Source(format!("{} {} envelope", self.name(), response.type_url)),
            problems,
        );
        resources
    }
}

impl Source for XdsUpstream {
    fn name(&self) -> String {
        format!("xds {}", self.dial.address)
    }

    fn collections(&self) -> Vec<Collection> {
        self.dial.collections()
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let mut mirror = self.dial.mirror(self.name());
            let mut accepted = HashMap::new();
            let link = Arc::new(self.dial.link(self.name()));
            let mut retry = Retry::new(link, self.dial.backoff);
            loop {
                let mut up = || retry.up(&self.dial.address);
                let stream = self.stream(&mut mirror, &mut accepted, &events, &mut up);
                let ended = tokio::select! {
                    () = stop.cancelled() => return,
                    ended = stream => ended,
                };
                if matches!(ended, StreamEnd::PipelineGone) {
                    return;
                }
                if !retry
                    .failed(&self.dial.address, &ended, SERVED, &stop)
                    .await
                {
                    return;
                }
            }
        })
    }
}
