//! Builds the plugin crates of the guest workspace (`plugins/Cargo.toml`)
//! to `wasm32-wasip2` components with a nested `cargo build` into this
//! crate's `OUT_DIR`, and generates one path constant per component. No
//! `.wasm` is checked in; a fresh machine needs only the target, which
//! `.ci/toolchains` installs (this script never installs it: it fails
//! naming the command).

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
    ("ANALYZERS", "analyzers", "", "analyzers.wasm"),
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
    (
        "UNUSED_GATEWAYS",
        "unused-gateways",
        "",
        "unused_gateways.wasm",
    ),
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
    ("CONTRACT_0_1", "contract-0-1", "", "contract_0_1.wasm"),
];

/// Sources whose change must rebuild the components.
const WATCHED: &[&str] = &[
    "plugin-sdk",
    "plugins/Cargo.toml",
    "plugins/Cargo.lock",
    "plugins/authpolicy",
    "plugins/ingress",
    "plugins/serviceentry",
    "plugins/analyzers",
    "examples/plugins/add-label",
    "examples/plugins/require-hosts",
    "examples/plugins/unused-gateways",
    "tests/plugins/hostile",
    "tests/plugins/failing-validator",
    "tests/plugins/future-version",
    "tests/plugins/contract-0.1",
    "plugin-host/wit-0.1.0",
];

/// The guest workspace's manifest, relative to the repository root.
const GUESTS: &str = "plugins/Cargo.toml";

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("..").canonicalize().expect("repository root");
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

/// Fails, naming the command to run, when the toolchain the plugins are
/// built with has no `wasm32-wasip2` standard library.
fn ensure_target() {
    let mut rustc = match plugin_toolchain() {
        Some(toolchain) => {
            let mut rustup = Command::new("rustup");
            rustup.args(["run", &toolchain, "rustc"]);
            rustup
        }
        None => Command::new(env::var("RUSTC").unwrap_or_else(|_| "rustc".into())),
    };
    let Ok(sysroot) = rustc.args(["--print", "sysroot"]).output() else {
        return; // The nested build will say what is wrong.
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let installed = sysroot.join("lib/rustlib").join(TARGET).is_dir();
    assert!(
        installed,
        "the {TARGET} target is not installed in {}: run `rustup target add {TARGET}` (or `.ci/toolchains`)",
        sysroot.display()
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
        .args(["build", "--release", "--locked", "--manifest-path", GUESTS])
        .args(["--target", TARGET, "-p", package, "--target-dir"])
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
        "building plugin `{package}` for {TARGET} failed: see the compiler's output above"
    );
}
