//! The manifests in `deploy/` (the image's configuration and the Helm
//! chart's renderings in `deploy/kubernetes/`, read as `kubectl apply -f`
//! would) hold configurations the hub accepts, and their pieces agree with
//! each other: the ports the hub listens on are the ones the Deployment
//! exposes and the Services target, every file the configuration names is
//! mounted, the webhook's path is the one the hub serves. `.ci/manifests`
//! checks the renderings are current and valid Kubernetes objects.

use std::path::{Path, PathBuf};

use galleon_hub::config::HubConfig;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every object of a manifest file.
fn objects(name: &str) -> Vec<Value> {
    let path = deploy().join("kubernetes").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    documents.into_iter().filter(|d| !d.is_null()).collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The hub configuration of the `galleon` ConfigMap.
fn hub_config(objects: &[Value]) -> HubConfig {
    let text = find(objects, "ConfigMap", "galleon")["data"]["galleon.yaml"]
        .as_str()
        .unwrap();
    HubConfig::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The galleon container of the Deployment, and its pod.
fn pod(objects: &[Value]) -> (&Value, &Value) {
    let pod = &find(objects, "Deployment", "galleon")["spec"]["template"]["spec"];
    (&pod["containers"][0], pod)
}

fn container_port(container: &Value, port: u16) -> &Value {
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["containerPort"] == port)
        .unwrap_or_else(|| panic!("the container does not expose {port}"))
}

fn mounted(container: &Value, path: &Path) -> bool {
    container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
}

#[test]
fn the_image_configuration_is_one_the_hub_accepts() {
    let image = std::fs::read_to_string(deploy().join("galleon.yaml")).unwrap();
    let image = HubConfig::parse(&image).unwrap();
    assert!(image.mcp.insecure && !image.mcp.address.ip().is_loopback());
}

#[test]
fn the_default_rendering_serves_istiod_from_a_pinned_image_with_what_it_needs() {
    let objects = objects("galleon.yaml");
    let config = hub_config(&objects);
    assert!(config.admission.is_none());
    assert_eq!(
        config.plugins.cache_dir.as_deref(),
        Some(Path::new("/var/lib/galleon/cache"))
    );
    let (container, pod) = pod(&objects);
    assert_eq!(pod["serviceAccountName"], "galleon");
    find(&objects, "ServiceAccount", "galleon");
    let image = container["image"].as_str().unwrap();
    assert!(
        image.contains(':') && !image.ends_with(":latest"),
        "a pinned image: {image}"
    );
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    let mcp = container_port(container, config.mcp.address.port());
    let admin = container_port(container, config.admin.address.port());
    let service = find(&objects, "Service", "galleon");
    let targets: Vec<&Value> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["targetPort"])
        .collect();
    assert_eq!(targets, [&mcp["name"], &admin["name"]]);
    for source in &config.sources {
        let galleon_hub::config::SourceConfig::Files(files) = source else {
            continue;
        };
        assert!(files.paths.iter().all(|p| mounted(container, p)));
    }
    assert!(mounted(container, config.mesh_config.as_deref().unwrap()));
    find(&objects, "PodDisruptionBudget", "galleon");
    // A files source reads no Kubernetes API: no ClusterRole.
    assert!(objects.iter().all(|d| d["kind"] != "ClusterRole"));
}

#[test]
fn the_webhook_rendering_agrees_with_the_hub_s_admission_settings() {
    let objects = objects("galleon-webhook.yaml");
    let config = hub_config(&objects);
    let admission = config.admission.expect("the webhook values turn it on");
    let (container, _) = pod(&objects);
    let port = container_port(container, admission.address.port());
    assert!(mounted(container, &admission.tls.cert) && mounted(container, &admission.tls.key));
    assert!(config.schemas.crds.iter().all(|p| mounted(container, p)));
    let service = find(&objects, "Service", "galleon-webhook");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port["name"]);
    let configuration = objects
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    let hook = &configuration["webhooks"][0];
    assert_eq!(hook["clientConfig"]["service"]["path"], "/validate");
    assert_eq!(hook["clientConfig"]["service"]["name"], "galleon-webhook");
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["admissionReviewVersions"][0], "v1");
    assert_eq!(hook["failurePolicy"], "Ignore", "the safe start");
}

/// Whether `rules` (a ClusterRole's) let the hub list and watch `resource`
/// of API group `group`.
fn allowed(rules: &[Value], group: &str, resource: &str) -> bool {
    let holds = |list: &Value, want: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .any(|v| v == want || v == "*")
    };
    rules.iter().any(|rule| {
        holds(&rule["apiGroups"], group)
            && holds(&rule["resources"], resource)
            && holds(&rule["verbs"], "list")
            && holds(&rule["verbs"], "watch")
    })
}

#[test]
fn the_kubernetes_rendering_may_read_every_kind_the_source_watches_and_keeps_its_pieces_together() {
    let objects = objects("galleon-kubernetes.yaml");
    let config = hub_config(&objects);
    let (container, _) = pod(&objects);
    let (_, binding) = objects
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding")
        .map(|b| (b, &b["subjects"][0]))
        .expect("a kubernetes source gets a ClusterRoleBinding");
    assert_eq!(binding["name"], "galleon");
    let role = objects
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("and a ClusterRole");
    let rules = role["rules"].as_array().unwrap();
    let registry = config.registry();
    let watched: Vec<_> = registry
        .schemas()
        .into_iter()
        .filter_map(|s| s.collection.strip_prefix("k8s/").map(str::to_owned))
        .collect();
    assert!(watched.len() > 20, "{watched:?}");
    for collection in &watched {
        let parts: Vec<&str> = collection.split('/').collect();
        let group = if parts[0] == "core" { "" } else { parts[0] };
        let resource = parts[parts.len() - 1];
        assert!(
            allowed(rules, group, resource),
            "the ClusterRole lets the source watch {group}/{resource}"
        );
    }
    // Mutual TLS with an access list, every file mounted.
    let tls = config.mcp.tls.as_ref().expect("mcp.tls from tlsSecret");
    let access = tls.access_list.as_deref().expect("the access list");
    for path in [&tls.cert, &tls.key, &tls.client_ca.clone().unwrap()] {
        assert!(mounted(container, path), "{}", path.display());
    }
    assert!(mounted(container, access));
    let list = find(&objects, "ConfigMap", "galleon-access-list")["data"]["access-list"]
        .as_str()
        .unwrap();
    assert!(
        list.contains("spiffe://cluster.local/ns/istio-system/sa/istiod"),
        "{list}"
    );
    // The plugin binding's file comes from the extra volume.
    for binding in &config.plugins.bindings {
        assert!(
            mounted(container, &binding.file),
            "{}",
            binding.file.display()
        );
    }
    // One replica: no PodDisruptionBudget (minAvailable 1 would block drains).
    assert!(objects.iter().all(|d| d["kind"] != "PodDisruptionBudget"));
    // The webhook with a certificate of your own: no cert-manager objects,
    // the CA bundle given, the Secret mounted.
    assert!(objects.iter().all(|d| d["kind"] != "Certificate"));
    let hook = &objects
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap()["webhooks"][0];
    assert!(
        !hook["clientConfig"]["caBundle"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let admission = config.admission.expect("the webhook");
    assert!(mounted(container, &admission.tls.cert));
}
