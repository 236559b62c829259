//! Rust: `cargo build --release --target wasm32-wasip2`; the component is
//! the `.wasm` artifact cargo reports for the project's own package.

use serde::Deserialize;

use super::read_output;
use crate::DevError;
use crate::manifest::Project;
use crate::toolchain::{CARGO, run_machine_readable};

/// The part of cargo's JSON messages a build needs.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: Option<String>,
    #[serde(default)]
    filenames: Vec<String>,
}

pub(super) fn build(project: &Project) -> Result<Vec<u8>, DevError> {
    let mut cargo = CARGO.command(&project.dir)?;
    cargo.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--message-format=json-render-diagnostics",
    ]);
    let stdout = run_machine_readable("cargo build", cargo)?;
    let manifest = project
        .dir
        .join("Cargo.toml")
        .canonicalize()
        .map_err(DevError::io(project.dir.join("Cargo.toml")))?;
    let component = String::from_utf8_lossy(&stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
        .filter(|m| m.reason == "compiler-artifact")
        .filter(|m| m.manifest_path.as_deref() == manifest.to_str())
        .flat_map(|m| m.filenames)
        .rfind(|f| f.ends_with(".wasm"))
        .ok_or_else(|| DevError::Component {
            step: "cargo build",
            message: "no .wasm artifact: is the crate's type `cdylib`?".into(),
        })?;
    read_output(component.as_ref())
}
