//! Galley's `authpolicy` transform as a plugin: serves
//! `authentication.istio.io/v1alpha1` Policies and MeshPolicies as
//! `istio/authentication/v1alpha1/{policies,meshpolicies}`, normalising every
//! `peers[].mtls` that is null to an empty `MutualTls` (`{}`), as Galley did.
//! A body that is not a Policy is reported (the event is rejected) and not
//! served.

use galleon_plugin_sdk::serde_json::{Map, Value};
use galleon_plugin_sdk::{
    Description, Event, Resource, Transformer, export_transformer, json_kind,
};

/// Source and output collections, in pairs.
pub const MAPPING: [(&str, &str); 2] = [
    (
        "k8s/authentication.istio.io/v1alpha1/policies",
        "istio/authentication/v1alpha1/policies",
    ),
    (
        "k8s/authentication.istio.io/v1alpha1/meshpolicies",
        "istio/authentication/v1alpha1/meshpolicies",
    ),
];

/// The fields of `istio.authentication.v1alpha1.Policy`.
const POLICY_FIELDS: &[&str] = &[
    "targets",
    "peers",
    "peerIsOptional",
    "origins",
    "originIsOptional",
    "principalBinding",
];

/// The transform; it keeps no state.
#[derive(Default)]
pub struct AuthPolicy;

impl Transformer for AuthPolicy {
    fn describe() -> Description {
        Description::new(
            MAPPING.map(|(input, _)| input),
            MAPPING.map(|(_, output)| output),
            "authentication policies with null peer mTLS normalised to {}",
        )
    }

    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
        let Some(output) = event.collection().and_then(output_of) else {
            return Ok(Vec::new());
        };
        Ok(vec![match event.with_collection(output) {
            Event::Added(r) => Event::Added(mark(normalise(r)?)),
            Event::Updated(r) => Event::Updated(mark(normalise(r)?)),
            other => other,
        }])
    }
}

/// The `marked-build` test build labels what it serves.
fn mark(mut resource: Resource) -> Resource {
    if cfg!(feature = "marked-build") {
        resource
            .labels
            .insert("galleon.io/build".into(), "marked".into());
    }
    resource
}

fn output_of(input: &str) -> Option<&'static str> {
    MAPPING.iter().find(|(i, _)| *i == input).map(|(_, o)| *o)
}

/// Checks the body is a Policy and gives every null `peers[].mtls` an empty
/// value.
fn normalise(mut resource: Resource) -> Result<Resource, String> {
    let name = resource.name.clone();
    let policy = match &mut resource.body {
        Value::Object(policy) => policy,
        Value::Null => return Ok(resource),
        other => {
            return Err(format!(
                "{name}: not a Policy: the body is {}",
                json_kind(other)
            ));
        }
    };
    if let Some(field) = policy.keys().find(|k| !POLICY_FIELDS.contains(&k.as_str())) {
        return Err(format!("{name}: not a Policy: unknown field {field:?}"));
    }
    match policy.get_mut("peers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(peers)) => {
            for (index, peer) in peers.iter_mut().enumerate() {
                let Value::Object(peer) = peer else {
                    return Err(format!(
                        "{name}: not a Policy: peers[{index}] is {}",
                        json_kind(peer)
                    ));
                };
                if let Some(mtls @ Value::Null) = peer.get_mut("mtls") {
                    *mtls = Value::Object(Map::new());
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "{name}: not a Policy: peers is {}",
                json_kind(other)
            ));
        }
    }
    Ok(resource)
}

export_transformer!(AuthPolicy);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::harness::{Native, check_fixtures};
    use galleon_plugin_sdk::serde_json::json;

    use super::*;

    fn policy(body: Value) -> Result<Vec<Event>, String> {
        AuthPolicy.handle(Event::Added(Resource::new(MAPPING[0].0, "ns/p", body)))
    }

    #[test]
    fn null_peer_mtls_becomes_empty() {
        let out = policy(
            json!({"peers": [{"mtls": null}, {"mtls": {"mode": "PERMISSIVE"}}, {"jwt": {}}]}),
        )
        .unwrap();
        let Event::Added(r) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(r.collection, MAPPING[0].1);
        assert_eq!(
            r.body["peers"],
            json!([{"mtls": {}}, {"mtls": {"mode": "PERMISSIVE"}}, {"jwt": {}}])
        );
    }

    #[test]
    fn bodies_that_are_not_policies_are_rejected() {
        assert!(
            policy(json!({"hosts": ["a"]}))
                .unwrap_err()
                .contains("unknown field \"hosts\"")
        );
        assert!(
            policy(json!({"peers": {"mtls": null}}))
                .unwrap_err()
                .contains("peers is a mapping")
        );
        assert!(
            policy(json!({"peers": ["mtls"]}))
                .unwrap_err()
                .contains("peers[0] is a string")
        );
        assert!(
            policy(json!(["x"]))
                .unwrap_err()
                .contains("the body is a list")
        );
    }

    #[test]
    fn other_collections_are_ignored() {
        let out = AuthPolicy
            .handle(Event::FullSync("k8s/core/v1/services".into()))
            .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn golden_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        check_fixtures(&dir, || Box::new(Native::<AuthPolicy>::default()));
    }
}
