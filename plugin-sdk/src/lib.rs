//! The SDK for galleon plugins.
//!
//! A plugin is a small trait impl — [`Transformer`], [`Validator`] or
//! [`Analyzer`] — plus one line, [`export_transformer!`],
//! [`export_validator!`] or [`export_analyzer!`]. Built for
//! `wasm32-wasip2`, that line exports the impl as a WebAssembly component
//! implementing the `galleon:plugin` WIT contract (`wit/plugin.wit`). Built
//! natively, the same source is an ordinary Rust library, so its unit tests
//! run under plain `cargo test`, and the [`harness`] runs it over fixture
//! files against golden outputs — as the host runs the compiled component.
//!
//! ```
//! use galleon_plugin_sdk::{Description, Event, Transformer, export_transformer};
//!
//! #[derive(Default)]
//! struct Rename;
//!
//! impl Transformer for Rename {
//!     fn describe() -> Description {
//!         Description::new(["k8s/example.com/v1/things"], ["example/things"], "serves things as is")
//!     }
//!
//!     fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
//!         Ok(vec![event.with_collection("example/things")])
//!     }
//! }
//!
//! export_transformer!(Rename);
//! ```

mod log;
mod plugin;
mod types;
mod version;

#[cfg(not(target_arch = "wasm32"))]
pub mod harness;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use log::{Level, log};
pub use plugin::{Analyzer, Transformer, Validator};
pub use types::{
    AnalyzerInfo, Analyzers, Description, Diagnostic, Event, Mesh, Message, Report, Resource,
    ResourceRef, Severity, json_kind,
};
pub use version::content_version;

/// Re-exported so plugins need no direct dependency on it.
pub use serde_json;

/// The WIT package version this SDK builds plugins against.
pub const WIT_VERSION: &str = "0.2.0";

/// Exports a [`Transformer`] as the component's `transformer` interface.
/// Does nothing when building natively.
#[macro_export]
macro_rules! export_transformer {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct GalleonTransformer;
            impl $crate::guest::transformer::exports::galleon::plugin::transformer::Guest for GalleonTransformer {
                fn describe() -> $crate::guest::transformer::galleon::plugin::types::Description {
                    $crate::guest::describe::<$plugin>()
                }
                fn configure(
                    settings: ::std::string::String,
                    mesh: $crate::guest::transformer::galleon::plugin::types::Mesh,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::guest::configure::<$plugin>(settings, mesh)
                }
                fn handle(
                    event: $crate::guest::transformer::galleon::plugin::types::Event,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::guest::transformer::galleon::plugin::types::Event>,
                    ::std::string::String,
                > {
                    $crate::guest::handle::<$plugin>(event)
                }
            }
            impl $crate::guest::transformer::exports::galleon::plugin::batch::Guest for GalleonTransformer {
                fn handle_batch(
                    events: ::std::vec::Vec<$crate::guest::transformer::galleon::plugin::types::Event>,
                ) -> ::std::vec::Vec<::std::result::Result<
                    ::std::vec::Vec<$crate::guest::transformer::galleon::plugin::types::Output>,
                    ::std::string::String,
                >> {
                    $crate::guest::handle_batch::<$plugin>(events)
                }
            }
            $crate::guest::transformer::export!(GalleonTransformer with_types_in $crate::guest::transformer);
        };
    };
}

/// Exports a [`Validator`] as the component's `validator` interface.
/// Does nothing when building natively.
#[macro_export]
macro_rules! export_validator {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct GalleonValidator;
            impl $crate::guest::validator::exports::galleon::plugin::validator::Guest for GalleonValidator {
                fn configure(settings: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::guest::configure_validator::<$plugin>(settings)
                }
                fn validate(
                    resource: $crate::guest::transformer::galleon::plugin::types::Resource,
                ) -> ::std::vec::Vec<$crate::guest::transformer::galleon::plugin::types::Diagnostic> {
                    $crate::guest::validate::<$plugin>(resource)
                }
            }
            $crate::guest::validator::export!(GalleonValidator with_types_in $crate::guest::validator);
        };
    };
}

/// Exports an [`Analyzer`] as the component's `analyzer` interface.
/// Does nothing when building natively.
#[macro_export]
macro_rules! export_analyzer {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct GalleonAnalyzer;
            impl $crate::guest::analyzer::exports::galleon::plugin::analyzer::Guest
                for GalleonAnalyzer
            {
                fn describe() -> $crate::guest::transformer::galleon::plugin::types::Analyzers {
                    $crate::guest::describe_analyzer::<$plugin>()
                }
                fn configure(
                    settings: ::std::string::String,
                    mesh: $crate::guest::transformer::galleon::plugin::types::Mesh,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::guest::configure_analyzer::<$plugin>(settings, mesh)
                }
                fn handle_batch(
                    events: ::std::vec::Vec<
                        $crate::guest::transformer::galleon::plugin::types::Event,
                    >,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::guest::transformer::galleon::plugin::types::Report>,
                    ::std::string::String,
                > {
                    $crate::guest::analyze::<$plugin>(events)
                }
            }
    $crate::guest::analyzer::export!(GalleonAnalyzer with_types_in $crate::guest::analyzer);
        };
    };
}
