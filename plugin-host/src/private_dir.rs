//! The directories galleon writes plugins to (the precompile cache, the
//! built-in plugins) must be its own: a plugin written there is run. Each is
//! created `0700`, and refused, naming the path and the fix, if another user
//! could write to it or to any directory above it that is not owned by root
//! or by galleon's user.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Why a directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// It cannot be created or read (read-only file system, a file in the
    /// way, no space): galleon can run without it.
    #[error("cannot create {}: {source}", path.display())]
    Unwritable {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another user could put plugins in it: galleon refuses to start.
    #[error("refusing {}: {why}; {fix}", path.display())]
    Unsafe {
        /// The directory (or the ancestor at fault).
        path: PathBuf,
        /// What is wrong.
        why: String,
        /// What to do.
        fix: String,
    },
}

/// Creates `dir` (mode `0700`) if missing and checks that no other user can
/// write plugins into it.
pub fn ensure_private(dir: &Path) -> Result<(), PrivateDirError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| PrivateDirError::Unwritable {
            path: dir.to_owned(),
            source,
        })?;
    let dir = std::fs::canonicalize(dir).map_err(|source| PrivateDirError::Unwritable {
        path: dir.to_owned(),
        source,
    })?;
    let me = rustix::process::geteuid().as_raw();
    let trusted = |uid: u32| uid == me || uid == 0;
    let metadata = |path: &Path| {
        std::fs::metadata(path).map_err(|source| PrivateDirError::Unwritable {
            path: path.to_owned(),
            source,
        })
    };
    let own = metadata(&dir)?;
    if !trusted(own.uid()) {
        return Err(unsafe_dir(
            &dir,
            format!("it belongs to user {}", own.uid()),
            "remove it, or set plugins.cacheDir to a directory of your own",
        ));
    }
    if own.mode() & 0o022 != 0 {
        return Err(unsafe_dir(
            &dir,
            format!(
                "other users can write to it (mode {:o})",
                own.mode() & 0o777
            ),
            &format!("run `chmod 700 {}`", dir.display()),
        ));
    }
    for ancestor in dir.ancestors().skip(1) {
        let owner = metadata(ancestor)?.uid();
        if !trusted(owner) {
            return Err(unsafe_dir(
                ancestor,
                format!("a directory above the plugin directory belongs to user {owner}"),
                "set plugins.cacheDir to a directory whose parents belong to root or to you",
            ));
        }
    }
    Ok(())
}

fn unsafe_dir(path: &Path, why: String, fix: &str) -> PrivateDirError {
    PrivateDirError::Unsafe {
        path: path.to_owned(),
        why,
        fix: fix.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_private_and_refuses_what_others_can_write() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("cache/wasm");
        ensure_private(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = ensure_private(&dir).unwrap_err().to_string();
        assert!(
            error.contains("other users can write") && error.contains("chmod 700"),
            "{error}"
        );

        let file = base.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            ensure_private(&file.join("cache")),
            Err(PrivateDirError::Unwritable { .. })
        ));
    }
}
