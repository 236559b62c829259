//! Builds the plugin crates to `wasm32-wasip2` components with a nested
//! `cargo build` into this crate's `OUT_DIR`, and generates one path constant
//! per component. No `.wasm` is checked in; a fresh machine needs only the
//! target, which `rust-toolchain.toml` (and `.ci/run`) install.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (constant, package, features, component file name).
const BUILDS: &[(&str, &str, &str, &str)] = &[
    ("AUTHPOLICY", "authpolicy", "", "authpolicy.wasm"),
    ("ADD_LABEL", "add-label", "", "add_label.wasm"),
    (
        "ADD_LABEL_CHANGED",
        "add-label",
        "changed-build",
        "add_label_changed.wasm",
    ),
    (
        "ADD_LABEL_SAME_OUTPUT",
        "add-label",
        "same-output-rebuild",
        "add_label_same_output.wasm",
    ),
    ("REQUIRE_HOSTS", "require-hosts", "", "require_hosts.wasm"),
    ("HOSTILE", "hostile", "", "hostile.wasm"),
    (
        "FAILING_VALIDATOR",
        "failing-validator",
        "",
        "failing_validator.wasm",
    ),
    (
        "FUTURE_VERSION",
        "future-version",
        "",
        "future_version.wasm",
    ),
];

/// Sources whose change must rebuild the components.
const WATCHED: &[&str] = &[
    "plugin-sdk",
    "examples/plugins",
    "tests/plugins",
    "Cargo.lock",
];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    for watched in WATCHED {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = out.join("wasm");
    let mut generated = String::new();
    for (constant, package, features, file) in BUILDS {
        build(&root, &target_dir, package, features);
        let built = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let dest = out.join(file);
        std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
        writeln!(
            generated,
            "/// `{package}` built for {TARGET}{}.",
            if features.is_empty() {
                String::new()
            } else {
                format!(" with `{features}`")
            }
        )
        .unwrap();
        writeln!(
            generated,
            "pub const {constant}: &str = {:?};",
            dest.display().to_string()
        )
        .unwrap();
    }
    std::fs::write(out.join("components.rs"), generated).expect("write components.rs");
}

fn build(root: &Path, target_dir: &Path, package: &str, features: &str) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            package,
            "--target-dir",
        ])
        .arg(target_dir)
        // The host build's flags and target directory are not the plugins'.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    let status = command.status().expect("run cargo for the plugins");
    assert!(
        status.success(),
        "building plugin `{package}` for {TARGET} failed; is the target installed? `rustup target add {TARGET}`"
    );
}
