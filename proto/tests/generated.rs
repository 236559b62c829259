//! The generated code in `src/generated/` is what protox and
//! tonic-prost-build make of `proto/**/*.proto` today. It is checked in so
//! that users of the protocol crates compile no protobuf compiler; this test
//! regenerates it and fails on any difference. `BLESS=1` rewrites it.

use std::path::Path;

/// The encoded `FileDescriptorSet` of every service.
const DESCRIPTORS: &str = "descriptors.bin";

fn generate(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let mcp = protox::compile(["istio/mcp/v1alpha1/mcp.proto"], [&root])?;
    tonic_prost_build::configure()
        .out_dir(out)
        // Ordered maps encode deterministically, so equal content gives equal bytes.
        .btree_map(".")
        // Flatten the package tree: `crate::mcp` and `crate::rpc`.
        .extern_path(".google.rpc", "crate::rpc")
        // Pushes carry resources that the cache encoded once; see `encoded.rs`.
        .extern_path(".istio.mcp.v1alpha1.Resources", "crate::encoded::Resources")
        .compile_fds(mcp)?;
    // MCP over xDS: the client half only (galleon serves it by hand, to
    // send the cache's shared bytes).
    let ads = protox::compile(["envoy/service/discovery/v3/ads.proto"], [&root])?;
    tonic_prost_build::configure()
        .out_dir(out)
        .btree_map(".")
        .build_server(false)
        .extern_path(".google.rpc", "crate::rpc")
        .compile_fds(ads)?;
    // etcd's KV range and watch, for the etcd source (client only).
    let etcd = protox::compile(["etcd/rpc.proto"], [&root])?;
    tonic_prost_build::configure()
        .out_dir(out)
        .build_server(false)
        .compile_fds(etcd)?;
    // Every service's descriptors, imports included, for server reflection.
    let mut all = protox::Compiler::new([&root])?;
    all.include_imports(true).open_files([
        "istio/mcp/v1alpha1/mcp.proto",
        "envoy/service/discovery/v3/ads.proto",
    ])?;
    std::fs::write(out.join(DESCRIPTORS), all.encode_file_descriptor_set())?;
    // After the MCP pass, which leaves an empty file for the extern package.
    let rpc = protox::compile(["google/rpc/status.proto"], [&root])?;
    tonic_prost_build::configure()
        .out_dir(out)
        .build_client(false)
        .build_server(false)
        .compile_fds(rpc)?;
    Ok(())
}

#[test]
fn generated_code_matches_the_protos() {
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path()).expect("the protos compile");
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated");
    let bless = std::env::var_os("BLESS").is_some();
    for file in [
        "istio.mcp.v1alpha1.rs",
        "envoy.service.discovery.v3.rs",
        "google.rpc.rs",
        "etcdserverpb.rs",
        DESCRIPTORS,
    ] {
        let generated = std::fs::read(fresh.path().join(file)).unwrap();
        let path = checked_in.join(file);
        if bless {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let current = std::fs::read(&path).unwrap_or_default();
        assert!(
            current == generated,
            "{} is out of date with the protos; regenerate it with `BLESS=1 cargo test -p galleon-proto --test generated`",
            path.display()
        );
    }
}
