//! Analysis messages as the command line shows them: istioctl's one-line
//! text, its `--suppress` patterns, and how serious a level is. (The
//! messages themselves are `admin::api::AnalysisMessage`.)

use crate::admin::api::{AnalysisMessage, AnalyzedResource};

/// The resource as istioctl names it: `Kind name.namespace` (`Kind name`
/// when cluster-scoped).
pub fn resource_text(r: &AnalyzedResource) -> String {
    if r.namespace.is_empty() {
        format!("{} {}", r.kind, r.name)
    } else {
        format!("{} {}.{}", r.kind, r.name, r.namespace)
    }
}

/// A message as `istioctl analyze` prints it: `Error [IST0101]
/// (VirtualService bogus.default file.yaml:12) Referenced gateway not
/// found: "x"`.
pub fn line(m: &AnalysisMessage) -> String {
    let origin = m
        .origin
        .as_ref()
        .map(|o| format!(" {}:{}", o.file, o.line))
        .unwrap_or_default();
    let stale = if m.stale { " (stale)" } else { "" };
    format!(
        "{} [{}] ({}{origin}) {}{stale}",
        m.level,
        m.code,
        resource_text(&m.resource),
        m.message
    )
}

/// One `--suppress` pattern: `CODE=Kind name.namespace`, each part a glob
/// (`*` any run of characters), as istioctl reads them.
#[derive(Clone, Debug)]
pub struct Suppression {
    code: String,
    resource: String,
}

impl Suppression {
    /// Parses `CODE=Kind name.namespace`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let (code, resource) = pattern.split_once('=').ok_or_else(|| {
            format!("--suppress {pattern:?}: expected CODE=Kind name.namespace (e.g. \"IST0102=Namespace frod\")")
        })?;
        if code.is_empty() || resource.trim().is_empty() {
            return Err(format!(
                "--suppress {pattern:?}: both the code and the resource are needed"
            ));
        }
        Ok(Self {
            code: code.trim().to_owned(),
            resource: resource.trim().to_owned(),
        })
    }

    /// Whether it hides `m`.
    pub fn hides(&self, m: &AnalysisMessage) -> bool {
        glob(&self.code, &m.code) && glob(&self.resource, &resource_text(&m.resource))
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// How serious a level is, for thresholds (`Error` most).
pub fn rank(level: &str) -> u8 {
    match level {
        "Error" => 3,
        "Warning" => 2,
        "Info" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::api::MessageOrigin;

    fn message(kind: &str, name: &str, namespace: &str, code: &str) -> AnalysisMessage {
        AnalysisMessage {
            code: code.into(),
            name: "N".into(),
            level: "Error".into(),
            analyzer: "a".into(),
            resource: AnalyzedResource {
                kind: kind.into(),
                namespace: namespace.into(),
                name: name.into(),
            },
            origin: Some(MessageOrigin {
                file: "f.yaml".into(),
                line: 12,
            }),
            field: None,
            message: "Referenced gateway not found: \"x\"".into(),
            references: Vec::new(),
            stale: false,
        }
    }

    #[test]
    fn a_message_prints_as_istioctl_prints_it() {
        let m = message("VirtualService", "bogus", "default", "IST0101");
        assert_eq!(
            line(&m),
            "Error [IST0101] (VirtualService bogus.default f.yaml:12) Referenced gateway not found: \"x\""
        );
    }

    #[test]
    fn suppressions_glob_codes_and_resources() {
        let m = message("Pod", "foo", "baz", "IST0107");
        assert!(Suppression::parse("IST0107=Pod *.baz").unwrap().hides(&m));
        assert!(Suppression::parse("*=Pod foo.baz").unwrap().hides(&m));
        assert!(!Suppression::parse("IST0107=Pod *.other").unwrap().hides(&m));
        assert!(!Suppression::parse("IST0101=Pod foo.baz").unwrap().hides(&m));
        assert!(Suppression::parse("IST0107").is_err());
    }
}
