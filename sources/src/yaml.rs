//! What the YAML parser says, as one line a user can read.

/// The first line of a multi-line parser message, without its `error: ` tag.
pub fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}
