//! Compiles `proto/**/*.proto` into Rust with protox (a pure-Rust protobuf
//! compiler, so no system `protoc` is needed) and tonic-prost-build.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let mcp = protox::compile(["istio/mcp/v1alpha1/mcp.proto"], [root])?;
    tonic_prost_build::configure()
        // Ordered maps encode deterministically, so equal content gives equal bytes.
        .btree_map(".")
        // Flatten the package tree: `crate::mcp` and `crate::rpc`.
        .extern_path(".google.rpc", "crate::rpc")
        // Pushes carry resources that the cache encoded once; see `encoded.rs`.
        .extern_path(".istio.mcp.v1alpha1.Resources", "crate::encoded::Resources")
        .compile_fds(mcp)?;

    // After the MCP pass, which leaves an empty file for the extern package.
    let rpc = protox::compile(["google/rpc/status.proto"], [root])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(false)
        .compile_fds(rpc)?;
    Ok(())
}
