//! Listing the configuration files under a source's roots. A listing says
//! what it saw and, just as much, what it could not see: a root that is gone,
//! a directory that cannot be read, a descriptor limit hit half-way. Files
//! under an unseen path are not deleted; only a listing that succeeded and no
//! longer shows a file deletes it.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::parse::is_config_file;

/// What one walk over the roots found.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Every configuration file seen, sorted, without duplicates.
    pub(super) files: Vec<PathBuf>,
    /// Paths that could not be listed, with why.
    pub(super) unseen: Vec<(PathBuf, String)>,
}

impl Listing {
    /// Walks each root (a directory, recursively, or a single file),
    /// following symbolic links and skipping hidden entries (such as the
    /// `..data` directories of Kubernetes volumes, which would otherwise be
    /// read twice).
    pub(super) fn walk(roots: &[PathBuf]) -> Self {
        let mut listing = Self::default();
        for root in roots {
            listing.walk_root(root);
        }
        listing.files.sort();
        listing.files.dedup();
        listing
    }

    fn walk_root(&mut self, root: &Path) {
        if let Err(error) = std::fs::metadata(root) {
            let reason = match error.kind() {
                std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                _ => format!("cannot be read: {error}"),
            };
            self.unseen.push((root.to_owned(), reason));
            return;
        }
        let entries = WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in entries {
            match entry {
                Ok(entry) if entry.file_type().is_file() && is_config_file(entry.path()) => {
                    self.files.push(entry.into_path());
                }
                Ok(_) => {}
                Err(error) => {
                    let path = error.path().unwrap_or(root).to_owned();
                    self.unseen.push((path, error.to_string()));
                }
            }
        }
    }

    /// Whether `path` lies under a path this listing could not see.
    pub(super) fn hides(&self, path: &Path) -> bool {
        self.unseen
            .iter()
            .any(|(unseen, _)| path.starts_with(unseen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_root_is_unseen_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let listing = Listing::walk(std::slice::from_ref(&gone));
        assert!(listing.files.is_empty());
        assert_eq!(listing.unseen.len(), 1);
        assert!(listing.hides(&gone.join("a.yaml")));
        assert!(!listing.hides(&dir.path().join("other.yaml")));
    }

    #[test]
    fn lists_config_files_and_skips_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".hidden")).unwrap();
        for name in ["a.yaml", "b.json", "c.txt", ".hidden/d.yaml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let listing = Listing::walk(&[dir.path().to_owned()]);
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.yaml", "b.json"]);
        assert!(listing.unseen.is_empty());
    }
}
