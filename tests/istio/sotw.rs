//! State-of-the-world ADS, as istiod's `configSources` client speaks it.

use std::collections::BTreeMap;

use crate::ads::{DiscoveryResponse, Sotw, istiod, unwrap};
use crate::{REVIEWS_DR, REVIEWS_VS, decode, hub, pool, reviews_dr_body, reviews_vs_body};

/// What istiod 1.24+ asks for, plus a type galleon does not serve.
const ISTIOD_TYPES: &[&str] = &[
    "core/v1alpha1/MeshConfig",
    "security.istio.io/v1/AuthorizationPolicy",
    "networking.istio.io/v1/DestinationRule",
    "networking.istio.io/v1alpha3/EnvoyFilter",
    "networking.istio.io/v1/Gateway",
    "security.istio.io/v1/PeerAuthentication",
    "networking.istio.io/v1beta1/ProxyConfig",
    "security.istio.io/v1/RequestAuthentication",
    "networking.istio.io/v1/ServiceEntry",
    "networking.istio.io/v1/Sidecar",
    "telemetry.istio.io/v1/Telemetry",
    "networking.istio.io/v1/VirtualService",
    "extensions.istio.io/v1alpha1/WasmPlugin",
    "networking.istio.io/v1/WorkloadEntry",
    "networking.istio.io/v1/WorkloadGroup",
    "gateway.networking.k8s.io/v1/HTTPRoute",
];

const VS: &str = "networking.istio.io/v1/VirtualService";

/// Receives until every type in `types` answered at least once (ACKing
/// each), as istiod's `HasSynced` waits; returns the last response of each.
async fn sync(ads: &mut Sotw, types: &[&str]) -> BTreeMap<String, DiscoveryResponse> {
    let mut answered = BTreeMap::new();
    while answered.len() < types.len() {
        let response = ads.recv().await;
        assert!(
            types.contains(&response.type_url.as_str()),
            "{}",
            response.type_url
        );
        ads.ack(&response);
        answered.insert(response.type_url.clone(), response);
    }
    answered
}

#[tokio::test]
async fn istiod_syncs_once_every_type_answered_and_bodies_decode_typed() {
    let hub = crate::Hub::start_meshed(
        &[("vs.yaml", REVIEWS_VS), ("dr.yaml", REVIEWS_DR)],
        "enableAutoMtls: false\ndefaultConfig: {concurrency: 4}\n",
        &crate::config(""),
        "",
    )
    .await;
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    let node = istiod(None);
    for type_url in ISTIOD_TYPES {
        ads.subscribe(type_url, &node);
    }
    let answered = sync(&mut ads, ISTIOD_TYPES).await;
    let pool = pool();

    let vs = &answered[VS];
    assert_eq!(vs.resources.len(), 1);
    let resource = unwrap(&vs.resources[0]);
    let metadata = resource.metadata.unwrap();
    assert_eq!(metadata.name, "default/reviews");
    assert!(
        !metadata.version.is_empty(),
        "a stable version, so istiod does not churn"
    );
    assert_eq!(metadata.labels["app"], "reviews");
    let body = resource.body.unwrap();
    assert_eq!(
        body.type_url,
        "type.googleapis.com/istio.networking.v1alpha3.VirtualService"
    );
    assert_eq!(decode(&pool, &body), reviews_vs_body());

    // Written as v1alpha3, asked for as v1: the same resource.
    let dr = &answered["networking.istio.io/v1/DestinationRule"];
    let body = unwrap(&dr.resources[0]).body.unwrap();
    assert_eq!(decode(&pool, &body), reviews_dr_body());

    // The mesh config: the body alone, the file over Istio's defaults.
    let mesh = &answered["core/v1alpha1/MeshConfig"];
    assert_eq!(mesh.resources.len(), 1);
    assert_eq!(
        mesh.resources[0].type_url,
        "type.googleapis.com/istio.mesh.v1alpha1.MeshConfig"
    );
    let mesh = decode(&pool, &mesh.resources[0]);
    assert_eq!(mesh["enableAutoMtls"], false);
    assert_eq!(mesh["defaultConfig"]["concurrency"], 4);
    assert_eq!(mesh["defaultConfig"]["proxyAdminPort"], 15000);
    assert_eq!(mesh["ingressControllerMode"], "STRICT");
    assert_eq!(mesh["connectTimeout"], "10s");

    // Types with nothing in them, and one galleon does not serve, answer
    // empty.
    for type_url in [
        "networking.istio.io/v1/Sidecar",
        "gateway.networking.k8s.io/v1/HTTPRoute",
    ] {
        assert!(answered[type_url].resources.is_empty(), "{type_url}");
    }
    ads.expect_silence().await;
}

#[tokio::test]
async fn edits_deletes_and_nacks_on_one_stream() {
    let hub = hub(&[("vs.yaml", REVIEWS_VS)]).await;
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    ads.subscribe(VS, &istiod(None));
    let first = ads.recv().await;
    ads.ack(&first);
    let first_version = unwrap(&first.resources[0]).metadata.unwrap().version;

    hub.write("vs.yaml", &REVIEWS_VS.replace("weight: 80", "weight: 70"));
    let edited = ads.recv().await;
    assert_ne!(edited.version_info, first.version_info);
    let resource = unwrap(&edited.resources[0]);
    assert_ne!(resource.metadata.unwrap().version, first_version);
    assert_eq!(
        decode(&pool(), &resource.body.unwrap())["http"][0]["route"][0]["weight"],
        70
    );

    // An answer with a nonce that is not the pending one is ignored.
    let mut stale = edited.clone();
    stale.nonce = first.nonce.clone();
    ads.ack(&stale);
    ads.expect_silence().await;

    // A NACKed version is never sent again; the next one is.
    ads.nack(&edited, "rejected by the test");
    ads.expect_silence().await;
    hub.write("vs.yaml", &REVIEWS_VS.replace("weight: 80", "weight: 60"));
    let next = ads.recv().await;
    assert_ne!(next.version_info, edited.version_info);
    ads.ack(&next);

    hub.remove("vs.yaml");
    let deleted = ads.recv().await;
    assert!(deleted.resources.is_empty());
    ads.ack(&deleted);
    ads.expect_silence().await;
    let (_, sinks) = hub.galleon.admin_get("/debug/sinks").await;
    assert!(sinks.contains("\"protocol\":\"xds-sotw\""), "{sinks}");
}

#[tokio::test]
async fn a_revisioned_resource_reaches_only_its_revision() {
    let canary = REVIEWS_VS
        .replace("name: reviews,", "name: canary,")
        .replace(
            "labels: {app: reviews}",
            "labels: {app: reviews, istio.io/rev: canary}",
        );
    let hub = hub(&[("vs.yaml", REVIEWS_VS), ("canary.yaml", &canary)]).await;
    let names = |response: &DiscoveryResponse| -> Vec<String> {
        response
            .resources
            .iter()
            .map(|any| unwrap(any).metadata.unwrap().name)
            .collect()
    };
    for (revision, expected) in [
        (Some("canary"), vec!["default/canary", "default/reviews"]),
        (Some("stable"), vec!["default/reviews"]),
        (None, vec!["default/reviews"]),
    ] {
        let mut ads = Sotw::connect(&hub.galleon.url()).await;
        ads.subscribe(VS, &istiod(revision));
        assert_eq!(names(&ads.recv().await), expected, "{revision:?}");
    }
}
