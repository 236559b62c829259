//! State-of-the-world xDS (`StreamAggregatedResources`): per type URL, the
//! full set of resources the sink may see (the names it asked for, or all),
//! one response in flight, ACK and NACK by nonce, a NACKed version never
//! re-sent, changes coalesced to the latest. A request with a stale nonce
//! changes nothing. A type the hub does not serve gets an empty response at
//! once, so a client that waits for every type it asked for (istiod) syncs.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use galleon_proto::rpc;
use galleon_proto::xds::{DiscoveryRequest, DiscoveryResponse, Node};

use super::flavour::{Answer, Change, Common, Flavour, Response};
use crate::cache::CollectionSnapshot;
use crate::server::XdsType;
use crate::server::push::grpc_frame;
use crate::server::session::{Pending, Session};

/// The state-of-the-world flavour.
#[derive(Default)]
pub(in crate::server) struct Sotw;

/// Requested names; empty: every resource.
pub(in crate::server) struct Names(BTreeSet<String>);

/// The names a request asks for (`*` is every name).
fn names(request: DiscoveryRequest) -> Names {
    Names(
        request
            .resource_names
            .into_iter()
            .filter(|name| name != "*")
            .collect(),
    )
}

impl Flavour for Sotw {
    type Request = DiscoveryRequest;
    type Subscription = Names;
    type Extra = ();
    type Response = DiscoveryResponse;

    const NAME: &'static str = "xds-sotw";
    /// `resource_names`.
    const NAMED_FIELDS: &'static [u32] = &[3];
    const INCREMENTAL: bool = false;

    fn node(request: &DiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn parts(request: &mut DiscoveryRequest) -> (String, String, Option<rpc::Status>) {
        let type_url = std::mem::take(&mut request.type_url);
        let nonce = std::mem::take(&mut request.response_nonce);
        (type_url, nonce, request.error_detail.take())
    }

    fn open(request: DiscoveryRequest) -> Names {
        names(request)
    }

    fn names(subscription: &Names) -> usize {
        subscription.0.len()
    }

    fn change(asked: &mut Names, request: DiscoveryRequest, answer: &Answer) -> Change {
        let now = names(request);
        match answer {
            // A stale answer is ignored whole.
            Answer::Stale => Change::Nothing,
            // Only a change of names matters (the sink gets the rest when
            // it changes, as before).
            Answer::None if now.0 == asked.0 => Change::Repeated,
            Answer::Pending if now.0 == asked.0 => Change::Nothing,
            Answer::None | Answer::Pending => {
                *asked = now;
                Change::New
            }
        }
    }

    fn answered(_: &mut Names, _: Pending<()>, _: bool) {}

    fn respond(
        asked: &mut Names,
        common: &Common<()>,
        type_url: &str,
        state: &CollectionSnapshot,
        nonce: &str,
        session: &Session,
    ) -> Response<()> {
        let Some(target) = &common.route.target else {
            return Response::Unchanged;
        };
        let (entries, resources) = entries(state, target, &asked.0, session);
        let header = DiscoveryResponse {
            version_info: state.version().to_string(),
            resources: Vec::new(),
            type_url: type_url.to_owned(),
            nonce: nonce.to_owned(),
        };
        Response::Send {
            frame: grpc_frame(&header, entries),
            resources,
            extra: (),
        }
    }

    fn empty(
        type_url: &str,
        nonce: &str,
    ) -> (DiscoveryResponse, Option<Arc<CollectionSnapshot>>, ()) {
        let empty = Arc::new(CollectionSnapshot::empty(""));
        let response = DiscoveryResponse {
            version_info: empty.version().to_string(),
            resources: Vec::new(),
            type_url: type_url.to_owned(),
            nonce: nonce.to_owned(),
        };
        (response, Some(empty), ())
    }
}

/// The entries of a full-state response and the number of resources they
/// hold: the snapshot's shared buffer when the sink sees everything, else
/// each visible resource's own bytes.
fn entries(
    state: &CollectionSnapshot,
    target: &XdsType,
    names: &BTreeSet<String>,
    session: &Session,
) -> (Vec<Bytes>, usize) {
    if !target.bare && names.is_empty() && !state.is_revisioned() {
        let entries = if state.is_empty() {
            Vec::new()
        } else {
            vec![state.xds_entries().clone()]
        };
        return (entries, state.len());
    }
    let entries: Vec<Bytes> = state
        .resources()
        .filter(|r| session.visible(r) && (names.is_empty() || names.contains(&**r.name())))
        .map(|r| {
            if target.bare {
                r.xds_bare_entry().clone()
            } else {
                r.xds_entry().clone()
            }
        })
        .collect();
    let count = entries.len();
    (entries, count)
}
