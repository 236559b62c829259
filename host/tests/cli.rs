//! The `galleon` command line itself. (Having an integration test here also
//! makes `cargo test --workspace` build the binary that `tests/` runs.)

use std::process::Command;

fn galleon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_galleon"))
        .args(args)
        .output()
        .expect("run galleon")
}

#[test]
fn prints_its_version() {
    let out = galleon(&["--version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("galleon {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn watch_requires_a_collection() {
    let out = galleon(&["watch", "--addr", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit with 2");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--collection"), "{stderr}");
}

#[test]
fn watch_rejects_a_malformed_address() {
    let out = galleon(&["watch", "--addr", "not a url", "--collection", "c"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("invalid --addr"), "{stderr}");
}
