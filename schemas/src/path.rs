//! Field paths into a resource, written the way users read their YAML:
//! `spec.http[0].route[0].weight`, map keys in brackets when they are not
//! plain names (`spec.labels["app.kubernetes.io/name"]`).

use std::fmt;

/// A location inside a body, from its root (`spec`, or nothing for bodies
/// that are whole objects).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Field(String),
    Index(usize),
    Key(String),
}

impl FieldPath {
    /// The path of a body whose root is called `root` (empty: no name).
    pub fn root(root: &str) -> Self {
        let mut path = Self::default();
        if !root.is_empty() {
            path.segments.push(Segment::Field(root.to_owned()));
        }
        path
    }

    /// This path, one field further.
    pub fn field(&self, name: &str) -> Self {
        self.with(Segment::Field(name.to_owned()))
    }

    /// This path, at a list index.
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// This path, at a map key.
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    /// This path followed by what serde tracked below it.
    pub fn join(&self, below: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as Tracked;
        let mut path = self.clone();
        for segment in below.iter() {
            path.segments.push(match segment {
                Tracked::Seq { index } => Segment::Index(*index),
                Tracked::Map { key } => Segment::Field(key.clone()),
                Tracked::Enum { variant } => Segment::Field(variant.clone()),
                Tracked::Unknown => continue,
            });
        }
        path
    }

    fn with(&self, segment: Segment) -> Self {
        let mut path = self.clone();
        path.segments.push(segment);
        path
    }
}

fn is_plain_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) if is_plain_name(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Segment::Field(key) | Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        if self.segments.is_empty() {
            f.write_str("(body)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_yaml() {
        let path = FieldPath::root("spec")
            .field("http")
            .index(0)
            .field("route")
            .index(1)
            .field("weight");
        assert_eq!(path.to_string(), "spec.http[0].route[1].weight");
        let key = FieldPath::root("spec").field("labels").key("app.io/name");
        assert_eq!(key.to_string(), r#"spec.labels["app.io/name"]"#);
        assert_eq!(FieldPath::root("").field("a").to_string(), "a");
    }
}
