//! The manifests in `deploy/` (read as files, as `kubectl apply -k`
//! would) hold configurations the hub accepts, and the
//! webhook's pieces agree with each other (the port the hub listens on is
//! the one the Deployment exposes and the Service targets, the path is the
//! one the hub serves), so `kubectl apply -k` gives a hub that starts.

use std::path::{Path, PathBuf};

use galleon_hub::config::HubConfig;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every document of a manifest file.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The hub configuration of the `galleon` ConfigMap in `path`.
fn hub_config(path: &Path) -> HubConfig {
    let config = documents(path)
        .into_iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "galleon")
        .unwrap_or_else(|| panic!("{}: no galleon ConfigMap", path.display()));
    let text = config["data"]["galleon.yaml"].as_str().unwrap();
    HubConfig::parse(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_rendered_manifests_carry_configurations_the_hub_accepts() {
    let base = hub_config(&deploy().join("kubernetes/rendered/base.yaml"));
    assert!(base.admission.is_none());
    let webhook = hub_config(&deploy().join("kubernetes/rendered/webhook.yaml"));
    assert!(webhook.admission.is_some());
    let manifests = documents(&deploy().join("kubernetes/rendered/base.yaml"));
    let deployment = manifests
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "galleon");
    let image = pod["containers"][0]["image"].as_str().unwrap();
    assert!(
        image.contains(':') && !image.ends_with(":latest"),
        "a pinned image: {image}"
    );
    assert!(manifests.iter().any(|d| d["kind"] == "PodDisruptionBudget"));
}

#[test]
fn every_shipped_configuration_is_one_the_hub_accepts() {
    let image = std::fs::read_to_string(deploy().join("galleon.yaml")).unwrap();
    let image = HubConfig::parse(&image).unwrap();
    assert!(image.mcp.insecure && !image.mcp.address.ip().is_loopback());
    let base = hub_config(&deploy().join("kubernetes/base/galleon.yaml"));
    assert!(base.admission.is_none());
    assert_eq!(
        base.plugins.cache_dir.as_deref(),
        Some(Path::new("/var/lib/galleon/cache"))
    );
    let webhook = hub_config(&deploy().join("kubernetes/webhook/config.yaml"));
    let admission = webhook.admission.expect("the overlay turns the webhook on");
    assert!(!webhook.schemas.crds.is_empty());

    let patch = &documents(&deploy().join("kubernetes/webhook/deployment.yaml"))[0];
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"], admission.address.port());
    let mounted = |path: &Path| {
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
    };
    assert!(mounted(&admission.tls.cert) && mounted(&admission.tls.key));
    assert!(mounted(&webhook.schemas.crds[0]));

    let pieces = documents(&deploy().join("kubernetes/webhook/webhook.yaml"));
    let service = pieces.iter().find(|d| d["kind"] == "Service").unwrap();
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port["name"]);
    let configuration = pieces
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    let hook = &configuration["webhooks"][0];
    assert_eq!(hook["clientConfig"]["service"]["path"], "/validate");
    assert_eq!(
        hook["clientConfig"]["service"]["name"],
        service["metadata"]["name"]
    );
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["admissionReviewVersions"][0], "v1");
}
