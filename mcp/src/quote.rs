//! Quoting input that came from outside (a peer's node id, a file's text)
//! for log lines and messages, so it can neither forge a line nor flood one.

/// Longest piece of input a log line or message quotes.
const QUOTE_MAX: usize = 200;

/// `input` as a log line or message may show it: quoted, control characters
/// escaped (a newline cannot forge a log line), cut after 200 characters
/// with the length of the rest.
pub fn quote(input: &str) -> String {
    let mut chars = input.char_indices();
    let cut = chars.nth(QUOTE_MAX).map(|(at, _)| at);
    match cut {
        None => format!("{input:?}"),
        Some(at) => format!("{:?}… ({} more bytes)", &input[..at], input.len() - at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_bounds_input() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = quote(&"x".repeat(1 << 20));
        assert!(long.len() < 300, "{}", long.len());
        assert!(long.ends_with(&format!("({} more bytes)", (1 << 20) - 200)));
    }
}
