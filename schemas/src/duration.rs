//! Durations as Istio users write them: Go's `time.ParseDuration` form
//! (`30ms`, `1.5s`, `2m`, `1h30m`, `-1s`) beside protobuf JSON's canonical
//! seconds (`"0.030s"`), both read into a `google.protobuf.Duration`.

use prost_types::Duration;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Units and their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SECOND),
    ("m", 60 * NANOS_PER_SECOND),
    ("h", 3_600 * NANOS_PER_SECOND),
];

/// The largest duration protobuf allows: 10,000 years.
const MAX_SECONDS: u128 = 315_576_000_000;

/// Why text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (write e.g. 30ms, 1.5s, 2m or 1h)")]
pub struct InvalidDuration {
    text: String,
    reason: &'static str,
}

/// Parses `text` as a sequence of `<decimal><unit>` terms, optionally signed.
pub fn parse(text: &str) -> Result<Duration, InvalidDuration> {
    let invalid = |reason| InvalidDuration {
        text: text.to_owned(),
        reason,
    };
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(Duration::default());
    }
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| invalid("missing unit"))?;
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .ok_or_else(|| invalid("unknown unit"))?;
        let nanos = match term(number, scale) {
            Term::Nanos(nanos) => nanos,
            Term::Invalid => return Err(invalid("not a number")),
            Term::TooPrecise => return Err(invalid("more precise than a nanosecond")),
        };
        total = total
            .checked_add(nanos)
            .ok_or_else(|| invalid("too long"))?;
        rest = after;
    }
    if total / NANOS_PER_SECOND > MAX_SECONDS {
        return Err(invalid("longer than 10,000 years"));
    }
    let sign = if negative { -1 } else { 1 };
    Ok(Duration {
        seconds: sign * (total / NANOS_PER_SECOND) as i64,
        nanos: sign as i32 * (total % NANOS_PER_SECOND) as i32,
    })
}

/// One `<decimal><unit>` term, read.
enum Term {
    /// Its length.
    Nanos(u128),
    /// Not a decimal number (or too large).
    Invalid,
    /// A nonzero digit below a nanosecond: it would be lost, so a tiny
    /// positive duration would be served as zero.
    TooPrecise,
}

/// `number` (digits with at most one decimal point) times `scale`
/// nanoseconds.
fn term(number: &str, scale: u128) -> Term {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Term::Invalid;
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Term::Invalid;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        match whole.parse() {
            Ok(whole) => whole,
            Err(_) => return Term::Invalid,
        }
    };
    let Some(mut nanos) = whole.checked_mul(scale) else {
        return Term::Invalid;
    };
    let mut place = scale;
    for digit in fraction.bytes() {
        place /= 10;
        let digit = u128::from(digit - b'0');
        if place == 0 {
            if digit != 0 {
                return Term::TooPrecise;
            }
            continue;
        }
        nanos += digit * place;
    }
    Term::Nanos(nanos)
}

/// `duration` in protobuf JSON's canonical form (`"1.500s"`).
pub fn canonical(duration: &Duration) -> String {
    duration.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(text: &str) -> i128 {
        let d = parse(text).unwrap();
        i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos)
    }

    #[test]
    fn the_forms_istio_users_write() {
        assert_eq!(nanos("30ms"), 30_000_000);
        assert_eq!(nanos("1.5s"), 1_500_000_000);
        assert_eq!(nanos("2m"), 120_000_000_000);
        assert_eq!(nanos("1h"), 3_600_000_000_000);
        assert_eq!(nanos("1h30m"), 5_400_000_000_000);
        assert_eq!(nanos("0.030s"), 30_000_000);
        assert_eq!(nanos("-1.5s"), -1_500_000_000);
        assert_eq!(nanos("250us"), 250_000);
        assert_eq!(nanos("0"), 0);
        assert_eq!(
            nanos("0.1000000000s"),
            100_000_000,
            "trailing zeros lose nothing"
        );
    }

    #[test]
    fn malformed_durations_say_why() {
        for (text, reason) in [
            ("", "empty"),
            ("10", "missing unit"),
            ("10 s", "unknown unit"),
            ("3d", "unknown unit"),
            ("1.2.3s", "not a number"),
            ("s", "not a number"),
            ("99999999999999h", "longer than 10,000 years"),
            ("0.0000000001s", "more precise than a nanosecond"),
            ("1.0000000001ms", "more precise than a nanosecond"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
    }

    #[test]
    fn canonical_text_reads_back_as_the_same_duration() {
        for text in ["30ms", "1.5s", "2m", "-1.25s", "1ns"] {
            let duration = parse(text).unwrap();
            let back: Duration = canonical(&duration).parse().unwrap();
            assert_eq!(back, duration, "{text}");
        }
    }
}
