//! Content-hash versions for synthesized resources: the same content gives
//! the same version in every replica and after every restart, unlike a
//! counter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `$<prefix>_<base64url(sha256(parts))>`, Galley's shape for synthesized
/// versions, over the JSON of `parts` (object keys sorted, so equal content
/// hashes equally).
pub fn content_version(prefix: &str, parts: &[&Value]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.to_string().as_bytes());
        hasher.update([0]);
    }
    format!("${prefix}_{}", URL_SAFE_NO_PAD.encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_content_gives_equal_versions_whatever_the_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": [1, 2], "b": 1}"#).unwrap();
        assert_eq!(content_version("se", &[&a]), content_version("se", &[&b]));
        assert!(content_version("se", &[&a]).starts_with("$se_"));
    }

    #[test]
    fn content_and_part_boundaries_change_the_version() {
        let (x, y) = (json!("ab"), json!("c"));
        let (x2, y2) = (json!("a"), json!("bc"));
        assert_ne!(
            content_version("se", &[&x, &y]),
            content_version("se", &[&x2, &y2])
        );
        assert_ne!(content_version("se", &[&x]), content_version("se", &[&y]));
    }
}
