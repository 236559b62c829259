//! Rebuilds the crate when a template changes: `include_dir!` does not tell
//! cargo which files it read (on stable Rust).

fn main() {
    for dir in [
        "templates",
        "../plugin-sdk",
        "../examples/plugins/add-label/fixtures",
        "../examples/plugins/require-hosts/fixtures",
        "../examples/plugins/c",
        "../examples/plugins/js",
        "../examples/plugins/python",
    ] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
