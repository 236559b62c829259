//! C: bindings generated in-process from the project's WIT (wit-bindgen's
//! C generator), compiled with clang against Debian's wasi-libc as a WASI
//! preview 1 reactor, then made a component in-process with the preview 1
//! adapter (wit-component). Only clang is external.

use std::path::{Path, PathBuf};

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::Files;
use wit_component::ComponentEncoder;
use wit_parser::Resolve;

use super::read_output;
use crate::DevError;
use crate::manifest::Project;
use crate::toolchain::{CLANG, run};

pub(super) fn build(project: &Project, scratch: &Path) -> Result<Vec<u8>, DevError> {
    let bindings = scratch.join("bindings");
    let generated = generate_bindings(project, &bindings)?;
    let sources = c_sources(&project.dir.join("src"))?;
    let core = scratch.join(format!("{}.core.wasm", project.manifest.name));
    let mut clang = CLANG.command(&project.dir)?;
    clang
        .args([
            "--target=wasm32-wasi",
            "-mexec-model=reactor",
            "-O2",
            "-Wall",
        ])
        .arg("-I")
        .arg(&bindings)
        .arg("-o")
        .arg(&core)
        .args(&sources)
        .args(&generated);
    run("clang", clang)?;
    componentize(&read_output(&core)?)
}

/// Writes the C bindings of the project's world into `dir`; returns the
/// files to compile and link (the `.c` and the component-type object).
fn generate_bindings(project: &Project, dir: &Path) -> Result<Vec<PathBuf>, DevError> {
    let bindings_error = |e: anyhow::Error| DevError::Component {
        step: "generating C bindings",
        message: format!("{e:#}"),
    };
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(project.wit_dir())
        .map_err(&bindings_error)?;
    let world = resolve
        .select_world(&[package], Some(project.manifest.kind.world()))
        .map_err(&bindings_error)?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .map_err(&bindings_error)?;
    std::fs::create_dir_all(dir).map_err(DevError::io(dir))?;
    let mut linked = Vec::new();
    for (name, bytes) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(DevError::io(&path))?;
        if !name.ends_with(".h") {
            linked.push(path);
        }
    }
    Ok(linked)
}

/// The project's `.c` files.
fn c_sources(src: &Path) -> Result<Vec<PathBuf>, DevError> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(src)
        .map_err(DevError::io(src))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(DevError::Component {
            step: "compiling C",
            message: format!("no .c files in {}", src.display()),
        });
    }
    Ok(sources)
}

/// Wraps a preview 1 core module into a component.
fn componentize(core: &[u8]) -> Result<Vec<u8>, DevError> {
    let error = |e: anyhow::Error| DevError::Component {
        step: "making the component",
        message: format!("{e:#}"),
    };
    ComponentEncoder::default()
        .module(core)
        .map_err(error)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(error)?
        .validate(true)
        .encode()
        .map_err(error)
}
