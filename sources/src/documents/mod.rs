//! YAML and JSON documents as resources, shared by the sources that read
//! files or file-like values (an etcd key holds what a file would): parsing
//! a unit's bytes into documents (`parse`, with `names` and `invalid` for
//! what makes a document not a resource), and the set of units' documents
//! that turns every re-read into exactly the events that changed (`set`).
//! A Secret is kept as a summary (`credential`), never its data.

mod compact;
mod credential;
mod invalid;
mod names;
mod parse;
mod set;

pub(super) use names::{NameError, check_resource_name};
pub use parse::resource_of;
pub(super) use parse::{Document, ParsedFile, document_of, is_config_file, parse_file};
pub(super) use set::DocumentSet;
