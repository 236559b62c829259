//! Python: componentize-py bundles CPython, the project's `src/` (module
//! `app`) and the generated bindings, pre-initialised, into a component.

use std::path::Path;

use super::read_output;
use crate::DevError;
use crate::manifest::Project;
use crate::toolchain::{COMPONENTIZE_PY, run};

/// The module that defines the exported class.
pub(super) const MODULE: &str = "app";

pub(super) fn build(project: &Project, scratch: &Path) -> Result<Vec<u8>, DevError> {
    let out = scratch.join(format!("{}.wasm", project.manifest.name));
    let mut py = COMPONENTIZE_PY.command(&project.dir)?;
    // No `__pycache__` in the project's sources.
    py.env("PYTHONDONTWRITEBYTECODE", "1");
    py.arg("--wit-path")
        .arg(project.wit_dir())
        .args(["--world", project.manifest.kind.world(), "componentize"])
        .args(["--python-path", "src", MODULE, "--output"])
        .arg(&out);
    run("componentize-py", py)?;
    read_output(&out)
}
