//! `galleon plugin new`: a ready project from templates built into the
//! binary. C, JavaScript and Python projects start as the repository's
//! examples in that language (`examples/plugins/<language>/`), Rust ones as
//! the templates in `plugin-dev/templates/rust`, with the SDK vendored. Every
//! project gets the contract (`wit/`), the example's golden fixtures, a
//! manifest and a README, so `build` then `test` pass as made.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::manifest::{MANIFEST, Manifest};
use crate::toolchain::Tool;
use crate::{DevError, Kind, Language};

static WIT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugin-sdk/wit");
static SDK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugin-sdk");
static TRANSFORMER_FIXTURES: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/add-label/fixtures");
static VALIDATOR_FIXTURES: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/require-hosts/fixtures");
static ANALYZER_FIXTURES: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/unused-gateways/fixtures");
static C_TRANSFORMER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/c/add-label/src");
static C_VALIDATOR: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/c/require-hosts/src");
static C_ANALYZER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/c/unused-gateways/src");
static JS_TRANSFORMER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/js/add-label/src");
static JS_VALIDATOR: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/js/require-hosts/src");
static JS_ANALYZER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/js/unused-gateways/src");
static PYTHON_TRANSFORMER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/python/add-label/src");
static PYTHON_VALIDATOR: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/python/require-hosts/src");
static PYTHON_ANALYZER: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../examples/plugins/python/unused-gateways/src");
const RUST_MANIFEST: &str = include_str!("../templates/rust/Cargo.toml");
const RUST_TRANSFORMER: &str = include_str!("../templates/rust/transformer.rs");
const RUST_VALIDATOR: &str = include_str!("../templates/rust/validator.rs");
const RUST_ANALYZER: &str = include_str!("../templates/rust/analyzer.rs");
const README: &str = include_str!("../templates/README.md");

/// Creates a `kind` plugin project called `name` in `language` at `dir`
/// (which must not exist, or be empty).
pub fn new(dir: &Path, name: &str, language: Language, kind: Kind) -> Result<(), DevError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DevError::Scaffold(format!(
            "plugin name {name:?}: use letters, digits, `-` and `_`"
        )));
    }
    if dir
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(DevError::Scaffold(format!(
            "{} exists and is not empty",
            dir.display()
        )));
    }
    let project = Writer { dir };
    project.dir_contents(Path::new("wit"), &WIT)?;
    let fixtures = match kind {
        Kind::Transformer => &TRANSFORMER_FIXTURES,
        Kind::Validator => &VALIDATOR_FIXTURES,
        Kind::Analyzer => &ANALYZER_FIXTURES,
    };
    project.dir_contents(Path::new("fixtures"), fixtures)?;
    let source = match (language, kind) {
        (Language::Rust, _) => {
            project.dir_contents(Path::new("sdk"), &SDK)?;
            project.file("Cargo.toml", &RUST_MANIFEST.replace("{{name}}", name))?;
            let code = match kind {
                Kind::Transformer => RUST_TRANSFORMER,
                Kind::Validator => RUST_VALIDATOR,
                Kind::Analyzer => RUST_ANALYZER,
            };
            project.file("src/lib.rs", code)?;
            "src/lib.rs"
        }
        (Language::C, Kind::Transformer) => project.sources(&C_TRANSFORMER, "src/plugin.c")?,
        (Language::C, Kind::Validator) => project.sources(&C_VALIDATOR, "src/plugin.c")?,
        (Language::C, Kind::Analyzer) => project.sources(&C_ANALYZER, "src/plugin.c")?,
        (Language::Js, Kind::Transformer) => project.sources(&JS_TRANSFORMER, "src/plugin.js")?,
        (Language::Js, Kind::Validator) => project.sources(&JS_VALIDATOR, "src/plugin.js")?,
        (Language::Js, Kind::Analyzer) => project.sources(&JS_ANALYZER, "src/plugin.js")?,
        (Language::Python, Kind::Transformer) => {
            project.sources(&PYTHON_TRANSFORMER, "src/app.py")?
        }
        (Language::Python, Kind::Validator) => project.sources(&PYTHON_VALIDATOR, "src/app.py")?,
        (Language::Python, Kind::Analyzer) => project.sources(&PYTHON_ANALYZER, "src/app.py")?,
    };
    let manifest = Manifest {
        name: name.into(),
        language,
        kind,
        wit: "wit".into(),
        fixtures: "fixtures".into(),
    };
    let manifest =
        serde_saphyr::to_string(&manifest).map_err(|e| DevError::Scaffold(e.to_string()))?;
    project.file(MANIFEST, &manifest)?;
    project.file(".gitignore", "target/\n__pycache__/\n")?;
    project.file("README.md", &readme(dir, name, language, kind, source))?;
    Ok(())
}

fn readme(dir: &Path, name: &str, language: Language, kind: Kind, source: &str) -> String {
    let (example, collections, settings) = match kind {
        Kind::Transformer => ("add-label", "", r#"{label: team, value: mesh}"#),
        Kind::Validator => (
            "require-hosts",
            "\n      collections: [k8s/networking.istio.io/v1alpha3/virtualservices]",
            "{}",
        ),
        Kind::Analyzer => ("unused-gateways", "", "{}"),
    };
    let title = match language {
        Language::Rust => "Rust",
        Language::C => "C",
        Language::Js => "JavaScript",
        Language::Python => "Python",
    };
    let tool = Tool::for_language(language);
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    README
        .replace("{{name}}", name)
        .replace("{{kind}}", kind.name())
        .replace("{{language_title}}", title)
        .replace("{{example}}", example)
        .replace("{{source}}", &format!("`{source}`"))
        .replace("{{contract}}", galleon_plugin_host::WIT_VERSION)
        .replace(
            "{{toolchain}}",
            &format!("`{}` (`{}`)", tool.program, tool.install),
        )
        .replace("{{dir}}", &dir.display().to_string())
        .replace("{{collections}}", collections)
        .replace("{{settings}}", settings)
}

/// Writes files under the project directory.
struct Writer<'a> {
    dir: &'a Path,
}

impl Writer<'_> {
    fn file(&self, relative: &str, contents: &str) -> Result<(), DevError> {
        self.bytes(Path::new(relative), contents.as_bytes())
    }

    fn bytes(&self, relative: &Path, contents: &[u8]) -> Result<(), DevError> {
        let path: PathBuf = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(DevError::io(parent))?;
        }
        std::fs::write(&path, contents).map_err(DevError::io(&path))
    }

    /// Writes every file of `dir` under `into`, skipping build outputs.
    fn dir_contents(&self, into: &Path, dir: &Dir<'_>) -> Result<(), DevError> {
        for file in dir.files() {
            self.bytes(
                &into.join(file.path().strip_prefix(dir.path()).unwrap_or(file.path())),
                file.contents(),
            )?;
        }
        for sub in dir.dirs() {
            let name = sub.path().file_name().unwrap_or_default();
            if name == "target" || name == "__pycache__" {
                continue;
            }
            self.dir_contents(&into.join(name), sub)?;
        }
        Ok(())
    }

    /// Writes an example's sources under `src/`; returns the main source.
    fn sources(&self, dir: &Dir<'_>, main: &'static str) -> Result<&'static str, DevError> {
        self.dir_contents(Path::new("src"), dir)?;
        Ok(main)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Project;

    #[test]
    fn a_new_project_has_its_manifest_contract_and_fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        new(&project, "p", Language::Js, Kind::Validator).unwrap();
        let opened = Project::open(&project).unwrap();
        assert_eq!(opened.manifest.language, Language::Js);
        assert_eq!(opened.manifest.kind, Kind::Validator);
        assert!(opened.wit_dir().join("plugin.wit").exists());
        assert!(opened.fixtures_dir().join("basic.golden.json").exists());
        let source = std::fs::read_to_string(project.join("src/plugin.js")).unwrap();
        assert!(source.contains("export const validator"), "{source}");
        let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
        assert!(
            !readme.contains("{{"),
            "every placeholder is filled: {readme}"
        );
    }

    #[test]
    fn a_rust_project_vendors_the_sdk_without_workspace_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        new(dir.path(), "r", Language::Rust, Kind::Transformer).unwrap();
        let sdk = std::fs::read_to_string(dir.path().join("sdk/Cargo.toml")).unwrap();
        assert!(!sdk.contains(".workspace"), "{sdk}");
        let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"r\"") && manifest.contains("[workspace]"));
    }

    #[test]
    fn a_non_empty_directory_or_a_bad_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep"), "mine").unwrap();
        let error = new(dir.path(), "p", Language::C, Kind::Transformer).unwrap_err();
        assert!(error.to_string().contains("not empty"), "{error}");
        let error = new(
            &dir.path().join("q"),
            "../q",
            Language::C,
            Kind::Transformer,
        )
        .unwrap_err();
        assert!(error.to_string().contains("use letters"), "{error}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep")).unwrap(),
            "mine"
        );
    }
}
