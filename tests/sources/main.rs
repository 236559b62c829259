//! Sources beyond files, against the real thing where it can run here: an
//! etcd started by the tests (Debian's `etcd-server`), a fake Kubernetes API
//! server (see `kube_api`; none can run here), and another galleon upstream
//! over MCP and over MCP over xDS.
mod etcd;
mod kubernetes;
mod upstream;

use galleon_tests::bodies;

/// The host of each VirtualService in a push, by name.
fn hosts(push: &galleon_proto::mcp::Resources) -> Vec<(String, String)> {
    bodies(push)
        .into_iter()
        .map(|(name, body)| {
            (
                name,
                body["hosts"][0].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
