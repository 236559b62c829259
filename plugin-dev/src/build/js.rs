//! JavaScript: componentize-qjs bundles the project's `src/plugin.js` with
//! the QuickJS engine, pre-initialised, into a component. Its synchronous
//! runtime is used: galleon calls plugins synchronously.

use std::path::Path;

use super::read_output;
use crate::DevError;
use crate::manifest::Project;
use crate::toolchain::{COMPONENTIZE_QJS, run};

/// The project's entry point.
pub(super) const ENTRY: &str = "src/plugin.js";

pub(super) fn build(project: &Project, scratch: &Path) -> Result<Vec<u8>, DevError> {
    let out = scratch.join(format!("{}.wasm", project.manifest.name));
    let mut qjs = COMPONENTIZE_QJS.command(&project.dir)?;
    qjs.arg("--wit")
        .arg(project.wit_dir())
        .args([
            "--world",
            project.manifest.kind.world(),
            "--sync",
            "--js",
            ENTRY,
        ])
        .arg("--output")
        .arg(&out);
    run("componentize-qjs", qjs)?;
    read_output(&out)
}
