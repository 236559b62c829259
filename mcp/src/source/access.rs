//! The access list: which client identities may open streams (Galley's
//! `--accessListFile`: the listed identities are allowed, or with
//! `isblacklist` denied). Checked when a stream opens, against the URI and
//! DNS SANs of the client's certificate; replaced whole when its file
//! changes, so established streams of clients it still allows carry on.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

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
#[derive(Clone, Default)]
pub struct AccessList {
    rule: Arc<RwLock<Arc<AccessRule>>>,
}

impl AccessList {
    /// A list applying `rule`.
    pub fn new(rule: AccessRule) -> Self {
        let list = Self::default();
        list.replace(rule);
        list
    }

    /// Applies `rule` from now on.
    pub fn replace(&self, rule: AccessRule) {
        *self.rule.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rule);
    }

    /// Whether a client with `identities` may stream.
    pub fn allows(&self, identities: &[String]) -> bool {
        self.rule().allows(identities)
    }

    /// The rule in force.
    pub fn rule(&self) -> Arc<AccessRule> {
        self.rule
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
