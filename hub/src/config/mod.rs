//! The hub configuration file (`galleon serve --config FILE`): sources,
//! user-declared kinds, snapshot groups and their strategies, mesh config,
//! and the MCP server's address. Unknown fields are errors, so a typo is
//! reported instead of silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod admission;
mod check;
mod mcp;
mod redact;

pub use admission::{AdmissionConfig, AdmissionTlsConfig};
pub use galleon_sources::config::{
    EtcdConfig, FilesConfig, KubernetesConfig, McpUpstreamConfig, SourceConfig, XdsUpstreamConfig,
};
pub use mcp::{CalloutConfig, McpConfig, McpTlsConfig, StreamRateConfig};

use galleon_mcp::cache::DEFAULT_GROUP;
use galleon_pipeline::Strategy;
use galleon_pipeline::registry::{KindConfig, MESH_CONFIG, Registry, Schema};
use galleon_plugin_host::PluginsConfig;
use galleon_schemas::UnknownFields;

/// The whole hub configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HubConfig {
    /// The MCP server.
    #[serde(default)]
    pub mcp: McpConfig,
    /// The admin HTTP server (probes, metrics, introspection).
    #[serde(default)]
    pub admin: AdminConfig,
    /// The validating admission webhook, when set.
    #[serde(default)]
    pub admission: Option<AdmissionConfig>,
    /// Where configuration comes from.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Istio mesh configuration file (Galley's defaults when absent).
    #[serde(default)]
    pub mesh_config: Option<PathBuf>,
    /// Cluster DNS suffix.
    #[serde(default = "default_domain")]
    pub domain: String,
    /// Kinds beyond Istio 1.5's built-in set (your CRDs).
    #[serde(default)]
    pub kinds: Vec<KindConfig>,
    /// Snapshot groups. Output collections no group lists go to `default`.
    #[serde(default = "default_groups")]
    pub groups: Vec<GroupConfig>,
    /// WebAssembly transformers and validators.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// How many published versions of each collection are kept (for
    /// `galleon diff` and `galleon rollback`).
    #[serde(default)]
    pub history: HistoryConfig,
    /// Your `.proto` schemas, for typed bodies.
    #[serde(default)]
    pub schemas: SchemasConfig,
    /// The file it was read from, if any (not a setting).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The settings as that file held them, before command-line flags
    /// (not a setting): a later read is compared with these.
    #[serde(skip)]
    pub as_read: Option<Arc<HubConfig>>,
}

/// Where bodies' protobuf messages come from. Collections whose message is
/// not found are served as `google.protobuf.Struct`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemasConfig {
    /// Include roots of `.proto` files, e.g. an istio/api checkout and its
    /// `common-protos`.
    #[serde(default)]
    pub proto_paths: Vec<PathBuf>,
    /// `FileDescriptorSet` files (`protoc --include_imports -o`, `buf build`).
    #[serde(default)]
    pub descriptor_sets: Vec<PathBuf>,
    /// CustomResourceDefinition files or directories (Istio's, Gateway
    /// API's, your own): every resource of a kind they define is validated
    /// as the Kubernetes API server would (schema and CEL rules).
    #[serde(default)]
    pub crds: Vec<PathBuf>,
    /// What a field the message does not have does: `warn` (dropped, with a
    /// warning) or `reject` (the resource is refused).
    #[serde(default)]
    pub unknown_fields: UnknownFields,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            mcp: McpConfig::default(),
            admin: AdminConfig::default(),
            admission: None,
            sources: Vec::new(),
            mesh_config: None,
            domain: default_domain(),
            kinds: Vec::new(),
            groups: default_groups(),
            plugins: PluginsConfig::default(),
            history: HistoryConfig::default(),
            schemas: SchemasConfig::default(),
            source: None,
            as_read: None,
        }
    }
}

/// The history of published versions.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryConfig {
    /// Versions kept per collection, the current one included (default
    /// 50; 0 keeps none, and rollback has nothing to go back to).
    #[serde(default = "default_history_versions")]
    pub versions: usize,
    /// Versions published longer ago than this are dropped (the current one
    /// is always kept); `null` (the default) keeps them by count only.
    #[serde(default, with = "humantime_serde")]
    pub max_age: Option<Duration>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            versions: default_history_versions(),
            max_age: None,
        }
    }
}

impl HistoryConfig {
    /// The cache's limits.
    pub fn limits(&self) -> galleon_mcp::cache::HistoryLimits {
        galleon_mcp::cache::HistoryLimits {
            versions: self.versions,
            max_age: self.max_age,
        }
    }
}

fn default_history_versions() -> usize {
    50
}

/// The admin HTTP server's settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    #[serde(default = "default_admin_address")]
    pub address: SocketAddr,
    /// Connections open at once; one more is closed at once (default 64).
    #[serde(default = "default_admin_connections")]
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, and
    /// may sit idle between requests (default 10s).
    #[serde(default = "default_admin_header_timeout", with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Host names requests may carry besides IP addresses and `localhost`
    /// (a name not listed is refused, so a web page cannot reach the admin
    /// server through a DNS name it re-points at this machine).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// HTTPS, and the client identities whose certificates may write
    /// (rollback, release, preview, promote, abort) when the admin server
    /// does not listen on loopback.
    #[serde(default)]
    pub tls: Option<AdminTlsConfig>,
}

/// The admin server's TLS (`admin.tls`). Every file is re-read when it
/// changes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminTlsConfig {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CAs (PEM) a client certificate must chain to. A client may connect
    /// without one (probes, reads); writes need one `writers` lists.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// The client identities (URI SANs such as SPIFFE IDs, or DNS SANs)
    /// whose verified certificates may write.
    #[serde(default)]
    pub writers: Vec<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            address: default_admin_address(),
            max_connections: default_admin_connections(),
            header_read_timeout: default_admin_header_timeout(),
            allowed_hosts: Vec::new(),
            tls: None,
        }
    }
}

fn default_admin_connections() -> usize {
    64
}

fn default_admin_header_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_admin_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9902))
}

/// Publishing strategy of a group, as written in the configuration.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum StrategyKind {
    /// On every change.
    Immediate,
    /// After changes settle.
    Debounce,
}

/// A snapshot group.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupConfig {
    /// Its name (what sinks' group index selects).
    pub name: String,
    /// When it publishes.
    pub strategy: StrategyKind,
    /// Debounce: longest wait after the first change (default 1s).
    #[serde(default, with = "humantime_serde")]
    pub max_delay: Option<Duration>,
    /// Debounce: quiet time that ends a burst (default 500ms).
    #[serde(default, with = "humantime_serde")]
    pub quiesce: Option<Duration>,
    /// Its output collections.
    #[serde(default)]
    pub collections: Vec<String>,
}

impl GroupConfig {
    /// The strategy with defaults filled in.
    pub fn strategy(&self) -> Strategy {
        match self.strategy {
            StrategyKind::Immediate => Strategy::Immediate,
            StrategyKind::Debounce => Strategy::Debounce {
                max_delay: self.max_delay.unwrap_or(Strategy::DEFAULT_MAX_DELAY),
                quiesce: self.quiesce.unwrap_or(Strategy::DEFAULT_QUIESCE),
            },
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not a valid configuration.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        reason: InvalidConfig,
    },
}

/// What is wrong with configuration YAML.
#[derive(Debug, thiserror::Error)]
pub enum InvalidConfig {
    /// Not YAML, or not the configuration's shape (an unknown key, a wrong
    /// type), with line and column.
    #[error("{0}")]
    Yaml(String),
    /// A source that cannot work as written.
    #[error("{0}")]
    Source(String),
    /// An `mcp:` setting that cannot work as written.
    #[error("{0}")]
    Mcp(String),
    /// A number or duration out of its range.
    #[error("{0}")]
    Range(String),
    /// A declared kind that would silently replace another.
    #[error("{0}")]
    Kind(String),
    /// `maxDelay` or `quiesce` on an immediate group.
    #[error("group {0:?}: maxDelay and quiesce apply to the debounce strategy only")]
    DebounceOnly(String),
}

impl HubConfig {
    /// Istio's kinds and the configured ones.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::builtin();
        for kind in &self.kinds {
            registry.add(Schema::from(kind));
        }
        registry
    }

    /// Reads a configuration file. Relative paths in it are relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|reason| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        })?;
        // Resolved from the absolute path, so a re-read (from `source`)
        // resolves them the same.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.source = Some(path);
        config.as_read = Some(Arc::new(config.clone()));
        Ok(config)
    }

    /// Parses configuration YAML.
    pub fn parse(text: &str) -> Result<Self, InvalidConfig> {
        let config: Self = serde_saphyr::from_str(text)
            .map_err(|e| InvalidConfig::Yaml(galleon_sources::yaml::first_line(&e.to_string())))?;
        for source in &config.sources {
            source.check().map_err(InvalidConfig::Source)?;
        }
        config.mcp.check().map_err(InvalidConfig::Mcp)?;
        check::ranges(&config).map_err(InvalidConfig::Range)?;
        check::kinds(&config.kinds).map_err(InvalidConfig::Kind)?;
        for group in &config.groups {
            if group.strategy == StrategyKind::Immediate
                && (group.max_delay.is_some() || group.quiesce.is_some())
            {
                return Err(InvalidConfig::DebounceOnly(group.name.clone()));
            }
        }
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for source in &mut self.sources {
            source.resolve_paths(&resolve);
        }
        self.mcp.resolve_paths(&resolve);
        if let Some(admission) = &mut self.admission {
            admission.resolve_paths(&resolve);
        }
        if let Some(mesh) = &mut self.mesh_config {
            resolve(mesh);
        }
        if let Some(cache) = &mut self.plugins.cache_dir {
            resolve(cache);
        }
        if let Some(dir) = &mut self.plugins.builtin_dir {
            resolve(dir);
        }
        for builtin in self.plugins.builtins.values_mut() {
            builtin.file.iter_mut().for_each(resolve);
        }
        if let Some(tls) = &mut self.admin.tls {
            [&mut tls.cert, &mut tls.key].into_iter().for_each(resolve);
            tls.client_ca.iter_mut().for_each(resolve);
        }
        for binding in &mut self.plugins.bindings {
            resolve(&mut binding.file);
            if let Some(canary) = &mut binding.canary {
                resolve(&mut canary.plugin);
            }
        }
        let schemas = &mut self.schemas;
        schemas.proto_paths.iter_mut().for_each(resolve);
        schemas.descriptor_sets.iter_mut().for_each(resolve);
        schemas.crds.iter_mut().for_each(resolve);
    }
}

fn default_domain() -> String {
    "cluster.local".into()
}

/// The collection of ServiceEntries synthesised from Services, Endpoints,
/// Pods and Nodes.
pub const SYNTHETIC_SERVICE_ENTRIES: &str = "istio/networking/v1alpha3/synthetic/serviceentries";

/// Galley 1.5's groups: `default` (debounce) and `syntheticServiceEntry`
/// (immediate).
pub fn default_groups() -> Vec<GroupConfig> {
    const DEFAULT_COLLECTIONS: &[&str] = &[
        "istio/authentication/v1alpha1/meshpolicies",
        "istio/authentication/v1alpha1/policies",
        "istio/config/v1alpha2/adapters",
        "istio/config/v1alpha2/httpapispecbindings",
        "istio/config/v1alpha2/httpapispecs",
        "istio/config/v1alpha2/templates",
        MESH_CONFIG,
        "istio/mixer/v1/config/client/quotaspecbindings",
        "istio/mixer/v1/config/client/quotaspecs",
        "istio/networking/v1alpha3/destinationrules",
        "istio/networking/v1alpha3/envoyfilters",
        "istio/networking/v1alpha3/gateways",
        "istio/networking/v1alpha3/serviceentries",
        "istio/networking/v1alpha3/sidecars",
        "istio/networking/v1alpha3/virtualservices",
        "istio/policy/v1beta1/attributemanifests",
        "istio/policy/v1beta1/handlers",
        "istio/policy/v1beta1/instances",
        "istio/policy/v1beta1/rules",
        "istio/rbac/v1alpha1/clusterrbacconfigs",
        "istio/rbac/v1alpha1/rbacconfigs",
        "istio/rbac/v1alpha1/servicerolebindings",
        "istio/rbac/v1alpha1/serviceroles",
        "istio/security/v1beta1/authorizationpolicies",
        "istio/security/v1beta1/peerauthentications",
        "istio/security/v1beta1/requestauthentications",
        "k8s/core/v1/namespaces",
        "k8s/core/v1/services",
    ];
    vec![
        GroupConfig {
            name: DEFAULT_GROUP.into(),
            strategy: StrategyKind::Debounce,
            max_delay: None,
            quiesce: None,
            collections: DEFAULT_COLLECTIONS.iter().map(|c| c.to_string()).collect(),
        },
        GroupConfig {
            name: "syntheticServiceEntry".into(),
            strategy: StrategyKind::Immediate,
            max_delay: None,
            quiesce: None,
            collections: vec![SYNTHETIC_SERVICE_ENTRIES.into()],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_configuration_parses() {
        let config = HubConfig::parse(
            r#"
mcp:
  address: 0.0.0.0:15010
  metadata: {cluster: east}
  callouts: [{address: "http://pilot:15010"}]
sources:
  - files: {paths: [conf, /etc/extra], maxFileSize: 1048576}
meshConfig: mesh.yaml
domain: corp.local
kinds:
  - {apiVersion: example.com/v1, kind: Widget, plural: widgets, output: example/v1/widgets}
groups:
  - {name: default, strategy: debounce, maxDelay: 2s, quiesce: 100ms}
  - {name: fast, strategy: immediate, collections: [example/v1/widgets]}
"#,
        )
        .unwrap();
        assert_eq!(config.mcp.address.port(), 15010);
        assert_eq!(config.domain, "corp.local");
        assert_eq!(
            config.groups[0].strategy(),
            Strategy::Debounce {
                max_delay: Duration::from_secs(2),
                quiesce: Duration::from_millis(100)
            }
        );
        assert_eq!(config.groups[1].strategy(), Strategy::Immediate);
        let SourceConfig::Files(files) = &config.sources[0] else {
            panic!("a file source: {:?}", config.sources[0]);
        };
        assert_eq!(files.max_file_size, 1 << 20);
    }

    #[test]
    fn every_relative_path_resolves_against_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("galleon.yaml");
        let yaml = "mcp:\n  tls: {cert: tls/a.crt, key: tls/a.key, clientCa: tls/ca.crt, accessList: tls/list.yaml}\n  callouts: [{address: \"https://sink:1\", tls: {ca: tls/sink-ca.crt}}]\n";
        std::fs::write(&file, yaml).unwrap();
        let config = HubConfig::load(&file).unwrap();
        let tls = config.mcp.tls.unwrap();
        let tls_dir = dir.path().join("tls");
        assert_eq!(tls.cert, tls_dir.join("a.crt"));
        assert_eq!(tls.key, tls_dir.join("a.key"));
        assert_eq!(tls.client_ca, Some(tls_dir.join("ca.crt")));
        assert_eq!(tls.access_list, Some(tls_dir.join("list.yaml")));
        let callout = config.mcp.callouts[0].tls.clone().unwrap();
        assert_eq!(callout.ca, Some(tls_dir.join("sink-ca.crt")));
    }

    #[test]
    fn typos_and_misplaced_settings_are_errors() {
        let typo = HubConfig::parse("domian: x\n").unwrap_err().to_string();
        assert!(typo.contains("domian"), "{typo}");
        let misplaced = HubConfig::parse("groups: [{name: g, strategy: immediate, quiesce: 1s}]\n")
            .unwrap_err()
            .to_string();
        assert!(misplaced.contains("debounce strategy only"), "{misplaced}");
    }

    #[test]
    fn defaults_are_galleys() {
        let config = HubConfig::parse("{}").unwrap();
        assert_eq!(config.mcp.address, McpConfig::default().address);
        assert_eq!(config.groups[0].strategy(), Strategy::debounce());
        assert_eq!(config.groups[1].collections, [SYNTHETIC_SERVICE_ENTRIES]);
    }
}
