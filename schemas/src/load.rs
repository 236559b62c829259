//! Loading the user's schemas: `.proto` files compiled at start from proto
//! paths (an istio/api checkout), and `FileDescriptorSet`s written by
//! `protoc -o` or `buf build`, into one descriptor pool. Only files of the
//! packages galleon needs are compiled (with whatever they import), so a
//! checkout with thousands of unrelated files costs nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prost_reflect::{DescriptorError, DescriptorPool};
use tracing::debug;

/// Where the schemas come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaSources {
    /// Include roots of `.proto` files (`api`, `api/common-protos`).
    pub proto_paths: Vec<PathBuf>,
    /// Compiled `FileDescriptorSet` files, imports included (`protoc
    /// --include_imports -o`, or `buf build`).
    pub descriptor_sets: Vec<PathBuf>,
}

impl SchemaSources {
    /// Whether no schema is configured.
    pub fn is_empty(&self) -> bool {
        self.proto_paths.is_empty() && self.descriptor_sets.is_empty()
    }
}

/// Why the schemas could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A descriptor set could not be read.
    #[error("cannot read descriptor set {}: {source}", path.display())]
    ReadDescriptorSet {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A descriptor set is not a valid `FileDescriptorSet`.
    #[error("{} is not a usable FileDescriptorSet: {source}", path.display())]
    DecodeDescriptorSet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: DescriptorError,
    },
    /// A proto path does not exist or is not a directory.
    #[error(
        "proto path {} is not a directory: point it at an istio/api checkout (and its common-protos)",
        .0.display()
    )]
    MissingProtoPath(PathBuf),
    /// A proto path the compiler refused.
    #[error("proto path {}: {source}", path.display())]
    ProtoPath {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        source: protox::Error,
    },
    /// The compiled files conflict with the descriptor sets.
    #[error("compiled .proto files conflict with the descriptor sets: {0}")]
    Conflict(DescriptorError),
}

/// A `.proto` file of a wanted package that did not compile; the messages
/// it defines are served as `Struct`.
#[derive(Debug)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// The compiler's message, with line and column.
    pub reason: String,
}

/// The loaded pool and the files left out of it.
#[derive(Debug)]
pub struct Loaded {
    /// Every message of the loaded schemas.
    pub pool: DescriptorPool,
    /// Files of wanted packages that failed to compile.
    pub skipped: Vec<SkippedFile>,
    /// Files of wanted packages found under the proto paths (a proto path
    /// holding none is a mistyped one).
    pub wanted_files: usize,
}

/// Loads `sources`, compiling the `.proto` files whose package is
/// `wanted`.
pub fn load(sources: &SchemaSources, wanted: impl Fn(&str) -> bool) -> Result<Loaded, LoadError> {
    let mut pool = DescriptorPool::new();
    for path in &sources.descriptor_sets {
        let bytes = std::fs::read(path).map_err(|source| LoadError::ReadDescriptorSet {
            path: path.clone(),
            source,
        })?;
        pool.decode_file_descriptor_set(bytes.as_slice())
            .map_err(|source| LoadError::DecodeDescriptorSet {
                path: path.clone(),
                source,
            })?;
    }
    let mut skipped = Vec::new();
    let mut wanted_files = 0;
    if !sources.proto_paths.is_empty() {
        let mut compiler = compiler(&sources.proto_paths)?;
        for file in proto_files(&sources.proto_paths) {
            if !package_of(&file).is_some_and(|package| wanted(&package)) {
                continue;
            }
            wanted_files += 1;
            debug!(file = %file.display(), "compiling");
            if let Err(error) = compiler.open_file(&file) {
                skipped.push(SkippedFile {
                    path: file,
                    reason: error.to_string(),
                });
            }
        }
        pool.add_file_descriptor_set(compiler.file_descriptor_set())
            .map_err(LoadError::Conflict)?;
    }
    Ok(Loaded {
        pool,
        skipped,
        wanted_files,
    })
}

fn compiler(proto_paths: &[PathBuf]) -> Result<protox::Compiler, LoadError> {
    for path in proto_paths {
        if !path.is_dir() {
            return Err(LoadError::MissingProtoPath(path.clone()));
        }
        protox::Compiler::new([path]).map_err(|source| LoadError::ProtoPath {
            path: path.clone(),
            source,
        })?;
    }
    let mut compiler =
        protox::Compiler::new(proto_paths).map_err(|source| LoadError::ProtoPath {
            path: proto_paths[0].clone(),
            source,
        })?;
    compiler.include_imports(true);
    Ok(compiler)
}

/// Every `.proto` file under the proto paths, in a stable order.
fn proto_files(proto_paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    proto_paths
        .iter()
        .flat_map(|root| walkdir::WalkDir::new(root).into_iter().flatten())
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|path| path.extension().is_some_and(|e| e == "proto"))
        .collect()
}

/// The `package` a `.proto` file declares, read without compiling it.
fn package_of(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("package")?;
        let name = rest.trim().strip_suffix(';')?.trim();
        (!name.is_empty() && rest.starts_with(char::is_whitespace)).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: &str = "syntax = \"proto3\";\npackage demo.v1;\nimport \"google/protobuf/duration.proto\";\nmessage Thing { google.protobuf.Duration timeout = 1; }\n";

    fn packages<'a>(names: &'a [&'a str]) -> impl Fn(&str) -> bool + 'a {
        |package| names.contains(&package)
    }

    #[test]
    fn only_wanted_packages_are_compiled_and_broken_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("demo/v1")).unwrap();
        std::fs::write(dir.path().join("demo/v1/thing.proto"), WANTED).unwrap();
        std::fs::write(
            dir.path().join("other.proto"),
            "syntax = \"proto3\";\npackage other;\nmessage Broken { nope x = 1; }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("demo/v1/broken.proto"),
            "syntax = \"proto3\";\npackage demo.v1;\nmessage Half {\n",
        )
        .unwrap();
        let sources = SchemaSources {
            proto_paths: vec![dir.path().to_owned()],
            descriptor_sets: Vec::new(),
        };
        let loaded = load(&sources, packages(&["demo.v1"])).unwrap();
        assert!(loaded.pool.get_message_by_name("demo.v1.Thing").is_some());
        assert_eq!(loaded.skipped.len(), 1, "{:?}", loaded.skipped);
        assert!(loaded.skipped[0].path.ends_with("broken.proto"));
    }

    #[test]
    fn descriptor_sets_load_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thing.proto"), WANTED).unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.include_imports(true);
        compiler.open_file("thing.proto").unwrap();
        let set = dir.path().join("set.pb");
        std::fs::write(&set, compiler.encode_file_descriptor_set()).unwrap();
        let sources = SchemaSources {
            proto_paths: Vec::new(),
            descriptor_sets: vec![set],
        };
        let loaded = load(&sources, packages(&[])).unwrap();
        assert!(loaded.pool.get_message_by_name("demo.v1.Thing").is_some());

        let missing = SchemaSources {
            descriptor_sets: vec![dir.path().join("nope.pb")],
            ..SchemaSources::default()
        };
        let error = load(&missing, packages(&[])).unwrap_err().to_string();
        assert!(error.contains("nope.pb"), "{error}");
    }
}
