//! The configuration as `/debug/config` (and the status page) shows it:
//! metadata values not marked public and URL passwords replaced by
//! `<redacted>`, since they may hold bearer tokens, API keys and
//! credentials.

use std::collections::BTreeMap;

use galleon_mcp::redact::{REDACTED, url};

use super::{HubConfig, SourceConfig};

impl HubConfig {
    /// This configuration with its secrets replaced by `<redacted>`.
    pub fn redacted(&self) -> Self {
        let mut shown = self.clone();
        let mcp = &mut shown.mcp;
        hide_values(&mut mcp.metadata, &mcp.public_metadata);
        for callout in &mut mcp.callouts {
            callout.address = url(&callout.address);
            hide_values(&mut callout.metadata, &callout.public_metadata);
        }
        for source in &mut shown.sources {
            match source {
                SourceConfig::Etcd(etcd) => {
                    etcd.endpoints.iter_mut().for_each(|e| *e = url(e));
                }
                SourceConfig::Mcp(upstream) => upstream.address = url(&upstream.address),
                SourceConfig::Xds(upstream) => upstream.address = url(&upstream.address),
                SourceConfig::Files(_) | SourceConfig::Kubernetes(_) => {}
            }
        }
        shown
    }
}

/// Replaces every value of `metadata` whose key is not in `public`.
fn hide_values(metadata: &mut BTreeMap<String, String>, public: &[String]) {
    for (key, value) in metadata.iter_mut() {
        if !public.contains(key) {
            *value = REDACTED.to_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_passwords_are_hidden_and_public_values_shown() {
        let config = HubConfig::parse(
            "mcp:\n  metadata: {authorization: Bearer s3cret, team: mesh}\n  publicMetadata: [team]\n  callouts: [{address: \"http://u:pw@pilot:15010\", metadata: {x-api-key: k3y}}]\nsources: [{etcd: {endpoints: [\"http://root:hunter2@etcd:2379\"]}}, {mcp: {address: \"https://a:b@up:9901\", collections: [istio/networking/v1alpha3/virtualservices]}}]\n",
        )
        .unwrap();
        let shown = serde_json::to_string(&config.redacted()).unwrap();
        for secret in ["s3cret", "pw@", "k3y", "hunter2", ":b@"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("\"team\":\"mesh\""), "{shown}");
        assert!(
            shown.contains("http://root:<redacted>@etcd:2379"),
            "{shown}"
        );
    }
}
