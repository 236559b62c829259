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

/// `input` as a log line, a table cell or a message may show it: control
/// characters escaped (no escape sequence or newline reaches a terminal or
/// forges a line), cut after `max` characters with `…`. Unlike [`quote`],
/// not in quotes, and other characters as they are.
pub fn escaped(input: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in input.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `input` as a Prometheus label value: backslashes, double quotes and
/// newlines escaped as the text format escapes them, other control
/// characters replaced by U+FFFD (the format has no escape for them), cut
/// after `max` characters with `…`, so a value cannot forge a series.
pub fn label_value(input: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in input.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The candidate `input` most likely misspells, for a "did you mean" (a
/// close enough one; none when nothing is).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(input, candidate), candidate))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `; did you mean X?` when a candidate is close to `input`, else nothing.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(input, candidates).map_or_else(String::new, |c| format!("; did you mean {c:?}?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_name_is_suggested() {
        let collections = [
            "istio/networking/v1alpha3/virtualservices",
            "istio/networking/v1alpha3/gateways",
        ];
        assert_eq!(
            closest("istio/networking/v1alpha3/virtualservice", collections),
            Some("istio/networking/v1alpha3/virtualservices")
        );
        assert_eq!(closest("k8s/core/v1/pods", collections), None);
        assert_eq!(
            did_you_mean("Gatway", ["Gateway", "Sidecar"]),
            "; did you mean \"Gateway\"?"
        );
    }

    #[test]
    fn label_values_cannot_forge_a_series() {
        let forged = "a\"} 1\ngalleon_forged{x=\"y\\";
        assert_eq!(
            label_value(forged, 100),
            r#"a\"} 1\ngalleon_forged{x=\"y\\"#
        );
        assert_eq!(label_value("\u{1b}[2J", 100), "\u{fffd}[2J");
        assert_eq!(label_value(&"x".repeat(1000), 4), "xxxx…");
    }

    #[test]
    fn escaping_removes_control_characters_and_bounds_input() {
        assert_eq!(escaped("a\u{1b}[2Jb\nc", 100), r"a\u{1b}[2Jb\nc");
        assert_eq!(escaped("abcdef", 3), "abc…");
        assert_eq!(escaped(&"é".repeat(70_000), 8).chars().count(), 9);
    }

    #[test]
    fn quoting_escapes_and_bounds_input() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = quote(&"x".repeat(1 << 20));
        assert!(long.len() < 300, "{}", long.len());
        assert!(long.ends_with(&format!("({} more bytes)", (1 << 20) - 200)));
    }
}
