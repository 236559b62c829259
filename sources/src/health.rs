//! Every source's health as the hub reports it (`/debug/sources`, the
//! status page, `galleon status`): for each link a source keeps (an etcd
//! cluster, an upstream hub, a Kubernetes API server's watch of one kind,
//! a file source's roots), whether it is up, since when, and while it is
//! down, why and what stays served. Sources write it; the admin server
//! reads it. Cheap to clone; clones share the map.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use galleon_mcp::quote::escaped;
use serde::{Deserialize, Serialize};

/// The longest error text kept.
const ERROR_MAX: usize = 1_000;

/// Every link's health, by link name.
#[derive(Clone, Debug, Default)]
pub struct SourceHealth {
    links: Arc<Mutex<BTreeMap<String, LinkHealth>>>,
}

/// One link's health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkHealth {
    /// The source it belongs to.
    pub source: String,
    /// The link (the source itself, or one of its parts: a kind's watch).
    pub link: String,
    /// Where it stands.
    pub state: LinkState,
    /// Since when (RFC 3339).
    pub since: String,
    /// The endpoint last tried, when it dials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Why it is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What stays served while it is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<String>,
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkState {
    /// Not up yet.
    Connecting,
    /// Working.
    Up,
    /// Failing; the last good state stays served.
    Down,
}

impl SourceHealth {
    /// `link` of `source` is starting.
    pub fn connecting(&self, source: &str, link: &str) {
        self.set(source, link, LinkState::Connecting, None, None, None);
    }

    /// `link` of `source` works (via `endpoint`, if it dials).
    pub fn up(&self, source: &str, link: &str, endpoint: Option<&str>) {
        self.set(source, link, LinkState::Up, endpoint, None, None);
    }

    /// `link` of `source` fails with `error`; `served` stays served.
    /// Returns how many other links of `source` are down with the same
    /// error (one outage of a Kubernetes API server downs a link per kind:
    /// the first is worth a warning, the rest are echoes of it).
    pub fn down(
        &self,
        source: &str,
        link: &str,
        endpoint: Option<&str>,
        error: &str,
        served: &str,
    ) -> usize {
        let error = escaped(error, ERROR_MAX);
        let echoes = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|l| {
                l.source == source
                    && l.link != link
                    && l.state == LinkState::Down
                    && l.error.as_deref() == Some(error.as_str())
            })
            .count();
        self.set(
            source,
            link,
            LinkState::Down,
            endpoint,
            Some(error),
            Some(served.to_owned()),
        );
        echoes
    }

    fn set(
        &self,
        source: &str,
        link: &str,
        state: LinkState,
        endpoint: Option<&str>,
        error: Option<String>,
        served: Option<String>,
    ) {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let since = match links.get(link) {
            Some(current) if current.state == state => current.since.clone(),
            _ => humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        };
        links.insert(
            link.to_owned(),
            LinkHealth {
                source: source.to_owned(),
                link: link.to_owned(),
                state,
                since,
                endpoint: endpoint.map(str::to_owned),
                error,
                served,
            },
        );
    }

    /// Every link, by name.
    pub fn links(&self) -> Vec<LinkHealth> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_keeps_its_since_until_it_changes() {
        let health = SourceHealth::default();
        health.connecting("etcd a", "etcd a");
        health.down(
            "etcd a",
            "etcd a",
            Some("http://e:2379"),
            "refused\nforged",
            "nothing read yet",
        );
        let down = health.links().remove(0);
        assert_eq!(
            (down.state, down.error.as_deref()),
            (LinkState::Down, Some("refused\\nforged"))
        );
        health.down(
            "etcd a",
            "etcd a",
            Some("http://e:2379"),
            "refused again",
            "nothing read yet",
        );
        assert_eq!(health.links()[0].since, down.since);
        health.up("etcd a", "etcd a", Some("http://e:2379"));
        assert_eq!(health.links()[0].state, LinkState::Up);
        assert_eq!(health.links()[0].error, None);
    }
}
