//! Incremental ADS: wildcard and named subscriptions, removals, and a resume
//! across a hub restart that sends only the difference.

use std::collections::BTreeMap;

use crate::ads::{Delta, DeltaDiscoveryRequest, DeltaDiscoveryResponse, istiod, unwrap};
use crate::{REVIEWS_DR, REVIEWS_VS, hub};

const VS: &str = "networking.istio.io/v1/VirtualService";
const DR: &str = "networking.istio.io/v1/DestinationRule";

fn ratings() -> String {
    REVIEWS_VS
        .replace("name: reviews,", "name: ratings,")
        .replace("hosts: [reviews]", "hosts: [ratings]")
}

fn subscribe(ads: &Delta, type_url: &str, names: &[&str], held: BTreeMap<String, String>) {
    ads.send(DeltaDiscoveryRequest {
        node: Some(istiod(None)),
        type_url: type_url.into(),
        resource_names_subscribe: names.iter().map(|n| (*n).to_owned()).collect(),
        initial_resource_versions: held,
        ..Default::default()
    });
}

/// name → version of a response's resources.
fn versions(response: &DeltaDiscoveryResponse) -> BTreeMap<String, String> {
    response
        .resources
        .iter()
        .map(|r| {
            let wrapped = unwrap(r.resource.as_ref().unwrap()).metadata.unwrap();
            assert_eq!(
                wrapped.version, r.version,
                "per-resource versions are the SotW ones"
            );
            assert_eq!(wrapped.name, r.name);
            (r.name.clone(), r.version.clone())
        })
        .collect()
}

#[tokio::test]
async fn wildcard_and_named_subscriptions_get_only_what_changed() {
    let ratings = ratings();
    let hub = hub(&[
        ("vs.yaml", REVIEWS_VS),
        ("ratings.yaml", &ratings),
        ("dr.yaml", REVIEWS_DR),
    ])
    .await;
    let mut ads = Delta::connect(&hub.galleon.url()).await;
    // The legacy empty first request is a wildcard.
    subscribe(&ads, VS, &[], BTreeMap::new());
    let first = ads.recv().await;
    assert_eq!(first.type_url, VS);
    let (_, sinks) = hub.galleon.admin_get("/debug/sinks").await;
    assert!(sinks.contains("\"protocol\":\"xds-delta\""), "{sinks}");
    let before = versions(&first);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["default/ratings", "default/reviews"]
    );
    ads.ack(&first);

    hub.write("vs.yaml", &REVIEWS_VS.replace("weight: 80", "weight: 75"));
    let edited = ads.recv().await;
    assert_eq!(
        versions(&edited).keys().collect::<Vec<_>>(),
        ["default/reviews"]
    );
    assert_ne!(
        versions(&edited)["default/reviews"],
        before["default/reviews"]
    );
    assert!(edited.removed_resources.is_empty());
    ads.ack(&edited);

    hub.remove("ratings.yaml");
    let removed = ads.recv().await;
    assert!(removed.resources.is_empty());
    assert_eq!(removed.removed_resources, ["default/ratings"]);
    ads.ack(&removed);

    // A named subscription on the same stream, then its removal.
    subscribe(&ads, DR, &["default/reviews"], BTreeMap::new());
    let named = ads.recv().await;
    assert_eq!(named.type_url, DR);
    assert_eq!(
        versions(&named).keys().collect::<Vec<_>>(),
        ["default/reviews"]
    );
    ads.ack(&named);
    hub.remove("dr.yaml");
    let gone = ads.recv().await;
    assert_eq!(gone.removed_resources, ["default/reviews"]);
    ads.ack(&gone);

    // Unsubscribed, a resource's changes are no longer sent.
    ads.send(DeltaDiscoveryRequest {
        type_url: DR.into(),
        resource_names_unsubscribe: vec!["default/reviews".into()],
        ..Default::default()
    });
    hub.write("dr.yaml", REVIEWS_DR);
    ads.expect_silence().await;
}

#[tokio::test]
async fn a_resume_after_restart_sends_only_the_difference() {
    let ratings = ratings();
    let hub = hub(&[("vs.yaml", REVIEWS_VS), ("ratings.yaml", &ratings)]).await;
    let mut ads = Delta::connect(&hub.galleon.url()).await;
    subscribe(&ads, VS, &["*"], BTreeMap::new());
    let first = ads.recv().await;
    ads.ack(&first);
    let held = versions(&first);
    drop(ads);

    // The same files on a restarted hub: the same versions.
    let hub = hub.restart().await;
    let mut fresh = Delta::connect(&hub.galleon.url()).await;
    subscribe(&fresh, VS, &["*"], BTreeMap::new());
    assert_eq!(
        versions(&fresh.recv().await),
        held,
        "versions survive a restart"
    );
    drop(fresh);

    // While the sink was away one resource changed, one went, one came.
    let hub = {
        let hub = hub;
        hub.write("vs.yaml", &REVIEWS_VS.replace("weight: 80", "weight: 10"));
        hub.remove("ratings.yaml");
        hub.write(
            "details.yaml",
            &REVIEWS_VS.replace("name: reviews,", "name: details,"),
        );
        hub.restart().await
    };
    let mut resumed = Delta::connect(&hub.galleon.url()).await;
    subscribe(&resumed, VS, &["*"], held.clone());
    let difference = resumed.recv().await;
    let changed = versions(&difference);
    assert_eq!(
        changed.keys().collect::<Vec<_>>(),
        ["default/details", "default/reviews"]
    );
    assert_ne!(changed["default/reviews"], held["default/reviews"]);
    assert_eq!(difference.removed_resources, ["default/ratings"]);
}
