//! `schema.ValidationAnalyzer.VirtualService`: Istio's checks of a
//! VirtualService's meaning beyond its schema — rules no request can reach
//! (a rule after one without matches, or whose every match an earlier rule
//! took; IST0130), matches an earlier one makes ineffective, exactly or by
//! a URI prefix that covers it (IST0131), and destination weights and match
//! regexes Istio refuses (IST0106).

use std::collections::BTreeMap;

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::{Map, Value};

use crate::collections::VIRTUAL_SERVICES;
use crate::messages::{
    Finding, INEFFECTIVE_MATCH, SCHEMA_VALIDATION_ERROR, UNREACHABLE_RULE, finding,
};
use crate::store::{Store, items};

const ANALYZER: &str = "schema.ValidationAnalyzer.VirtualService";

/// A rule's or match's name as Istio prints it: quoted, else `#index`.
fn label(value: &Value, index: usize, named: bool) -> String {
    match value
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| named && !n.is_empty())
    {
        Some(name) => format!("{name:?}"),
        None => format!("#{index}"),
    }
}

struct Report<'a> {
    vs: &'a Resource,
    found: Vec<Finding>,
}

impl Report<'_> {
    fn unreachable(&mut self, rule: &str, why: &str) {
        let text = format!("VirtualService rule {rule} not used ({why}).");
        self.found.push(finding(
            ANALYZER,
            &UNREACHABLE_RULE,
            self.vs,
            None,
            text,
            Vec::new(),
        ));
    }

    fn invalid(&mut self, why: &str) {
        let text = format!("Schema validation error: {why}");
        let duplicate = self.found.iter().any(|f| f.message.text == text);
        if !duplicate {
            self.found.push(finding(
                ANALYZER,
                &SCHEMA_VALIDATION_ERROR,
                self.vs,
                None,
                text,
                Vec::new(),
            ));
        }
    }

    fn ineffective(&mut self, rule: &str, matched: &str, earlier: &str) {
        let text = format!(
            "VirtualService rule {rule} match {matched} is not used (duplicate/overlapping match in rule {earlier})."
        );
        self.found.push(finding(
            ANALYZER,
            &INEFFECTIVE_MATCH,
            self.vs,
            None,
            text,
            Vec::new(),
        ));
    }
}

/// An HTTP match's URI prefix and what else it needs, encoded so that one
/// covers another when each value of it is a prefix of the other's.
struct Prefixed {
    rule: String,
    matched: String,
    prefix: String,
    port: Option<Value>,
    method: String,
    authority: String,
    maps: [BTreeMap<String, String>; 3],
}

fn string_match(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    for kind in ["exact", "prefix"] {
        if let Some(s) = value.get(kind).and_then(Value::as_str) {
            return format!("{kind}:{s}");
        }
    }
    String::new()
}

fn prefixed(rule: String, matched: String, m: &Value) -> Option<Prefixed> {
    let prefix = m
        .pointer("/uri/prefix")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())?;
    let encoded = |field: &str| -> BTreeMap<String, String> {
        m.get(field)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), string_match(Some(v))))
                    .collect()
            })
            .unwrap_or_default()
    };
    let method = string_match(m.get("method"));
    Some(Prefixed {
        rule,
        matched,
        prefix: prefix.to_owned(),
        port: m.get("port").cloned(),
        method: if method.is_empty() {
            "exact:GET".into()
        } else {
            method
        },
        authority: string_match(m.get("authority")),
        maps: [
            encoded("headers"),
            encoded("queryParams"),
            encoded("withoutHeaders"),
        ],
    })
}

fn covers(a: &Prefixed, b: &Prefixed) -> bool {
    let within = |x: &str, y: &str| x == y || x.starts_with(y);
    b.prefix.starts_with(&a.prefix)
        && a.port == b.port
        && within(&a.method, &b.method)
        && within(&a.authority, &b.authority)
        && a.maps.iter().zip(&b.maps).all(|(x, y)| {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| within(v, w)))
        })
}

/// Rules of one list (`http`, `tcp` or `tls`) no request reaches, and
/// matches an earlier rule already takes.
fn unreachable(report: &mut Report<'_>, rules: &Value, http: bool) -> Vec<Prefixed> {
    let mut seen: Vec<(Value, String)> = Vec::new();
    let mut without_matches = false;
    let mut prefixes = Vec::new();
    for (i, rule) in items(Some(rules)).enumerate() {
        let name = label(rule, i, http);
        let matches: Vec<&Value> = items(rule.get("match")).collect();
        if matches.is_empty() {
            if without_matches {
                report.unreachable(&name, "only the last rule can have no matches");
            }
            without_matches = true;
            continue;
        }
        let mut duplicates = 0;
        for (j, m) in matches.iter().enumerate() {
            if without_matches {
                report.unreachable(&name, "route without matches defined before");
                continue;
            }
            let mut key = (*m).clone();
            if let (true, Some(object)) = (http, key.as_object_mut()) {
                object.remove("name");
            }
            let matched = label(m, j, http);
            if let Some((_, earlier)) = seen.iter().find(|(k, _)| *k == key) {
                report.ineffective(&name, &matched, earlier);
                duplicates += 1;
                continue;
            }
            seen.push((key, name.clone()));
            if http {
                prefixes.extend(prefixed(name.clone(), matched, m));
            }
        }
        if duplicates == matches.len() {
            report.unreachable(&name, "all matches used by prior rules");
        }
    }
    prefixes
}

/// Negative weights, and several destinations whose weights add up to 0.
fn weights(report: &mut Report<'_>, rules: &Value) {
    for rule in items(Some(rules)) {
        let destinations: Vec<&Value> = items(rule.get("route")).collect();
        let mut total = 0;
        for destination in &destinations {
            let weight = destination
                .get("weight")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if weight < 0 {
                report.invalid(&format!("weight {weight} < 0"));
            }
            total += weight;
        }
        if destinations.len() > 1 && total == 0 {
            report.invalid("total destination weight = 0");
        }
    }
}

/// The longest regex Istio accepts, in bytes.
const REGEX_MAX: usize = 1024;

/// Regexes of HTTP matches that are empty, too long, or not RE2 syntax.
fn regexes(report: &mut Report<'_>, rules: &Value) {
    let check = |report: &mut Report<'_>, field: &str, matcher: &Value| {
        let Some(regex) = matcher.get("regex").and_then(Value::as_str) else {
            return;
        };
        // Istio lets `*` stand for "any value" where a header must be absent.
        if field == "withoutHeaders" && regex == "*" {
            return;
        }
        if regex.is_empty() {
            report.invalid(&format!(
                "{field:?}: regex string match should not be empty"
            ));
        } else if regex.len() > REGEX_MAX {
            report.invalid(&format!(
                "{field:?}: regex is too large, max length allowed is {REGEX_MAX}"
            ));
        } else if let Err(error) = regex_syntax::Parser::new().parse(regex) {
            // Its last line says what is wrong; the others draw the pattern.
            let text = error.to_string();
            let what = text
                .lines()
                .last()
                .unwrap_or("")
                .trim_start_matches("error: ");
            let error = format!("error parsing regexp: {what}: `{regex}`");
            report.invalid(&format!("{field:?}: {error}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"));
        }
    };
    for m in items(Some(rules)).flat_map(|rule| items(rule.get("match"))) {
        for field in ["uri", "scheme", "method", "authority"] {
            if let Some(matcher) = m.get(field) {
                check(report, field, matcher);
            }
        }
        for field in ["headers", "withoutHeaders", "queryParams"] {
            for matcher in m
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(Map::values)
            {
                check(report, field, matcher);
            }
        }
    }
}

pub(crate) fn validate(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    let empty = Value::Object(Map::new());
    for vs in store.all(VIRTUAL_SERVICES) {
        let mut report = Report {
            vs,
            found: Vec::new(),
        };
        let list = |field: &str| vs.body.get(field).unwrap_or(&empty);
        for field in ["http", "tcp", "tls"] {
            weights(&mut report, list(field));
        }
        regexes(&mut report, list("http"));
        let prefixes = unreachable(&mut report, list("http"), true);
        unreachable(&mut report, list("tcp"), false);
        unreachable(&mut report, list("tls"), false);
        for (i, a) in prefixes.iter().enumerate() {
            for b in &prefixes[i + 1..] {
                if a.prefix != b.prefix && covers(a, b) {
                    report.ineffective(
                        &b.rule,
                        &format!("{} of prefix {}", b.matched, b.prefix),
                        &format!("{} of prefix {} on {}", a.matched, a.prefix, a.rule),
                    );
                }
            }
        }
        found.extend(report.found);
    }
    found
}
