//! Field paths while walking an object: the API server's `field.Path` (`spec.labels[app]`,
//! `spec.ports[0]`) and kube-openapi's dotted names (`spec.labels.app`, `spec.ports[0]`).

/// One step into a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A property of an object.
    Field(String),
    /// A key of a map (an object under `additionalProperties`).
    Key(String),
    /// An item of a list.
    Index(usize),
}

/// The steps from the object's root to the value being looked at.
#[derive(Clone, Debug, Default)]
pub(crate) struct Path {
    steps: Vec<Step>,
}

impl Path {
    /// The root.
    pub(crate) fn root() -> Self {
        Path { steps: Vec::new() }
    }

    /// Goes one step in.
    pub(crate) fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Comes one step back out.
    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }

    /// This path with one more step.
    pub(crate) fn with(&self, step: Step) -> Path {
        let mut p = self.clone();
        p.push(step);
        p
    }

    /// `field.Path.String()`: `spec.labels[app].x`, `spec.ports[0]`, `<nil>` at the root.
    pub(crate) fn field(&self) -> String {
        if self.steps.is_empty() {
            return "<nil>".to_owned();
        }
        let mut out = String::new();
        for step in &self.steps {
            match step {
                Step::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Key(key) => {
                    out.push('[');
                    out.push_str(key);
                    out.push(']');
                }
                Step::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// kube-openapi's name for the value: keys as properties (`spec.labels.app`); empty at
    /// the root.
    pub(crate) fn openapi(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            match step {
                Step::Field(name) | Step::Key(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// kube-openapi's error name turned into the API server's path: the name, or `<nil>` when
    /// at the root.
    pub(crate) fn openapi_field(&self) -> String {
        let name = self.openapi();
        if name.is_empty() {
            "<nil>".to_owned()
        } else {
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings() {
        let mut p = Path::root();
        assert_eq!(p.field(), "<nil>");
        p.push(Step::Field("spec".into()));
        p.push(Step::Field("labels".into()));
        p.push(Step::Key("app".into()));
        assert_eq!(p.field(), "spec.labels[app]");
        assert_eq!(p.openapi(), "spec.labels.app");
        p.pop();
        p.push(Step::Index(3));
        p.push(Step::Field("name".into()));
        assert_eq!(p.field(), "spec.labels[3].name");
        assert_eq!(p.openapi(), "spec.labels[3].name");
    }
}
