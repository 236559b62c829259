//! MCP (`istio.mcp.v1alpha1`) on the session engine: a request names one
//! collection; an empty nonce subscribes (full state, or incremental with
//! the versions it resumes from), any other answers the pending push. A
//! collection this hub does not serve ends the stream with
//! `InvalidArgument`. Pushes are full state, or for an incremental sink a
//! delta against what it holds ([`super::subscription`]).

use std::collections::HashMap;
use std::sync::Arc;

use galleon_proto::mcp::RequestResources;
use tonic::Status;

use super::XdsType;
use super::session::{Node, Outgoing, Pending, Protocol, Session};
use super::subscription::Subscription;
use crate::cache::CollectionSnapshot;
use crate::quote::{did_you_mean, quote};

/// MCP's part of a stream.
#[derive(Default)]
pub(crate) struct Mcp {
    subscriptions: HashMap<String, Subscription>,
}

impl Protocol for Mcp {
    type Request = RequestResources;

    const NAME: &'static str = "mcp";

    /// `initial_resource_versions`.
    const NAMED_FIELDS: &'static [u32] = &[3];

    fn node(request: &RequestResources) -> Option<Node> {
        request.sink_node.as_ref().map(|node| Node {
            id: node.id.clone(),
            annotations: node.annotations.clone().into_iter().collect(),
            revision: None,
        })
    }

    fn on_request(
        &mut self,
        request: RequestResources,
        session: &mut Session,
    ) -> Result<(), Status> {
        let collection = request.collection.as_str();
        if !session.shared.options.collections.contains(collection) {
            let served = &session.shared.options.collections;
            return Err(Status::invalid_argument(format!(
                "unknown collection {}: this hub serves {} collections{}",
                quote(collection),
                served.len(),
                did_you_mean(collection, served.iter().map(String::as_str)),
            )));
        }
        if request.response_nonce.is_empty() {
            return self.subscribe(request, session);
        }
        let Some(subscription) = self.subscriptions.get_mut(collection) else {
            session.answer(
                collection,
                &mut None::<Pending<()>>,
                &request.response_nonce,
                None,
            );
            return Ok(());
        };
        subscription.incremental = request.incremental;
        let acked = request.error_detail.is_none();
        let answered = session.answer(
            collection,
            &mut subscription.pending,
            &request.response_nonce,
            request.error_detail,
        );
        if let Some(answered) = answered {
            subscription.answered(answered, acked);
            let known = subscription.answered.clone();
            session.arm(collection, &subscription.route, known);
        }
        Ok(())
    }

    fn on_change(
        &mut self,
        collection: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Outgoing> {
        let subscription = self.subscriptions.get_mut(collection)?;
        let push = subscription.push(&state, session.nonce());
        let nonce = push.header.nonce.clone();
        let pending = &mut subscription.pending;
        session.pushed(collection, pending, nonce, (Some(state), ()), push.len());
        Some(Outgoing::Push(Box::new(push)))
    }
}

impl Mcp {
    fn subscribe(
        &mut self,
        request: RequestResources,
        session: &mut Session,
    ) -> Result<(), Status> {
        let collection = request.collection;
        if let Some(existing) = self.subscriptions.get(&collection)
            && existing.incremental == request.incremental
        {
            // Asking again buys nothing: the sink gets the collection when
            // it differs from what it has, as before.
            session.repeated(&collection);
            return Ok(());
        }
        let target = XdsType {
            collection: collection.clone(),
            bare: false,
        };
        let route = session.route(&collection, Some(target), request.incremental)?;
        let subscription = Subscription::new(
            route,
            request.incremental,
            request.initial_resource_versions,
        );
        session.arm(&collection, &subscription.route, None);
        self.subscriptions.insert(collection, subscription);
        Ok(())
    }
}
