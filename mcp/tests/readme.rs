//! The README's sink example is `examples/sink.rs`, which CI builds: the
//! two must not drift apart.

#[test]
fn the_readme_shows_the_sink_example_as_built() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../examples/sink.rs");
    let code: String = example
        .lines()
        .skip_while(|line| line.starts_with("//!") || line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect();
    let block = format!("```rust\n{code}```\n");
    assert!(
        readme.contains(&block),
        "README.md must show mcp/examples/sink.rs as it is:\n{block}"
    );
}
