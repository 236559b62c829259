//! A transformer built against `galleon:plugin@0.3.0` (its `wit/` is the
//! current contract with the version bumped): the host, which serves 0.2.0 (and loads 0.1.0),
//! must refuse it and name both versions.

#[cfg(target_arch = "wasm32")]
// The generated ABI glue is `unsafe` by nature.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({ path: "wit", world: "transformer-plugin" });

    use exports::galleon::plugin::transformer::Guest;
    use galleon::plugin::types::{Description, Event, Mesh};

    struct Future;

    impl Guest for Future {
        fn describe() -> Description {
            Description {
                inputs: vec!["k8s/networking.istio.io/v1alpha3/virtualservices".into()],
                outputs: vec!["istio/networking/v1alpha3/virtualservices".into()],
                summary: "from the future".into(),
            }
        }

        fn configure(_settings: String, _mesh: Mesh) -> Result<(), String> {
            Ok(())
        }

        fn handle(_event: Event) -> Result<Vec<Event>, String> {
            Ok(Vec::new())
        }
    }

    export!(Future);
}
