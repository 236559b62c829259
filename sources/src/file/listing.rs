//! Listing the configuration files under a source's roots. A listing says
//! what it saw and, just as much, what it could not see: a root that is gone,
//! a directory that cannot be read, a descriptor limit hit half-way. Files
//! under an unseen path are not deleted; only a listing that succeeded and no
//! longer shows a file deletes it.
//!
//! Symbolic links are followed inside a root; one that leads out of it is
//! refused (and reported) unless the source allows external links, and a
//! loop is reported, not walked.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::documents::is_config_file;

/// What one walk over the roots found.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Every configuration file seen, sorted, without duplicates.
    pub(super) files: Vec<PathBuf>,
    /// Paths that could not be listed, with why.
    pub(super) unseen: Vec<(PathBuf, String)>,
    /// Paths deliberately not followed (links out of the root, loops), with
    /// why: what they held is not served.
    pub(super) refused: Vec<(PathBuf, String)>,
    /// Whether something went unseen for a reason that passes (descriptors
    /// or memory ran out): the listing is worth trying again.
    pub(super) transient: bool,
}

impl Listing {
    /// Walks each root (a directory, recursively, or a single file),
    /// following symbolic links and skipping hidden entries (such as the
    /// `..data` directories of Kubernetes volumes, which would otherwise be
    /// read twice).
    pub(super) fn walk(roots: &[PathBuf], follow_external: bool) -> Self {
        let mut listing = Self::default();
        for root in roots {
            listing.walk_root(root, follow_external);
        }
        listing.files.sort();
        listing.files.dedup();
        listing
    }

    fn walk_root(&mut self, root: &Path, follow_external: bool) {
        let canonical = match std::fs::canonicalize(root) {
            Ok(canonical) => canonical,
            Err(error) => {
                let reason = match error.kind() {
                    std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                    _ => format!("cannot be read: {error}"),
                };
                self.transient |= transient(&error);
                self.unseen.push((root.to_owned(), reason));
                return;
            }
        };
        let (mut refused, mut loops) = (Vec::new(), Vec::new());
        let entries = WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| {
                if e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.') {
                    return false;
                }
                if follow_external || !e.path_is_symlink() {
                    return true;
                }
                match std::fs::canonicalize(e.path()) {
                    Ok(target) if target.starts_with(&canonical) => true,
                    Ok(target) => {
                        let reason = format!(
                            "symbolic link leads out of the root (to {}); not followed (followExternalSymlinks: true follows it)",
                            target.display()
                        );
                        refused.push((e.path().to_owned(), reason));
                        false
                    }
                    // Dangling: the walk reports it.
                    Err(_) => true,
                }
            });
        for entry in entries {
            match entry {
                Ok(entry) if entry.file_type().is_file() && is_config_file(entry.path()) => {
                    self.files.push(entry.into_path());
                }
                Ok(_) => {}
                Err(error) => {
                    let path = error.path().unwrap_or(root).to_owned();
                    match error.loop_ancestor() {
                        Some(ancestor) => loops.push((
                            path,
                            format!(
                                "symbolic link loops back to {}; not followed",
                                ancestor.display()
                            ),
                        )),
                        None => {
                            self.transient |= error.io_error().is_some_and(transient);
                            self.unseen.push((path, error.to_string()));
                        }
                    }
                }
            }
        }
        self.refused.extend(refused);
        self.refused.extend(loops);
    }

    /// Whether `path` lies under a path this listing could not see.
    pub(super) fn hides(&self, path: &Path) -> bool {
        self.unseen
            .iter()
            .any(|(unseen, _)| path.starts_with(unseen))
    }
}

/// Whether `error` passes by itself (the process ran out of descriptors
/// or memory, a call was interrupted), so the read is worth retrying;
/// others (a permission, a missing file) wait for a change.
pub(super) fn transient(error: &std::io::Error) -> bool {
    use rustix::io::Errno;
    const TRANSIENT: [Errno; 6] = [
        Errno::MFILE,
        Errno::NFILE,
        Errno::NOMEM,
        Errno::AGAIN,
        Errno::INTR,
        Errno::NOBUFS,
    ];
    Errno::from_io_error(error).is_some_and(|errno| TRANSIENT.contains(&errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_root_is_unseen_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let listing = Listing::walk(std::slice::from_ref(&gone), false);
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
        let listing = Listing::walk(&[dir.path().to_owned()], false);
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.yaml", "b.json"]);
        assert!(listing.unseen.is_empty());
    }

    #[test]
    fn links_out_of_the_root_and_loops_are_refused() {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yaml"), "").unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("sub/inside.yaml"), "").unwrap();
        symlink(
            outside.path().join("secret.yaml"),
            root.path().join("out.yaml"),
        )
        .unwrap();
        symlink(outside.path(), root.path().join("out-dir")).unwrap();
        symlink(
            root.path().join("sub/inside.yaml"),
            root.path().join("in.yaml"),
        )
        .unwrap();
        symlink(root.path(), root.path().join("sub/loop")).unwrap();

        let listing = Listing::walk(&[root.path().to_owned()], false);
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|p| p.strip_prefix(root.path()).unwrap().to_owned())
            .collect();
        assert_eq!(names, [Path::new("in.yaml"), Path::new("sub/inside.yaml")]);
        let refused: Vec<_> = listing
            .refused
            .iter()
            .map(|(p, r)| {
                (
                    p.file_name().unwrap().to_owned(),
                    r.split(';').next().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(listing.unseen.is_empty(), "{:?}", listing.unseen);

        let followed = Listing::walk(&[root.path().to_owned()], true);
        assert_eq!(followed.files.len(), 4, "{:?}", followed.files);
    }
}
