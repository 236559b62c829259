//! `galleon-plugin.yaml`: a plugin project's name, language and kind, and
//! where its WIT contract and fixtures live.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DevError;

/// The manifest's file name.
pub const MANIFEST: &str = "galleon-plugin.yaml";

/// The languages a plugin can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust, with the galleon SDK.
    Rust,
    /// C, with bindings generated from the WIT.
    C,
    /// JavaScript, run by QuickJS (componentize-qjs).
    Js,
    /// Python, run by CPython (componentize-py).
    Python,
}

impl Language {
    /// Every language, in the order the docs list them.
    pub const ALL: [Language; 4] = [Language::Rust, Language::C, Language::Js, Language::Python];

    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
            Language::Js => "js",
            Language::Python => "python",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a plugin does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Turns input events into output events.
    Transformer,
    /// Judges resources before they enter the pipeline.
    Validator,
    /// Judges resources against each other and reports messages.
    Analyzer,
}

impl Kind {
    /// The WIT world a plugin of this kind targets.
    pub fn world(self) -> &'static str {
        match self {
            Kind::Transformer => "transformer-plugin",
            Kind::Validator => "validator-plugin",
            Kind::Analyzer => "analyzer-plugin",
        }
    }

    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Transformer => "transformer",
            Kind::Validator => "validator",
            Kind::Analyzer => "analyzer",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A plugin project's manifest.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name; the component is written as `<name>.wasm`.
    pub name: String,
    /// Its language.
    pub language: Language,
    /// Its kind.
    pub kind: Kind,
    /// The WIT directory, relative to the project (default `wit`).
    #[serde(default = "default_wit")]
    pub wit: PathBuf,
    /// The fixture directory, relative to the project (default `fixtures`).
    #[serde(default = "default_fixtures")]
    pub fixtures: PathBuf,
}

fn default_wit() -> PathBuf {
    "wit".into()
}

fn default_fixtures() -> PathBuf {
    "fixtures".into()
}

/// A project: its directory and manifest.
#[derive(Clone, Debug)]
pub struct Project {
    /// The project directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Project {
    /// Reads the project in `dir`.
    pub fn open(dir: &Path) -> Result<Self, DevError> {
        // Toolchains run in the project directory: every path is absolute.
        let dir = &std::path::absolute(dir).map_err(DevError::io(dir))?;
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| DevError::Manifest {
            path: path.clone(),
            message: format!(
                "{e} (is {} a plugin project? `galleon plugin new` makes one)",
                dir.display()
            ),
        })?;
        let manifest: Manifest = serde_saphyr::from_str(&text).map_err(|e| DevError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if manifest.name.is_empty() || manifest.name.contains(['/', '\\']) {
            return Err(DevError::Manifest {
                path,
                message: format!("name {:?} must be a non-empty file name", manifest.name),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
        })
    }

    /// The WIT directory.
    pub fn wit_dir(&self) -> PathBuf {
        self.dir.join(&self.manifest.wit)
    }

    /// The fixture directory.
    pub fn fixtures_dir(&self) -> PathBuf {
        self.dir.join(&self.manifest.fixtures)
    }

    /// Where `build` writes the component unless told otherwise.
    pub fn default_output(&self) -> PathBuf {
        self.dir
            .join("target")
            .join(format!("{}.wasm", self.manifest.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> Result<Project, DevError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), text).unwrap();
        Project::open(dir.path())
    }

    #[test]
    fn defaults_fill_the_paths_and_mistakes_are_named() {
        let project = open("name: a\nlanguage: python\nkind: transformer\n").unwrap();
        assert!(project.wit_dir().ends_with("wit"));
        assert!(project.default_output().ends_with("target/a.wasm"));
        let error = open("name: a\nlanguage: go\nkind: transformer\n").unwrap_err();
        assert!(error.to_string().contains("go"), "{error}");
        let error = open("name: a\nlanguage: c\nkind: transformer\nextra: 1\n").unwrap_err();
        assert!(error.to_string().contains("extra"), "{error}");
        let error = open("name: a/b\nlanguage: c\nkind: transformer\n").unwrap_err();
        assert!(error.to_string().contains("file name"), "{error}");
    }
}
