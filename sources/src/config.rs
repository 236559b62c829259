//! The `sources:` section: where configuration comes from. Each entry is
//! one source: files, an etcd prefix, or an upstream hub over MCP or MCP
//! over xDS.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::file::DEFAULT_MAX_FILE_SIZE;
use galleon_mcp::tls::ClientTls;

/// A source of configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum SourceConfig {
    /// YAML/JSON files.
    Files(FilesConfig),
    /// Keys under a prefix in etcd, each holding what a file would.
    Etcd(EtcdConfig),
    /// Objects of every known kind in a Kubernetes API server.
    Kubernetes(KubernetesConfig),
    /// Another hub's collections, over MCP (`ResourceSource`).
    Mcp(McpUpstreamConfig),
    /// Another hub's types, over MCP over xDS (Envoy's ADS).
    Xds(XdsUpstreamConfig),
}

impl SourceConfig {
    /// Makes its relative paths relative to the configuration file.
    pub fn resolve_paths(&mut self, resolve: &impl Fn(&mut PathBuf)) {
        let tls = match self {
            Self::Files(files) => {
                files.paths.iter_mut().for_each(resolve);
                return;
            }
            Self::Etcd(_) => return,
            Self::Kubernetes(kubernetes) => {
                kubernetes.kubeconfig.iter_mut().for_each(resolve);
                return;
            }
            Self::Mcp(upstream) => upstream.tls.as_mut(),
            Self::Xds(upstream) => upstream.tls.as_mut(),
        };
        if let Some(tls) = tls {
            tls.paths_mut().for_each(resolve);
        }
    }

    /// What makes it unusable as written, if anything.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Files(_) | Self::Kubernetes(_) => Ok(()),
            Self::Etcd(etcd) => {
                if etcd.endpoints.is_empty() {
                    return Err("etcd source: endpoints is empty".into());
                }
                etcd.endpoints
                    .iter()
                    .try_for_each(|endpoint| check_address("etcd endpoint", endpoint))
            }
            Self::Mcp(upstream) => {
                check_tls(&upstream.address, upstream.tls.as_ref())?;
                if upstream.collections.is_empty() {
                    return Err(format!(
                        "mcp source {}: collections is empty",
                        upstream.address
                    ));
                }
                check_address("mcp source", &upstream.address)
            }
            Self::Xds(upstream) => {
                check_tls(&upstream.address, upstream.tls.as_ref())?;
                if upstream.types.is_empty() {
                    return Err(format!("xds source {}: types is empty", upstream.address));
                }
                check_address("xds source", &upstream.address)
            }
        }
    }
}

/// A dialled connection's TLS, if any, must be usable as written.
fn check_tls(address: &str, tls: Option<&ClientTls>) -> Result<(), String> {
    tls.map_or(Ok(()), |tls| {
        tls.check().map_err(|e| format!("{address}: {e}"))
    })
}

/// An address the hub dials must be an `http://` or `https://` URI.
fn check_address(what: &str, address: &str) -> Result<(), String> {
    let uri: http::Uri = address
        .parse()
        .map_err(|e| format!("{what} {address:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(()),
        _ => Err(format!(
            "{what} {address:?}: expected http://host:port or https://host:port"
        )),
    }
}

/// A file source.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilesConfig {
    /// Directories (walked recursively) or single files.
    pub paths: Vec<PathBuf>,
    /// Larger files are refused (their previous content stays served).
    #[serde(default = "default_max_file_size")]
    pub max_file_size: u64,
    /// Reload on file-system notifications (otherwise only on SIGHUP/SIGUSR1).
    #[serde(default = "yes")]
    pub watch: bool,
    /// Whether a path may be missing at start (it is served once it
    /// appears); otherwise a missing path stops the hub from starting.
    #[serde(default)]
    pub optional: bool,
    /// Follow symbolic links that lead out of the paths (refused and
    /// reported by default).
    #[serde(default)]
    pub follow_external_symlinks: bool,
}

impl FilesConfig {
    /// A file source over `paths` with default limits.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self {
            paths,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            watch: true,
            optional: false,
            follow_external_symlinks: false,
        }
    }
}

/// An etcd source.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdConfig {
    /// The cluster's client URLs, e.g. `http://127.0.0.1:2379` (tried in
    /// turn when one is unreachable).
    pub endpoints: Vec<String>,
    /// Every key under it is read (e.g. `/galleon/`); empty reads them all.
    #[serde(default)]
    pub prefix: String,
    /// Larger values are refused, as files over `maxFileSize` are (their
    /// previous content stays served).
    #[serde(default = "default_max_file_size")]
    pub max_value_size: u64,
}

/// A Kubernetes source.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesConfig {
    /// A kubeconfig file; without one, the in-cluster configuration (or
    /// `KUBECONFIG`, `~/.kube/config`).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces to read namespaced kinds from; all when empty.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Only objects matching this label selector (`app=reviews,tier!=db`).
    #[serde(default)]
    pub label_selector: Option<String>,
}

/// An upstream hub served over MCP.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpUpstreamConfig {
    /// e.g. `http://galleon.config:9901`.
    pub address: String,
    /// The upstream's collections to subscribe to (output collections such
    /// as `istio/networking/v1alpha3/virtualservices`).
    pub collections: Vec<String>,
    /// The node id presented upstream.
    #[serde(default = "default_node_id")]
    pub node_id: String,
    /// TLS to dial with (an `https://` address).
    #[serde(default)]
    pub tls: Option<ClientTls>,
    /// Larger resource bodies are refused, as files over `maxFileSize`
    /// are (their last good version stays served).
    #[serde(default = "default_max_file_size")]
    pub max_resource_size: u64,
}

/// An upstream hub served over MCP over xDS.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct XdsUpstreamConfig {
    /// e.g. `http://nacos.config:18848`.
    pub address: String,
    /// The type URLs to subscribe to (`networking.istio.io/v1alpha3/VirtualService`).
    pub types: Vec<String>,
    /// The node id presented upstream.
    #[serde(default = "default_node_id")]
    pub node_id: String,
    /// TLS to dial with (an `https://` address).
    #[serde(default)]
    pub tls: Option<ClientTls>,
    /// Larger resource bodies are refused, as files over `maxFileSize`
    /// are (their last good version stays served).
    #[serde(default = "default_max_file_size")]
    pub max_resource_size: u64,
}

fn default_node_id() -> String {
    "galleon".into()
}

fn default_max_file_size() -> u64 {
    DEFAULT_MAX_FILE_SIZE
}

fn yes() -> bool {
    true
}
