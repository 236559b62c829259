//! `galleon plugin build`: turns a project into a component with its
//! language's toolchain and writes it where asked (by default
//! `target/<name>.wasm` in the project).

mod c;
mod js;
mod progress;
mod python;
mod rust;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::info;

use crate::manifest::Project;
use crate::{DevError, Language};

/// What a build produced.
#[derive(Clone, Debug)]
pub struct Built {
    /// The component file.
    pub component: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How long the build took.
    pub took: Duration,
}

/// Builds the project in `dir`, writing the component to `out` (default:
/// `target/<name>.wasm` in the project).
pub fn build(dir: &Path, out: Option<&Path>) -> Result<Built, DevError> {
    let project = Project::open(dir)?;
    let out = match out {
        Some(out) => std::path::absolute(out).map_err(DevError::io(out))?,
        None => project.default_output(),
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(DevError::io(parent))?;
    }
    let started = Instant::now();
    // Intermediate files go beside the output, not into the sources.
    let scratch = out
        .parent()
        .unwrap_or(Path::new("."))
        .join("galleon-build")
        .join(&project.manifest.name);
    std::fs::create_dir_all(&scratch).map_err(DevError::io(&scratch))?;
    let language = project.manifest.language;
    let progress = progress::Progress::start(&project.manifest.name, &language.to_string());
    let bytes = match language {
        Language::Rust => rust::build(&project)?,
        Language::C => c::build(&project, &scratch)?,
        Language::Js => js::build(&project, &scratch)?,
        Language::Python => python::build(&project, &scratch)?,
    };
    drop(progress);
    write_atomically(&out, &bytes)?;
    let built = Built {
        component: out,
        size: bytes.len() as u64,
        took: started.elapsed(),
    };
    info!(
        plugin = %project.manifest.name,
        language = %project.manifest.language,
        component = %built.component.display(),
        size = built.size,
        took = ?built.took,
        "built"
    );
    Ok(built)
}

/// Writes beside and renames, so a hub watching `out` never loads half a
/// component.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<(), DevError> {
    let aside = out.with_extension("wasm.partial");
    std::fs::write(&aside, bytes).map_err(DevError::io(&aside))?;
    std::fs::rename(&aside, out).map_err(DevError::io(out))
}

/// Reads a file a toolchain wrote.
fn read_output(path: &Path) -> Result<Vec<u8>, DevError> {
    std::fs::read(path).map_err(DevError::io(path))
}
