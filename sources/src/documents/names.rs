//! Kubernetes' rules for resource names: a namespace is a DNS-1123 label, a
//! name a DNS-1123 subdomain. A name that breaks them (`a/b`, `../etc`, a
//! NUL or a newline, 100,000 characters) never becomes a resource.

/// Longest DNS-1123 label.
const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain.
const SUBDOMAIN_MAX: usize = 253;

/// Why a name or namespace is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NameError {
    /// The name is longer than a subdomain may be.
    #[error("metadata.name is {0} characters long; at most {SUBDOMAIN_MAX} are allowed")]
    TooLong(usize),
    /// The name is not a DNS-1123 subdomain.
    #[error(
        "metadata.name must be a DNS subdomain: dot-separated parts of 1 to {LABEL_MAX} lower-case letters, digits or '-', each starting and ending with a letter or digit"
    )]
    NotSubdomain,
    /// The namespace is not a DNS-1123 label.
    #[error("metadata.namespace {0}")]
    Namespace(LabelError),
}

/// Why a DNS-1123 label is not one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LabelError {
    /// Empty or too long.
    #[error("must be 1 to {LABEL_MAX} characters")]
    Length,
    /// A character outside the alphabet, or a '-' at either end.
    #[error(
        "must consist of lower-case letters, digits and '-', and start and end with a letter or digit"
    )]
    Characters,
}

/// Why `namespace` is not a DNS-1123 label, if it is not.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), NameError> {
    check_label(namespace).map_err(NameError::Namespace)
}

/// Why `name` is not a DNS-1123 subdomain, if it is not.
pub(crate) fn check_name(name: &str) -> Result<(), NameError> {
    if name.len() > SUBDOMAIN_MAX {
        return Err(NameError::TooLong(name.len()));
    }
    if name.split('.').all(|part| check_label(part).is_ok()) {
        return Ok(());
    }
    Err(NameError::NotSubdomain)
}

/// Why `name`, a resource's name as the protocols carry it (`name`, or
/// `namespace/name`), breaks the rules a file's resource is held to, if it
/// does.
pub(crate) fn check_resource_name(name: &str) -> Result<(), NameError> {
    match name.split_once('/') {
        Some((namespace, name)) => {
            check_namespace(namespace)?;
            check_name(name)
        }
        None => check_name(name),
    }
}

fn check_label(label: &str) -> Result<(), LabelError> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let alphanumeric =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if label.is_empty() || label.len() > LABEL_MAX {
        return Err(LabelError::Length);
    }
    if !label.chars().all(valid_char)
        || !alphanumeric(label.chars().next())
        || !alphanumeric(label.chars().last())
    {
        return Err(LabelError::Characters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_pass_and_hostile_ones_do_not() {
        for good in [
            "reviews",
            "reviews-v1",
            "a.b.c",
            "x",
            "0abc",
            &"a".repeat(63),
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "probe/a/b",
            "../../../etc",
            "a\0b",
            "a\nb",
            "Upper",
            "-lead",
            "trail-",
            "a..b",
            "",
            &"a".repeat(64),
            &["a"; 200].join("."),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_namespace("istio-system").is_ok());
        assert!(check_namespace("a.b").is_err(), "a namespace is a label");
    }
}
