//! The plugin author's workflow, as `galleon plugin` runs it:
//!
//! - [`scaffold`]: a new project in Rust, C, JavaScript or Python, from
//!   templates built into the binary;
//! - [`build`]: that language's toolchain turns the project into a
//!   component (C bindings and componentization happen in-process);
//! - [`fixtures`]: the project's golden fixtures run against the compiled
//!   component, whatever language it came from, transformer or validator;
//! - [`inspect`]: what a compiled plugin exports, imports and declares, and
//!   whether it loads under given limits.
//!
//! A project is a directory with a [`Manifest`] (`galleon-plugin.yaml`).

pub mod build;
pub mod fixtures;
pub mod inspect;
pub mod manifest;
pub mod scaffold;
pub mod toolchain;
pub mod under_test;

mod error;

pub use error::DevError;
pub use manifest::{Kind, Language, MANIFEST, Manifest};
