//! The add-label example built against `galleon:plugin@0.1.0` as released
//! (`plugin-host/wit-0.1.0/`, straight through wit-bindgen, no SDK): the
//! host, which serves 0.2.0, must still load it and give the same golden
//! outputs as the 0.2.0 build of add-label (`tests/plugins/golden.rs`).

#[cfg(target_arch = "wasm32")]
// The generated ABI glue is `unsafe` by nature.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({ path: "../../../plugin-host/wit-0.1.0", world: "transformer-plugin" });

    use std::cell::RefCell;

    use exports::galleon::plugin::transformer::Guest;
    use galleon::plugin::types::{Description, Event, Mesh};

    const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
    const OUTPUT: &str = "istio/networking/v1alpha3/virtualservices";

    thread_local! {
        static LABEL: RefCell<(String, String)> =
            RefCell::new(("galleon.io/transformed".into(), "true".into()));
    }

    struct Legacy;

    impl Guest for Legacy {
        fn describe() -> Description {
            Description {
                inputs: vec![INPUT.into()],
                outputs: vec![OUTPUT.into()],
                summary: "adds a label and an annotation to every VirtualService".into(),
            }
        }

        fn configure(settings: String, _mesh: Mesh) -> Result<(), String> {
            let settings: serde_json::Value =
                serde_json::from_str(&settings).map_err(|e| e.to_string())?;
            LABEL.with(|label| {
                let mut label = label.borrow_mut();
                if let Some(key) = settings.get("label").and_then(|v| v.as_str()) {
                    label.0 = key.into();
                }
                if let Some(value) = settings.get("value").and_then(|v| v.as_str()) {
                    label.1 = value.into();
                }
            });
            Ok(())
        }

        fn handle(event: Event) -> Result<Vec<Event>, String> {
            Ok(vec![match event {
                Event::Added(mut r) | Event::Updated(mut r) => {
                    r.collection = OUTPUT.into();
                    LABEL.with(|label| {
                        let label = label.borrow();
                        r.labels.retain(|(k, _)| *k != label.0);
                        r.labels.push((label.0.clone(), label.1.clone()));
                    });
                    r.annotations
                        .push(("galleon.io/transformed-by".into(), "add-label".into()));
                    Event::Updated(r)
                }
                Event::Deleted(mut d) => {
                    d.collection = OUTPUT.into();
                    Event::Deleted(d)
                }
                Event::FullSync(_) => Event::FullSync(OUTPUT.into()),
                Event::Reset => Event::Reset,
            }])
        }
    }

    export!(Legacy);
}
