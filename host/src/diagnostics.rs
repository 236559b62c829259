//! The ledger of bad input: every problem galleon found with what it was
//! given (a malformed document, an unknown kind, a duplicate name, a body a
//! codec cannot encode), grouped by scope (usually a file), with where and
//! why. A scope's problems are replaced whenever it is re-read, so the ledger
//! always shows what is wrong *now*; a counter keeps the total ever reported.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tracing::warn;

/// One problem with the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `path`, `path:line (document n)` or a pipeline stage.
    pub location: String,
    /// Why, in words a user can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

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

/// Escapes control characters in text built from input, for logs.
fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .flat_map(|c| {
                let escape = c
                    .is_control()
                    .then(|| c.escape_default().collect::<String>());
                escape
                    .unwrap_or_else(|| c.to_string())
                    .chars()
                    .collect::<Vec<_>>()
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Current problems by scope. Cheap to clone; clones share the ledger.
#[derive(Clone, Default)]
pub struct Diagnostics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    scopes: Mutex<BTreeMap<String, Vec<Problem>>>,
    reported: AtomicU64,
}

impl Diagnostics {
    /// Replaces the problems of `scope`, logging the ones not already listed.
    pub fn set(&self, scope: &str, problems: Vec<Problem>) {
        let mut scopes = self
            .inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = scopes.remove(scope).unwrap_or_default();
        for problem in problems.iter().filter(|p| !old.contains(p)) {
            self.inner.reported.fetch_add(1, Ordering::Relaxed);
            warn!(location = %escaped(&problem.location), "{}", escaped(&problem.message));
        }
        if !problems.is_empty() {
            scopes.insert(scope.to_owned(), problems);
        }
    }

    /// Clears `scope`.
    pub fn clear(&self, scope: &str) {
        self.set(scope, Vec::new());
    }

    /// Every current problem, by scope.
    pub fn current(&self) -> BTreeMap<String, Vec<Problem>> {
        self.inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every current problem, flattened.
    pub fn problems(&self) -> Vec<Problem> {
        self.current().into_values().flatten().collect()
    }

    /// Problems reported since start (each distinct problem once per
    /// appearance).
    pub fn reported(&self) -> u64 {
        self.inner.reported.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(message: &str) -> Problem {
        Problem {
            location: "f.yaml:1".into(),
            message: message.into(),
        }
    }

    #[test]
    fn quoting_escapes_and_bounds_input() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = quote(&"x".repeat(1 << 20));
        assert!(long.len() < 300, "{}", long.len());
        assert!(long.ends_with(&format!("({} more bytes)", (1 << 20) - 200)));
        assert_eq!(escaped("line\nforged"), "line\\nforged");
        assert_eq!(escaped("plain"), "plain");
    }

    #[test]
    fn scopes_are_replaced_and_new_problems_counted_once() {
        let d = Diagnostics::default();
        d.set("f.yaml", vec![problem("bad")]);
        d.set("f.yaml", vec![problem("bad")]);
        assert_eq!(d.reported(), 1);
        d.set("f.yaml", vec![problem("bad"), problem("worse")]);
        assert_eq!(d.reported(), 2);
        assert_eq!(d.problems().len(), 2);
        d.clear("f.yaml");
        assert!(d.current().is_empty());
    }
}
