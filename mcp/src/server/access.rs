//! The access list: which client identities may open streams (Galley's
//! `--accessListFile`: the listed identities are allowed, or with
//! `isblacklist` denied). Checked when a stream opens, against the URI and
//! DNS SANs of the client's certificate; replaced whole when its file
//! changes: established streams of clients it still allows carry on, and
//! those of clients it no longer allows are ended ([`AccessList::revoked`]).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

/// Who the list names, and what naming means.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRule {
    /// The identities named.
    pub identities: BTreeSet<String>,
    /// Whether the named are denied (everyone else allowed) rather than
    /// allowed (everyone else denied).
    pub deny: bool,
}

impl AccessRule {
    /// Allows exactly `identities`.
    pub fn allowing(identities: impl IntoIterator<Item = String>) -> Self {
        Self {
            identities: identities.into_iter().collect(),
            deny: false,
        }
    }

    fn allows(&self, identities: &[String]) -> bool {
        let named = identities.iter().any(|id| self.identities.contains(id));
        named != self.deny
    }
}

/// The rule streams are checked against. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct AccessList {
    rule: watch::Sender<Arc<AccessRule>>,
}

impl AccessList {
    /// A list applying `rule`.
    pub fn new(rule: AccessRule) -> Self {
        Self {
            rule: watch::Sender::new(Arc::new(rule)),
        }
    }

    /// Applies `rule` from now on.
    pub fn replace(&self, rule: AccessRule) {
        self.rule.send_replace(Arc::new(rule));
    }

    /// Whether a client with `identities` may stream.
    pub fn allows(&self, identities: &[String]) -> bool {
        self.rule().allows(identities)
    }

    /// The rule in force.
    pub fn rule(&self) -> Arc<AccessRule> {
        self.rule.borrow().clone()
    }

    /// Resolves once the rule in force no longer allows `identities`
    /// (watching from this call on, so no replacement is missed).
    pub fn revoked(&self, identities: Arc<[String]>) -> impl Future<Output = ()> + Send + 'static {
        let mut changes = self.rule.subscribe();
        async move {
            loop {
                if !changes.borrow_and_update().allows(&identities) {
                    return;
                }
                if changes.changed().await.is_err() {
                    // The list is gone with the server: never.
                    return std::future::pending().await;
                }
            }
        }
    }
}

impl fmt::Debug for AccessList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rule().fmt(f)
    }
}

/// Why a client with `identities` was refused, for its status message.
pub(super) fn refusal(identities: &[String]) -> String {
    if identities.is_empty() {
        "no client certificate identity: this hub only serves clients on its access list".into()
    } else {
        format!(
            "client identity {} is not allowed by this hub's access list",
            identities.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_identity_of_the_client_may_match() {
        let istiod = "spiffe://cluster.local/ns/istio-system/sa/istiod";
        let list = AccessList::new(AccessRule::allowing([istiod.to_owned()]));
        let client = [
            "istiod.istio-system.svc".to_owned(),
            "spiffe://cluster.local/ns/istio-system/sa/istiod".to_owned(),
        ];
        assert!(list.allows(&client));
        assert!(!list.allows(&client[..1]));
        assert!(!list.allows(&[]));
        list.replace(AccessRule::allowing(["istiod.istio-system.svc".into()]));
        assert!(list.allows(&client[..1]));
    }

    #[tokio::test]
    async fn revoked_resolves_only_when_the_client_is_no_longer_allowed() {
        let client = ["spiffe://cluster.local/ns/istio-system/sa/istiod".to_owned()];
        let list = AccessList::new(AccessRule::allowing(client.clone()));
        let revoked = list.revoked(Arc::from(client.clone()));
        tokio::pin!(revoked);
        let other = "spiffe://cluster.local/ns/default/sa/other".to_owned();
        list.replace(AccessRule::allowing([client[0].clone(), other.clone()]));
        tokio::select! {
            () = &mut revoked => panic!("still allowed"),
            () = tokio::task::yield_now() => {}
        }
        list.replace(AccessRule::allowing([other]));
        tokio::time::timeout(std::time::Duration::from_secs(5), revoked)
            .await
            .expect("revoked once the list drops the client");
    }

    #[test]
    fn a_deny_list_allows_everyone_it_does_not_name() {
        let list = AccessList::new(AccessRule {
            deny: true,
            ..AccessRule::allowing(["spiffe://cluster.local/ns/default/sa/intruder".into()])
        });
        assert!(!list.allows(&["spiffe://cluster.local/ns/default/sa/intruder".into()]));
        assert!(list.allows(&["spiffe://cluster.local/ns/istio-system/sa/istiod".into()]));
        assert!(list.allows(&[]));
    }
}
