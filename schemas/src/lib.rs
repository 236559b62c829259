//! Typed resource bodies. The user points galleon at their own schemas (an
//! istio/api checkout, or a compiled descriptor set); this crate compiles
//! them ([`load`]), and serves each collection whose message it finds with a
//! [`TypedCodec`]: the JSON body transcoded into that message by the
//! protobuf JSON mapping as Istio's YAML uses it (camelCase or original
//! field names, enums by name, Istio's [`duration`]s), every problem
//! reported with its field [`path`]. Plugins keep seeing JSON: typing happens
//! in the accumulator's per-collection codec.

pub mod decode;
pub mod duration;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod load;
pub mod path;

mod codec;
mod normalize;

pub use codec::{TypedCodec, UnknownFields};
pub use decode::{any_to_json, body_to_json};
pub use load::{LoadError, Loaded, SchemaSources, SkippedFile, load};
pub use prost_reflect::{DescriptorPool, MessageDescriptor};
