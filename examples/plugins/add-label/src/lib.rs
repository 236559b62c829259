//! Example transformer: serves every VirtualService with a label and an
//! annotation added. The label key and value come from the binding's
//! settings (`{"label": "team", "value": "mesh"}`).

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Description, Event, Level, Mesh, Transformer, export_transformer, log};

/// The VirtualServices read from sources.
pub const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
/// The VirtualServices served to sinks.
pub const OUTPUT: &str = "istio/networking/v1alpha3/virtualservices";

/// Label added when the settings name none.
const DEFAULT_LABEL: &str = "galleon.io/transformed";
#[cfg(not(feature = "changed-build"))]
const DEFAULT_VALUE: &str = "true";
#[cfg(feature = "changed-build")]
const DEFAULT_VALUE: &str = "changed";

/// The plugin: its settings, filled in by `configure`.
pub struct AddLabel {
    label: String,
    value: String,
}

impl Default for AddLabel {
    fn default() -> Self {
        Self {
            label: DEFAULT_LABEL.into(),
            value: DEFAULT_VALUE.into(),
        }
    }
}

impl Transformer for AddLabel {
    fn describe() -> Description {
        Description::new(
            [INPUT],
            [OUTPUT],
            "adds a label and an annotation to every VirtualService",
        )
    }

    fn configure(&mut self, settings: &Value, _mesh: &Mesh) -> Result<(), String> {
        for (field, target) in [("label", &mut self.label), ("value", &mut self.value)] {
            match settings.get(field) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => *target = s.clone(),
                Some(other) => {
                    return Err(format!(
                        "settings.{field} must be a non-empty string, got {other}"
                    ));
                }
            }
        }
        if cfg!(feature = "same-output-rebuild") {
            log(Level::Debug, "configured (rebuilt binary, same outputs)");
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
        let event = match event.with_collection(OUTPUT) {
            Event::Added(mut r) | Event::Updated(mut r) => {
                r.labels.insert(self.label.clone(), self.value.clone());
                r.annotations
                    .insert("galleon.io/transformed-by".into(), "add-label".into());
                Event::Updated(r)
            }
            other => other,
        };
        Ok(vec![event])
    }
}

export_transformer!(AddLabel);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::harness::{Native, check_fixtures};
    use galleon_plugin_sdk::serde_json::json;
    use galleon_plugin_sdk::{Event, Mesh, Resource, Transformer};

    use super::*;

    #[test]
    fn labels_every_virtual_service() {
        let mut plugin = AddLabel::default();
        plugin
            .configure(&json!({"label": "team", "value": "mesh"}), &Mesh::default())
            .unwrap();
        let input = Resource::new(INPUT, "ns/reviews", json!({"hosts": ["reviews"]}));
        let out = plugin.handle(Event::Added(input)).unwrap();
        let Event::Updated(r) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(r.collection, OUTPUT);
        assert_eq!(r.labels["team"], "mesh");
        assert_eq!(r.body["hosts"][0], "reviews");
    }

    #[test]
    fn rejects_bad_settings() {
        let error = AddLabel::default()
            .configure(&json!({"label": 7}), &Mesh::default())
            .unwrap_err();
        assert!(error.contains("settings.label"), "{error}");
    }

    #[test]
    fn golden_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        check_fixtures(&dir, || Box::new(Native::<AddLabel>::default()));
    }
}
