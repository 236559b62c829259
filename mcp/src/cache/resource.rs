//! A resource as the cache holds it: encoded once, versioned by content.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use galleon_proto::encoded::{encode_entry, encode_field_entry};
use galleon_proto::mcp::Resource;
use prost::Message;

use super::version::VersionHasher;

/// Resources encoded since the process started, MCP over xDS's own
/// encodings included (exported as a metric; a fan-out of one snapshot to
/// many sinks must not move it past the first sink of each protocol).
static ENCODED: AtomicU64 = AtomicU64::new(0);

/// Number of resources encoded to protobuf by this process so far.
pub fn resources_encoded() -> u64 {
    ENCODED.load(Ordering::Relaxed)
}

/// One resource, encoded as an `istio.mcp.v1alpha1.Resource` exactly once,
/// already framed as an entry of a push's `resources` field.
///
/// Cloning is cheap (reference counts), so a snapshot, every connection's
/// pending push and every sink's acknowledged state share the same bytes,
/// and a push writes them to the wire as they are.
#[derive(Clone, Debug)]
pub struct CachedResource {
    name: Arc<str>,
    version: Arc<str>,
    /// Field key and length, then the message.
    entry: Bytes,
    /// The message alone (a view into `entry`).
    encoded: Bytes,
    /// The `istio.io/rev` label, if any: MCP over xDS serves the resource
    /// only to sinks of that revision.
    revision: Option<Arc<str>>,
    /// Its MCP-over-xDS encodings, made on first use and shared by clones.
    xds: Arc<XdsEntries>,
    /// Where it came from (`file:line (document n)`, an etcd key, an
    /// upstream), for introspection; not part of what is served.
    origin: Option<Arc<str>>,
}

/// A resource as the entries of xDS responses.
#[derive(Debug, Default)]
struct XdsEntries {
    wrapped: OnceLock<Bytes>,
    bare: OnceLock<Bytes>,
    delta: OnceLock<Bytes>,
}

impl PartialEq for CachedResource {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.version, &self.encoded) == (&other.name, &other.version, &other.encoded)
    }
}

impl Eq for CachedResource {}

/// The label that ties a resource to one Istio revision.
pub const REVISION_LABEL: &str = "istio.io/rev";

/// Type URL of a resource wrapped for MCP over xDS.
pub const RESOURCE_TYPE_URL: &str = "type.googleapis.com/istio.mcp.v1alpha1.Resource";

/// Field number of `resources` in both `DiscoveryResponse` and
/// `DeltaDiscoveryResponse`.
const XDS_RESOURCES_FIELD: u32 = 2;

impl CachedResource {
    /// Versions and encodes `resource`. Its `metadata.version` is replaced by
    /// a hash of everything else, so unchanged content keeps its version.
    pub fn new(mut resource: Resource) -> Self {
        let metadata = resource.metadata.get_or_insert_with(Default::default);
        let version = content_version(metadata, resource.body.as_ref());
        let metadata = resource.metadata.as_mut().expect("inserted above");
        metadata.version = version.clone();
        let name: Arc<str> = metadata.name.as_str().into();
        let revision = metadata
            .labels
            .get(REVISION_LABEL)
            .map(|r| r.as_str().into());
        ENCODED.fetch_add(1, Ordering::Relaxed);
        let (entry, offset) = encode_entry(&resource);
        Self {
            name,
            version: version.into(),
            encoded: entry.slice(offset..),
            entry,
            revision,
            xds: Arc::default(),
            origin: None,
        }
    }

    /// The `istio.io/rev` label, if the resource has one.
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    /// The resource as an entry of `DiscoveryResponse.resources`: an `Any`
    /// of the `istio.mcp.v1alpha1.Resource`. Encoded on first use, then
    /// shared by every stream.
    pub fn xds_entry(&self) -> &Bytes {
        self.xds.wrapped.get_or_init(|| {
            ENCODED.fetch_add(1, Ordering::Relaxed);
            let any = prost_types::Any {
                type_url: RESOURCE_TYPE_URL.to_owned(),
                value: self.encoded.to_vec(),
            };
            encode_field_entry(XDS_RESOURCES_FIELD, &any)
        })
    }

    /// The body alone as an entry of `DiscoveryResponse.resources` (how
    /// istiod reads its MeshConfig).
    pub fn xds_bare_entry(&self) -> &Bytes {
        self.xds.bare.get_or_init(|| {
            ENCODED.fetch_add(1, Ordering::Relaxed);
            let body = self.decode().body.unwrap_or_default();
            encode_field_entry(XDS_RESOURCES_FIELD, &body)
        })
    }

    /// The resource as an entry of `DeltaDiscoveryResponse.resources`: name,
    /// version and the wrapped `Any` (the body alone when `bare`).
    pub fn xds_delta_entry(&self, bare: bool) -> Bytes {
        let build = || {
            ENCODED.fetch_add(1, Ordering::Relaxed);
            let resource = if bare {
                self.decode().body
            } else {
                Some(prost_types::Any {
                    type_url: RESOURCE_TYPE_URL.to_owned(),
                    value: self.encoded.to_vec(),
                })
            };
            let resource = galleon_proto::xds::Resource {
                version: self.version.to_string(),
                resource,
                name: self.name.to_string(),
            };
            encode_field_entry(XDS_RESOURCES_FIELD, &resource)
        };
        if bare {
            build()
        } else {
            self.xds.delta.get_or_init(build).clone()
        }
    }

    /// The same resource, noted as coming from `origin`.
    pub fn with_origin(mut self, origin: Option<Arc<str>>) -> Self {
        self.origin = origin;
        self
    }

    /// Where it came from, when known.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The resource's name (`namespace/name`, or `name` if cluster-scoped).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The content version, also carried in the encoded `metadata.version`.
    pub fn version(&self) -> &Arc<str> {
        &self.version
    }

    /// The encoded `istio.mcp.v1alpha1.Resource`.
    pub fn encoded(&self) -> &Bytes {
        &self.encoded
    }

    /// The resource as an entry of `Resources.resources` (key, length,
    /// message): what a push writes to the wire.
    pub fn entry(&self) -> &Bytes {
        &self.entry
    }

    /// Decodes the resource again (for introspection, never on the push path).
    pub fn decode(&self) -> Resource {
        Resource::decode(self.encoded.clone()).expect("the cache encoded these bytes itself")
    }
}

fn content_version(
    metadata: &galleon_proto::mcp::Metadata,
    body: Option<&prost_types::Any>,
) -> String {
    let mut hasher = VersionHasher::default();
    hasher.field(&metadata.name);
    match &metadata.create_time {
        Some(t) => hasher.field(format!("{}.{}", t.seconds, t.nanos)),
        None => hasher.field(""),
    };
    // BTreeMaps iterate in key order: the framing is canonical.
    hasher.field(metadata.labels.len().to_le_bytes());
    for (k, v) in &metadata.labels {
        hasher.field(k).field(v);
    }
    hasher.field(metadata.annotations.len().to_le_bytes());
    for (k, v) in &metadata.annotations {
        hasher.field(k).field(v);
    }
    match body {
        Some(any) => hasher.field(&any.type_url).field(&any.value),
        None => hasher.field("").field(""),
    };
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::test_support::resource;

    fn with_version(mut r: Resource, version: &str) -> Resource {
        r.metadata.as_mut().unwrap().version = version.into();
        r
    }

    #[test]
    fn version_depends_on_content_only() {
        let a = CachedResource::new(with_version(resource("ns/a", "1"), "from-source"));
        let b = CachedResource::new(with_version(resource("ns/a", "1"), "other"));
        let c = CachedResource::new(resource("ns/a", "2"));
        assert_eq!(a.version(), b.version());
        assert_eq!(a.encoded(), b.encoded());
        assert_ne!(a.version(), c.version());
        assert_eq!(a.decode().metadata.unwrap().version, a.version().as_ref());
    }

    #[test]
    fn labels_are_part_of_the_version() {
        let a = CachedResource::new(resource("ns/a", "1"));
        let mut changed = resource("ns/a", "1");
        changed
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .insert("tier".into(), "x".into());
        assert_ne!(a.version(), CachedResource::new(changed).version());
    }
}
