//! A hostile transformer for the containment tests. It serves VirtualServices
//! unchanged, except for a resource whose name ends in `trigger`: then it
//! misbehaves as its settings' `mode` says — `loop`, `memory`, `trap`, `forge-log`,
//! `wrong-collection`, `bad-json`, `bad-field` (JSON that does not fit a
//! VirtualService), `open-file` or `sleep`.
//!
//! It implements the WIT export directly (not through the SDK's typed
//! helpers), so it can return output the SDK would never produce. Built
//! natively it is empty.

#[cfg(target_arch = "wasm32")]
mod component {
    use std::cell::RefCell;

    use galleon_plugin_sdk::guest::transformer::exports::galleon::plugin::transformer::Guest;
    use galleon_plugin_sdk::guest::transformer::galleon::plugin::types::{
        Description, Event, Mesh, Resource,
    };

    const INPUT: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
    const OUTPUT: &str = "istio/networking/v1alpha3/virtualservices";

    thread_local! {
        static MODE: RefCell<String> = const { RefCell::new(String::new()) };
    }

    struct Hostile;

    impl Guest for Hostile {
        fn describe() -> Description {
            Description {
                inputs: vec![INPUT.into()],
                outputs: vec![OUTPUT.into()],
                summary: "misbehaves on purpose".into(),
            }
        }

        fn configure(settings: String, _mesh: Mesh) -> Result<(), String> {
            let mode = settings.split('"').nth(3).unwrap_or_default().to_owned();
            MODE.with(|m| *m.borrow_mut() = mode);
            Ok(())
        }

        fn handle(event: Event) -> Result<Vec<Event>, String> {
            let (Event::Added(mut r) | Event::Updated(mut r)) = event else {
                return Ok(match event {
                    Event::Deleted(mut d) => {
                        d.collection = OUTPUT.into();
                        vec![Event::Deleted(d)]
                    }
                    _ => vec![],
                });
            };
            r.collection = OUTPUT.into();
            if r.name.ends_with("trigger") {
                return misbehave(r);
            }
            Ok(vec![Event::Updated(r)])
        }
    }

    fn misbehave(mut r: Resource) -> Result<Vec<Event>, String> {
        match MODE.with(|m| m.borrow().clone()).as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("hostile plugin traps on purpose"),
            "wrong-collection" => {
                r.collection = "istio/not/declared".into();
                Ok(vec![Event::Updated(r)])
            }
            "bad-json" => {
                r.body = "{this is not json".into();
                Ok(vec![Event::Updated(r)])
            }
            "bad-field" => {
                // Valid JSON that does not fit a VirtualService.
                r.body = r#"{"hosts": {"not": "a list"}}"#.into();
                Ok(vec![Event::Updated(r)])
            }
            "open-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(content) => {
                    r.body = format!("{{\"leaked\": {}}}", content.len());
                    Ok(vec![Event::Updated(r)])
                }
                Err(e) => Err(format!("could not open /etc/passwd: {e}")),
            },
            "forge-log" => {
                let forged = "\n2026-11-29T00:00:00.000000Z  INFO galleon_hub: forged";
                galleon_plugin_sdk::log(galleon_plugin_sdk::Level::Warn, &format!("look{forged}"));
                Ok(vec![Event::Updated(r)])
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(vec![])
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    }

    /// Batches misbehave as single events do: each event through `handle`.
    impl galleon_plugin_sdk::guest::transformer::exports::galleon::plugin::batch::Guest for Hostile {
        fn handle_batch(
            events: Vec<Event>,
        ) -> Vec<
            Result<
                Vec<galleon_plugin_sdk::guest::transformer::galleon::plugin::types::Output>,
                String,
            >,
        > {
            use galleon_plugin_sdk::guest::transformer::galleon::plugin::types::Output;
            events
                .into_iter()
                .map(|e| {
                    Ok(<Hostile as Guest>::handle(e)?
                        .into_iter()
                        .map(Output::Event)
                        .collect())
                })
                .collect()
        }
    }

    galleon_plugin_sdk::guest::transformer::export!(Hostile with_types_in galleon_plugin_sdk::guest::transformer);
}
