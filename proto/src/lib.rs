//! Protobuf messages and gRPC services of the Mesh Configuration Protocol
//! (`istio.mcp.v1alpha1`), of Envoy's aggregated discovery service as MCP
//! over xDS uses it (`envoy.service.discovery.v3`), `google.rpc.Status` and the
//! part of etcd's v3 API the etcd source reads (`etcdserverpb`), generated from galleon's own
//! `.proto` files in `proto/proto/` into `src/generated/` (checked in, so
//! users compile no protobuf compiler; `tests/generated.rs` keeps it current).
//!
//! One message is written by hand: [`mcp::Resources`] keeps its resources as
//! already-encoded bytes (see [`encoded`]), which is wire-identical to the
//! `repeated Resource` of the `.proto` and lets a hub encode each resource once
//! however many sinks receive it.

pub mod encoded;
pub mod json;

/// `istio.mcp.v1alpha1`: metadata, resources, requests and the two services.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod mcp {
    include!("generated/istio.mcp.v1alpha1.rs");
    pub use crate::encoded::Resources;
}

/// `envoy.service.discovery.v3`: Envoy's aggregated discovery service, as
/// MCP over xDS uses it (requests, responses and the client).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod xds {
    include!("generated/envoy.service.discovery.v3.rs");
}

/// `google.rpc`: the error model carried in NACKs.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod rpc {
    include!("generated/google.rpc.rs");
}

/// `etcdserverpb`: the part of etcd's v3 API the etcd source speaks (a
/// ranged read and the watch; clients only).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod etcd {
    include!("generated/etcdserverpb.rs");
}

/// The encoded `FileDescriptorSet` of galleon's services and everything they
/// import (for gRPC server reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("generated/descriptors.bin");

/// Type URL of a `google.protobuf.Struct` body.
pub const STRUCT_TYPE_URL: &str = "type.googleapis.com/google.protobuf.Struct";
