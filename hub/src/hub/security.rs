//! Who may reach the MCP port: TLS and the access list from `mcp.tls`,
//! the refusal to serve plaintext beyond loopback without `mcp.insecure`,
//! and the watch that re-reads the certificate, key, CA and access list
//! when their files change (a bad new file is reported and the one in use
//! stays).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use galleon_mcp::server::{AccessList, AccessRule};
use galleon_mcp::tls::{ServerTls, ServerTlsFiles, TlsError};

use crate::config::{McpConfig, McpTlsConfig};

/// The access-list file, as Galley read it: `allowed: [identity, …]`, and
/// with `isblacklist: true` the listed are denied instead.
/// The access-list file. `allowed` must be there: a file emptied or cut
/// short by a write caught half-way would otherwise read as "nobody", so
/// refusing everyone takes an explicit `allowed: []`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessListFile {
    allowed: Option<Vec<String>>,
    #[serde(default)]
    isblacklist: bool,
}

/// Why the MCP port's security could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A certificate, key or CA file is unusable.
    #[error("mcp.tls: {0}")]
    Tls(#[from] TlsError),
    /// The access-list file is unusable.
    #[error("mcp.tls.accessList {}: {reason}", .path.display())]
    AccessList {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An access list without a client CA would refuse everyone.
    #[error(
        "mcp.tls.accessList needs mcp.tls.clientCa: clients without a verified certificate have no identity"
    )]
    AccessListWithoutCa,
    /// Plaintext on an address others can reach.
    #[error(
        "refusing to serve plaintext on {0}: anyone who reaches it reads all configuration; \
         set mcp.tls, or mcp.insecure: true to serve without TLS"
    )]
    Plaintext(SocketAddr),
}

/// The MCP port's TLS and access list, as configured.
#[derive(Clone, Default)]
pub(super) struct Security {
    pub(super) tls: Option<ServerTls>,
    pub(super) access: Option<AccessList>,
    access_file: Option<PathBuf>,
}

impl Security {
    /// Reads `mcp.tls`, and refuses plaintext beyond loopback unless
    /// `mcp.insecure`.
    pub(super) fn load(mcp: &McpConfig) -> Result<Self, SecurityError> {
        let Some(config) = &mcp.tls else {
            if !mcp.address.ip().is_loopback() {
                if !mcp.insecure {
                    return Err(SecurityError::Plaintext(mcp.address));
                }
                warn!(address = %mcp.address, "serving plaintext beyond loopback (mcp.insecure): anyone who reaches this port reads all configuration");
            }
            return Ok(Self::default());
        };
        Self::load_tls(config)
    }

    fn load_tls(config: &McpTlsConfig) -> Result<Self, SecurityError> {
        if config.access_list.is_some() && config.client_ca.is_none() {
            return Err(SecurityError::AccessListWithoutCa);
        }
        let tls = ServerTls::load(ServerTlsFiles {
            cert: config.cert.clone(),
            key: config.key.clone(),
            client_ca: config.client_ca.clone(),
        })?;
        let access = match &config.access_list {
            Some(path) => Some(AccessList::new(read_access_list(path)?)),
            None => None,
        };
        info!(
            mutual = tls.is_mutual(),
            access_list = access.is_some(),
            "MCP port uses TLS"
        );
        Ok(Self {
            tls: Some(tls),
            access,
            access_file: config.access_list.clone(),
        })
    }

    /// A server certificate without a client CA or access list (the
    /// admission webhook's).
    pub(super) fn tls_only(tls: ServerTls) -> Self {
        Self {
            tls: Some(tls),
            ..Self::default()
        }
    }

    /// Re-reads the files when their content changes, until `stop`; `port`
    /// names what they secure in logs. Their directories are watched, not
    /// the paths: a Kubernetes Secret volume swaps a `..data` link, and the
    /// files change under their names.
    pub(super) async fn watch(self, port: &'static str, stop: CancellationToken) {
        let Some(tls) = self.tls else { return };
        let tls_files: Vec<PathBuf> = tls.files().paths().cloned().collect();
        let access_file: Vec<PathBuf> = self.access_file.iter().cloned().collect();
        let watched: Vec<PathBuf> = tls_files.iter().chain(&access_file).cloned().collect();
        let mut watcher = galleon_fs_watch::watch_or_warn(&watched, "the TLS files");
        let (mut tls_now, mut access_now) = (read_all(&tls_files), read_all(&access_file));
        // Files replaced after they were read and before the watch began
        // (a renewal at start) would wait for the next change.
        if tls.changed_since_read() {
            reload_tls(&tls, port);
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = galleon_fs_watch::next_change(&mut watcher) => {}
            }
            let tls_read = read_all(&tls_files);
            if tls_read != tls_now {
                tls_now = tls_read;
                reload_tls(&tls, port);
            }
            let access_read = read_all(&access_file);
            if access_read != access_now {
                access_now = access_read;
                if let (Some(list), Some(path)) = (&self.access, &self.access_file) {
                    reload_access_list(list, path);
                }
            }
        }
    }
}

/// What `paths` hold now (`None` for one that cannot be read).
fn read_all(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|path| std::fs::read(path).ok()).collect()
}

/// Re-reads the certificate, key and CA, keeping what is in use if they
/// do not load.
fn reload_tls(tls: &ServerTls, port: &str) {
    match tls.reload() {
        Ok(()) if tls.is_mutual() => info!("reloaded the {port}'s certificate, key and client CA"),
        Ok(()) => info!("reloaded the {port}'s certificate and key"),
        Err(error) => warn!("{port}: keeping the TLS set-up in use: {error}"),
    }
}

/// Re-reads the access list, keeping the one in use if it does not load.
fn reload_access_list(list: &AccessList, path: &Path) {
    match read_access_list(path) {
        Ok(rule) => {
            info!(
                identities = rule.identities.len(),
                deny = rule.deny,
                "reloaded the access list"
            );
            list.replace(rule);
        }
        Err(error) => warn!("keeping the access list in use: {error}"),
    }
}

fn read_access_list(path: &Path) -> Result<AccessRule, SecurityError> {
    let bad = |reason: String| SecurityError::AccessList {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let empty = || bad("is empty; write `allowed: []` to refuse every client".into());
    if text.trim().is_empty() {
        return Err(empty());
    }
    let file: AccessListFile = serde_saphyr::from_str(&text)
        .map_err(|e| bad(galleon_sources::yaml::first_line(&e.to_string())))?;
    let allowed = file.allowed.ok_or_else(empty)?;
    Ok(AccessRule {
        identities: allowed.into_iter().collect(),
        deny: file.isblacklist,
    })
}
