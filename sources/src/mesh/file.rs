//! The mesh configuration file: read, parsed and laid over Galley's
//! defaults. What the pipeline is configured with ([`MeshSettings`]) and the
//! defaults themselves live in `galleon-pipeline`.

use std::path::Path;

use galleon_proto::json::json_kind as kind_of;
use serde_json::Value;

use crate::yaml::first_line;

pub use galleon_pipeline::mesh::{MESH_CONFIG_NAME, MeshSettings, defaults};

/// Why a mesh configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MeshConfigError {
    /// The file does not exist.
    #[error("{path} does not exist")]
    Missing {
        /// The file.
        path: String,
    },
    /// Reading failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not a YAML mapping.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        reason: InvalidMeshConfig,
    },
}

/// What is wrong with mesh configuration YAML.
#[derive(Debug, thiserror::Error)]
pub enum InvalidMeshConfig {
    /// Not YAML, with line and column.
    #[error("{0}")]
    Yaml(String),
    /// YAML, but not a mapping.
    #[error("expected a mapping of MeshConfig fields, found {0}")]
    NotMapping(&'static str),
}

/// Reads a mesh configuration file and lays it over the defaults (top-level
/// fields replace defaults; `defaultConfig` is merged field by field, as
/// Istio does). A missing file is [`MeshConfigError::Missing`]:
/// the caller decides whether the defaults apply (Galley's behaviour at
/// start) or the last good configuration stays (while serving).
pub fn load(path: &Path) -> Result<Value, MeshConfigError> {
    tracing::debug!(path = %path.display(), "reading mesh config");
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MeshConfigError::Missing {
                path: path.display().to_string(),
            });
        }
        Err(source) => {
            return Err(MeshConfigError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    parse(&text).map_err(|reason| MeshConfigError::Parse {
        path: path.display().to_string(),
        reason,
    })
}

/// Parses mesh configuration YAML over the defaults.
pub fn parse(text: &str) -> Result<Value, InvalidMeshConfig> {
    let parsed: Value = serde_saphyr::from_str(text)
        .map_err(|e| InvalidMeshConfig::Yaml(first_line(&e.to_string())))?;
    let mut config = defaults();
    match parsed {
        Value::Object(mut fields) => {
            if let (Some(Value::Object(proxy)), Some(Value::Object(defaults))) = (
                fields.get_mut(DEFAULT_PROXY_CONFIG),
                config.get(DEFAULT_PROXY_CONFIG),
            ) {
                let mut merged = defaults.clone();
                merged.extend(std::mem::take(proxy));
                *proxy = merged;
            }
            config.extend(fields)
        }
        Value::Null => {}
        other => return Err(InvalidMeshConfig::NotMapping(kind_of(&other))),
    }
    Ok(Value::Object(config))
}

/// The proxy defaults inside `MeshConfig`, merged rather than replaced.
const DEFAULT_PROXY_CONFIG: &str = "defaultConfig";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_override_defaults() {
        let config = parse("ingressClass: nginx\nenableTracing: true\n").unwrap();
        assert_eq!(config["ingressClass"], "nginx");
        assert_eq!(config["ingressControllerMode"], "STRICT");
        assert_eq!(config["enableTracing"], true);
    }

    #[test]
    fn proxy_defaults_are_merged_field_by_field() {
        let config = parse("defaultConfig:\n  concurrency: 4\nconnectTimeout: 1s\n").unwrap();
        assert_eq!(config["defaultConfig"]["concurrency"], 4);
        assert_eq!(config["defaultConfig"]["proxyAdminPort"], 15000);
        assert_eq!(config["connectTimeout"], "1s");
        assert_eq!(config["accessLogEncoding"], "TEXT");
    }

    #[test]
    fn a_missing_file_and_bad_yaml_are_errors() {
        let missing = load(Path::new("/nonexistent/mesh.yaml")).unwrap_err();
        assert!(
            matches!(missing, MeshConfigError::Missing { .. }),
            "{missing}"
        );
        let not_mapping = parse("- a\n- b\n").unwrap_err().to_string();
        assert!(not_mapping.contains("mapping"), "{not_mapping}");
        let bad_yaml = parse("a: [1\n").unwrap_err().to_string();
        assert!(bad_yaml.contains("line 1"), "{bad_yaml}");
    }
}
