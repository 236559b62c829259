//! Builds the plugin crates to `wasm32-wasip2` components with a nested
//! `cargo build` into this crate's `OUT_DIR`, and generates one path constant
//! per component. No `.wasm` is checked in; a fresh machine needs only the
//! target, which `rust-toolchain.toml` (and `.ci/run`) install.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (constant, package, features, component file name).
type Build = (&'static str, &'static str, &'static str, &'static str);

/// The built-in plugins, bundled into the `galleon` binary.
const BUILTINS: &[Build] = &[
    ("AUTHPOLICY", "authpolicy", "", "authpolicy.wasm"),
    ("INGRESS", "ingress", "", "ingress.wasm"),
    ("SERVICEENTRY", "serviceentry", "", "serviceentry.wasm"),
];

/// Example and test plugins (feature `test-plugins`).
const TEST_BUILDS: &[Build] = &[
    (
        "AUTHPOLICY_MARKED",
        "authpolicy",
        "marked-build",
        "authpolicy_marked.wasm",
    ),
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
    "plugins/authpolicy",
    "plugins/ingress",
    "plugins/serviceentry",
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
    println!("cargo:rerun-if-env-changed=GALLEON_PLUGIN_TOOLCHAIN");
    for watched in WATCHED {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();
    let target_dir = out.join("wasm");
    let mut generated = String::new();
    let mut bundled = String::new();
    let tests = env::var_os("CARGO_FEATURE_TEST_PLUGINS").is_some();
    let builds = BUILTINS
        .iter()
        .map(|b| (b, true))
        .chain(TEST_BUILDS.iter().filter(|_| tests).map(|b| (b, false)));
    for ((constant, package, features, file), builtin) in builds {
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
        if builtin {
            writeln!(
                bundled,
                "    ({package:?}, include_bytes!({:?})),",
                dest.display().to_string()
            )
            .unwrap();
        }
    }
    writeln!(
        generated,
        "/// The built-in plugins by name, as bundled into the binary.\npub const BUILTINS: &[(&str, &[u8])] = &[\n{bundled}];"
    )
    .unwrap();
    std::fs::write(out.join("components.rs"), generated).expect("write components.rs");
}

/// Installs the wasm target into the toolchain cargo runs with, if it is
/// missing (`rust-toolchain.toml` lists it, but rustup may be set not to
/// install components on its own).
fn ensure_target() {
    let toolchain = plugin_toolchain();
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    if let Some(toolchain) = &toolchain {
        list.args(["--toolchain", toolchain]);
    }
    let Ok(installed) = list.output() else {
        return; // No rustup: the toolchain is managed some other way.
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t.trim() == TARGET)
    {
        return;
    }
    println!(
        "cargo:warning=installing the {TARGET} target for galleon's plugins (rustup target add {TARGET})"
    );
    let mut add = Command::new("rustup");
    add.args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        add.args(["--toolchain", toolchain]);
    }
    let added = add.status().is_ok_and(|s| s.success());
    assert!(
        added,
        "the {TARGET} target is missing and could not be installed: run `rustup target add {TARGET}`"
    );
}

/// The toolchain the plugins are built with: `GALLEON_PLUGIN_TOOLCHAIN`
/// when set (the fuzz build runs on nightly, which may lack the wasm
/// target), else the one cargo runs with.
fn plugin_toolchain() -> Option<String> {
    env::var("GALLEON_PLUGIN_TOOLCHAIN")
        .ok()
        .or_else(|| env::var("RUSTUP_TOOLCHAIN").ok())
}

fn build(root: &Path, target_dir: &Path, package: &str, features: &str) {
    let mut command = match env::var("GALLEON_PLUGIN_TOOLCHAIN") {
        Ok(toolchain) => {
            let mut rustup = Command::new("rustup");
            rustup
                .args(["run", &toolchain, "cargo"])
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO")
                .env_remove("RUSTC");
            rustup
        }
        Err(_) => Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
    };
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
