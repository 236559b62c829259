//! The access list: which client identities may open streams (Galley's
//! `--accessListFile`). Checked when a stream opens, against the URI and
//! DNS SANs of the client's certificate; replaced whole when its file
//! changes, so established streams of clients still on it carry on.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// The identities allowed to stream. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct AccessList {
    allowed: Arc<RwLock<Arc<BTreeSet<String>>>>,
}

impl AccessList {
    /// A list allowing exactly `identities`.
    pub fn new(identities: impl IntoIterator<Item = String>) -> Self {
        let list = Self::default();
        list.replace(identities);
        list
    }

    /// Allows exactly `identities` from now on.
    pub fn replace(&self, identities: impl IntoIterator<Item = String>) {
        let allowed = Arc::new(identities.into_iter().collect());
        *self.allowed.write().unwrap_or_else(PoisonError::into_inner) = allowed;
    }

    /// Whether any of a client's `identities` is allowed.
    pub fn allows(&self, identities: &[String]) -> bool {
        let allowed = self.allowed.read().unwrap_or_else(PoisonError::into_inner);
        identities.iter().any(|id| allowed.contains(id))
    }

    /// The allowed identities, in order.
    pub fn identities(&self) -> Vec<String> {
        let allowed = self.allowed.read().unwrap_or_else(PoisonError::into_inner);
        allowed.iter().cloned().collect()
    }
}

impl fmt::Debug for AccessList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.identities()).finish()
    }
}

/// Why a client with `identities` was refused, for its status message.
pub(super) fn refusal(identities: &[String]) -> String {
    if identities.is_empty() {
        "no client certificate identity: this hub only serves clients on its access list".into()
    } else {
        format!(
            "client identity {} is not on this hub's access list",
            identities.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_identity_of_the_client_may_match() {
        let list = AccessList::new(["spiffe://cluster.local/ns/istio-system/sa/istiod".into()]);
        let client = [
            "istiod.istio-system.svc".to_owned(),
            "spiffe://cluster.local/ns/istio-system/sa/istiod".to_owned(),
        ];
        assert!(list.allows(&client));
        assert!(!list.allows(&client[..1]));
        assert!(!list.allows(&[]));
        list.replace(["istiod.istio-system.svc".into()]);
        assert!(list.allows(&client[..1]));
    }
}
