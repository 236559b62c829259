//! Deterministic content versions.
//!
//! A version is the first 128 bits of a SHA-256 over a canonical framing of
//! the content, in hex. The same content gives the same version on every
//! replica and across restarts, which lets a sink resume a stream against any
//! hub (Galley's per-process counters could not).

use sha2::{Digest, Sha256};

/// Number of hash bytes kept in a version string (32 hex characters).
const VERSION_BYTES: usize = 16;

/// Builds a version from a sequence of fields. Each field is length-prefixed
/// so that `("ab", "c")` and `("a", "bc")` hash differently.
#[derive(Default)]
pub(crate) struct VersionHasher(Sha256);

impl VersionHasher {
    pub(crate) fn field(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(&self.0.finalize()[..VERSION_BYTES])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(fields: &[&str]) -> String {
        let mut hasher = VersionHasher::default();
        for f in fields {
            hasher.field(f);
        }
        hasher.finish()
    }

    #[test]
    fn framing_separates_fields() {
        assert_ne!(version(&["ab", "c"]), version(&["a", "bc"]));
        assert_eq!(version(&["ab", "c"]), version(&["ab", "c"]));
        assert_eq!(version(&[]).len(), 32);
    }
}
