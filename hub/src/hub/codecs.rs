//! The hub's body codecs: each output collection's protobuf message (from
//! the registry, the mesh config and the built-in transforms' outputs),
//! looked up in the user's schemas; a collection whose message is found is
//! served typed, every other one as `Struct`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tracing::{info, warn};

use crate::config::{SYNTHETIC_SERVICE_ENTRIES, SchemasConfig};
use galleon_pipeline::BodyCodec;
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::{BodyShape, MESH_CONFIG, Registry};
use galleon_schemas::{DescriptorPool, LoadError, SchemaSources, TypedCodec};

/// The message of the mesh configuration.
const MESH_CONFIG_MESSAGE: &str = "istio.mesh.v1alpha1.MeshConfig";

/// The message of synthetic ServiceEntries.
const SERVICE_ENTRY_MESSAGE: &str = "istio.networking.v1alpha3.ServiceEntry";

/// Body codecs by output collection.
pub(super) type Codecs = HashMap<Collection, Arc<dyn BodyCodec>>;

/// An output collection's message and where its body sits in a document.
struct Typing {
    message: String,
    root: &'static str,
}

/// Codecs by output collection, for the collections the schemas type, and
/// the messages they were found in (upstream sources read typed bodies
/// with them).
pub(super) fn load(
    config: &SchemasConfig,
    registry: &Registry,
) -> Result<(Codecs, DescriptorPool), LoadError> {
    let sources = SchemaSources {
        proto_paths: config.proto_paths.clone(),
        descriptor_sets: config.descriptor_sets.clone(),
    };
    if sources.is_empty() {
        return Ok((HashMap::new(), DescriptorPool::new()));
    }
    let wanted = typings(registry);
    let packages: BTreeSet<String> = wanted
        .values()
        .filter_map(|t| t.message.rsplit_once('.').map(|(p, _)| p.to_owned()))
        .collect();
    let loaded = galleon_schemas::load(&sources, |package| packages.contains(package))?;
    for skipped in &loaded.skipped {
        warn!(file = %skipped.path.display(), reason = %skipped.reason, "schema file left out: its messages are served as Struct");
    }
    if !sources.proto_paths.is_empty() && loaded.wanted_files == 0 {
        let paths: Vec<String> = sources
            .proto_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        warn!(
            proto_paths = %paths.join(", "),
            "no .proto file of Istio's packages under the proto paths: every body is served as Struct (point them at an istio/api checkout)"
        );
    }
    let mut codecs: Codecs = HashMap::new();
    for (collection, typing) in &wanted {
        if let Some(message) = loaded.pool.get_message_by_name(&typing.message) {
            let codec = TypedCodec::new(message, typing.root, config.unknown_fields);
            codecs.insert(collection.clone(), Arc::new(codec));
        }
    }
    let mut typed: Vec<&str> = codecs.keys().map(|c| &**c).collect();
    typed.sort_unstable();
    info!(
        typed = %typed.join(", "),
        as_struct = wanted.len() - typed.len(),
        "typed bodies from the configured schemas"
    );
    Ok((codecs, loaded.pool))
}

/// Every output collection that has a message, with it.
fn typings(registry: &Registry) -> BTreeMap<Collection, Typing> {
    let root = |body| match body {
        BodyShape::Spec => "spec",
        BodyShape::Object | BodyShape::Credential => "",
    };
    registry
        .schemas()
        .into_iter()
        .filter_map(|schema| {
            let output = schema.output.clone()?;
            let message = schema.message.clone()?;
            let root = root(schema.body);
            Some((output, Typing { message, root }))
        })
        .chain([
            (
                MESH_CONFIG.into(),
                Typing {
                    message: MESH_CONFIG_MESSAGE.to_owned(),
                    root: "",
                },
            ),
            (
                SYNTHETIC_SERVICE_ENTRIES.into(),
                Typing {
                    message: SERVICE_ENTRY_MESSAGE.to_owned(),
                    root: "spec",
                },
            ),
        ])
        .collect()
}
