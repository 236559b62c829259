//! String formats the API server checks (`format:` in a schema, apiextensions'
//! `supportedVersionedFormats` over kube-openapi's `strfmt` registry); every other format,
//! `int32`, `int64`, `float` and `double` included, is ignored, as the API server strips them.

use std::net::IpAddr;
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

/// A format name normalised as go-openapi does (dashes dropped: `date-time` is `datetime`).
fn normalise(name: &str) -> String {
    name.replace('-', "")
}

/// Whether the API server validates this format at all.
pub fn is_validated(name: &str) -> bool {
    matches!(
        normalise(name).as_str(),
        "bsonobjectid"
            | "uri"
            | "email"
            | "hostname"
            | "ipv4"
            | "ipv6"
            | "cidr"
            | "mac"
            | "uuid"
            | "uuid3"
            | "uuid4"
            | "uuid5"
            | "isbn"
            | "isbn10"
            | "isbn13"
            | "creditcard"
            | "ssn"
            | "hexcolor"
            | "rgbcolor"
            | "byte"
            | "password"
            | "date"
            | "duration"
            | "datetime"
            | "k8sshortname"
            | "k8slongname"
    )
}

macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("a valid pattern"));
    };
}

re!(
    HOSTNAME,
    r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$"
);
re!(
    UUID,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID3,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID4,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(
    UUID5,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(BSON, r"^[0-9a-fA-F]{24}$");
re!(
    EMAIL,
    r"^(?:[^<>@\s]+\s*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$"
);
re!(ISBN10, r"^(?:[0-9]{9}X|[0-9]{10})$");
re!(ISBN13, r"^(?:[0-9]{13})$");
re!(
    CREDITCARD,
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$"
);
re!(SSN, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$");
re!(HEXCOLOR, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
re!(
    RGBCOLOR,
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
);
re!(
    MAC,
    r"^(?:[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){7}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){19}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){2}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){3}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){9})$"
);
re!(DURATION_WORDS, r"^\s*(?:(\d+)\s*([A-Za-zµ]+)\s*)+$");
re!(DNS1123_LABEL, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
re!(
    DNS1123_SUBDOMAIN,
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
);
re!(
    DATETIME_LOCAL,
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
);

/// Whether `value` is of the format (true for a format the API server does not check).
pub fn check(name: &str, value: &str) -> bool {
    match normalise(name).as_str() {
        "bsonobjectid" => BSON.is_match(value),
        "uri" => is_request_uri(value),
        "email" => EMAIL.is_match(value),
        "hostname" => value.len() <= 255 && HOSTNAME.is_match(value),
        "ipv4" => value.parse::<IpAddr>().is_ok() && value.contains('.'),
        "ipv6" => value.parse::<IpAddr>().is_ok() && value.contains(':'),
        "cidr" => is_cidr(value),
        "mac" => MAC.is_match(value),
        "uuid" => UUID.is_match(value),
        "uuid3" => UUID3.is_match(value),
        "uuid4" => UUID4.is_match(value),
        "uuid5" => UUID5.is_match(value),
        "isbn" => is_isbn10(value) || is_isbn13(value),
        "isbn10" => is_isbn10(value),
        "isbn13" => is_isbn13(value),
        "creditcard" => {
            let digits: String = value.chars().filter(char::is_ascii_digit).collect();
            CREDITCARD.is_match(&digits)
        }
        "ssn" => SSN.is_match(value),
        "hexcolor" => HEXCOLOR.is_match(value),
        "rgbcolor" => RGBCOLOR.is_match(value),
        "byte" => base64::engine::general_purpose::STANDARD
            .decode(value)
            .is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() && value.len() == 10,
        "duration" => is_duration(value),
        "datetime" => is_datetime(value),
        "k8sshortname" => value.len() <= 63 && DNS1123_LABEL.is_match(value),
        "k8slongname" => value.len() <= 253 && DNS1123_SUBDOMAIN.is_match(value),
        _ => true,
    }
}

/// Go's `url.ParseRequestURI`: an absolute URI, or an absolute path.
fn is_request_uri(value: &str) -> bool {
    if value.is_empty() || value.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return false;
    }
    if value.starts_with('/') {
        return true;
    }
    match value.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && url::Url::parse(value).is_ok()
        }
        None => false,
    }
}

/// Go's `net.ParseCIDR`.
pub(crate) fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    if bits.is_empty()
        || bits.len() > 3
        || !bits.chars().all(|c| c.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return false;
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u32>().is_ok_and(|b| b <= max)
}

fn is_isbn10(value: &str) -> bool {
    let s: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if !ISBN10.is_match(&s) {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in s.chars().enumerate() {
        let d = if c == 'X' {
            10
        } else {
            c.to_digit(10).unwrap_or(0)
        };
        sum += (10 - i as u32) * d;
    }
    sum.is_multiple_of(11)
}

fn is_isbn13(value: &str) -> bool {
    let s: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if !ISBN13.is_match(&s) {
        return false;
    }
    let sum: u32 = s
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    sum.is_multiple_of(10)
}

/// strfmt's duration: Go's `time.ParseDuration`, or numbers with unit words (`3 days`).
fn is_duration(value: &str) -> bool {
    if crate::goduration::parse_go_duration(value).is_some() {
        return true;
    }
    if !DURATION_WORDS.is_match(value) {
        return false;
    }
    static PART: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\d+)\s*([A-Za-zµ]+)").expect("a valid pattern"));
    PART.captures_iter(value).all(|c| {
        matches!(
            &c[2],
            "ns" | "us"
                | "µs"
                | "ms"
                | "s"
                | "m"
                | "h"
                | "d"
                | "w"
                | "nanosecond"
                | "nanoseconds"
                | "microsecond"
                | "microseconds"
                | "millisecond"
                | "milliseconds"
                | "second"
                | "seconds"
                | "sec"
                | "secs"
                | "minute"
                | "minutes"
                | "min"
                | "mins"
                | "hour"
                | "hours"
                | "hr"
                | "hrs"
                | "day"
                | "days"
                | "week"
                | "weeks"
        )
    })
}

/// strfmt's date-time: RFC 3339 (fractions optional), or without a zone.
fn is_datetime(value: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(value).is_ok()
        || (DATETIME_LOCAL.is_match(value)
            && (chrono::NaiveDateTime::parse_from_str(
                &value.replace(['t', ' '], "T"),
                "%Y-%m-%dT%H:%M:%S%.f",
            )
            .is_ok()
                || chrono::NaiveDateTime::parse_from_str(
                    &value.replace(['t', ' '], "T"),
                    "%Y-%m-%dT%H:%M",
                )
                .is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(check("ipv4", "10.0.0.1"));
        assert!(!check("ipv4", "10.0.0.256"));
        assert!(!check("ipv4", "::1"));
        assert!(check("ipv6", "::1"));
        assert!(check("cidr", "10.0.0.0/8"));
        assert!(!check("cidr", "10.0.0.0/33"));
        assert!(check("date-time", "2024-01-02T03:04:05Z"));
        assert!(check("date-time", "2024-01-02T03:04:05.123+02:00"));
        assert!(!check("date-time", "yesterday"));
        assert!(check("date", "2024-02-29"));
        assert!(!check("date", "2023-02-29"));
        assert!(check("uri", "https://example.com/x?y=1"));
        assert!(check("uri", "/just/a/path"));
        assert!(!check("uri", "123"));
        assert!(check("email", "a@example.com"));
        assert!(!check("email", "nope"));
        assert!(check("hostname", "example.com"));
        assert!(!check("hostname", "-bad-.com"));
        assert!(check("mac", "00:1a:2b:3c:4d:5e"));
        assert!(!check("mac", "00:1a:2b"));
        assert!(check("uuid", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(check("uuid4", "123e4567-e89b-42d3-a456-426614174000"));
        assert!(!check("uuid4", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(check("byte", "aGVsbG8="));
        assert!(!check("byte", "not base64!"));
        assert!(check("duration", "1h30m"));
        assert!(check("duration", "3 days"));
        assert!(!check("duration", "soon"));
        assert!(check("isbn10", "0321751043"));
        assert!(check("isbn13", "978-0321751041"));
        assert!(check("hexcolor", "#FFF"));
        assert!(check("rgbcolor", "rgb(255, 0, 10)"));
        assert!(check("ssn", "123-45-6789"));
        assert!(check("creditcard", "4111 1111 1111 1111"));
        assert!(check("bsonobjectid", "507f1f77bcf86cd799439011"));
        assert!(check("k8s-short-name", "abc-1"));
        assert!(!check("k8s-short-name", "ABC"));
        // Ignored as the API server ignores them.
        assert!(!is_validated("int32"));
        assert!(check("int32", "anything"));
    }
}
