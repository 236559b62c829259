//! A transformer: serves every VirtualService with a label and an annotation
//! added. The label's key and value come from the binding's settings
//! (`{"label": "team", "value": "mesh"}`). Change it to do what you need,
//! then `galleon plugin build && galleon plugin test`.

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Description, Event, Mesh, Transformer, export_transformer};

const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
const OUTPUT: &str = "istio/networking/v1alpha3/virtualservices";

/// The plugin and its settings.
pub struct Plugin {
    label: String,
    value: String,
}

impl Default for Plugin {
    fn default() -> Self {
        Self {
            label: "galleon.io/transformed".into(),
            value: "true".into(),
        }
    }
}

impl Transformer for Plugin {
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
                    return Err(format!("settings.{field} must be a non-empty string, got {other}"));
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
        Ok(vec![match event.with_collection(OUTPUT) {
            Event::Added(mut r) | Event::Updated(mut r) => {
                r.labels.insert(self.label.clone(), self.value.clone());
                r.annotations
                    .insert("galleon.io/transformed-by".into(), "add-label".into());
                Event::Updated(r)
            }
            other => other,
        }])
    }
}

export_transformer!(Plugin);
