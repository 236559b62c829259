//! Bodies that do not fit their message: refused with the field path (the
//! last good version stays served, other resources are unaffected), and
//! unknown fields dropped with a warning, or refused in strict mode.

use galleon_tests::hub::Hub;

use crate::ads::{Sotw, istiod, unwrap};
use crate::{REVIEWS_DR, REVIEWS_VS, decode, hub, pool};

const VS: &str = "networking.istio.io/v1/VirtualService";
const DR: &str = "networking.istio.io/v1/DestinationRule";

#[tokio::test]
async fn a_bad_field_is_refused_with_its_path_and_the_last_good_version_stays() {
    let ratings = REVIEWS_VS
        .replace("name: reviews,", "name: ratings,")
        .replace("hosts: [reviews]", "hosts: [ratings]");
    let hub = hub(&[
        ("vs.yaml", REVIEWS_VS),
        ("ratings.yaml", &ratings),
        ("dr.yaml", REVIEWS_DR),
    ])
    .await;
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    ads.subscribe(VS, &istiod(None));
    let good = ads.recv().await;
    ads.ack(&good);

    for (file, bad, path) in [
        (
            "vs.yaml",
            REVIEWS_VS.replace("weight: 80", "weight: heavy"),
            r#"spec.http[0].route[0].weight: expected an integer, found "heavy""#,
        ),
        (
            "vs.yaml",
            REVIEWS_VS.replace("timeout: 30ms", "timeout: 30 parsecs"),
            r#"spec.http[0].timeout: invalid duration "30 parsecs""#,
        ),
        (
            "dr.yaml",
            REVIEWS_DR.replace("LEAST_REQUEST", "MOST_REQUEST"),
            "spec.trafficPolicy.loadBalancer.simple: unrecognized enum value 'MOST_REQUEST'",
        ),
    ] {
        hub.write(file, &bad);
        let line = hub.galleon.wait_for_log(&[path]).await;
        assert!(line.contains(&format!("{file}:1 (document 0)")), "{line}");
    }
    // Nothing new for VirtualServices: the last good version is served.
    ads.expect_silence().await;
    let mut check = Sotw::connect(&hub.galleon.url()).await;
    check.subscribe(VS, &istiod(None));
    check.subscribe(DR, &istiod(None));
    for _ in 0..2 {
        let now = check.recv().await;
        if now.type_url == VS {
            assert_eq!(now.version_info, good.version_info);
        } else {
            let body = unwrap(&now.resources[0]).body.unwrap();
            assert_eq!(
                decode(&pool(), &body)["trafficPolicy"]["loadBalancer"]["simple"],
                "LEAST_REQUEST"
            );
        }
    }

    // Other resources still flow.
    hub.write("ratings.yaml", &ratings.replace("weight: 80", "weight: 55"));
    let next = ads.recv().await;
    let names: Vec<String> = next
        .resources
        .iter()
        .map(|a| unwrap(a).metadata.unwrap().name)
        .collect();
    assert_eq!(names, ["default/ratings", "default/reviews"]);
}

const TYPO: &str = "weigth: 20";

#[tokio::test]
async fn an_unknown_field_is_dropped_with_a_warning() {
    let hub = hub(&[("vs.yaml", &REVIEWS_VS.replace("weight: 20", TYPO))]).await;
    hub.galleon
        .wait_for_log(&[
            "spec.http[0].route[1].weigth: unknown field, dropped",
            "vs.yaml:1",
        ])
        .await;
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    ads.subscribe(VS, &istiod(None));
    let served = ads.recv().await;
    let body = decode(&pool(), &unwrap(&served.resources[0]).body.unwrap());
    assert_eq!(
        body["http"][0]["route"][1],
        serde_json::json!({"destination": {"host": "reviews", "subset": "v1"}})
    );
}

#[tokio::test]
async fn strict_mode_refuses_an_unknown_field() {
    let config = crate::config(", unknownFields: reject");
    let hub = Hub::start_with(
        &[("vs.yaml", &REVIEWS_VS.replace("weight: 20", TYPO))],
        &config,
        "",
    )
    .await;
    let line = hub
        .galleon
        .wait_for_log(&["spec.http[0].route[1].weigth: unknown field"])
        .await;
    assert!(!line.contains("dropped"), "{line}");
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    ads.subscribe(VS, &istiod(None));
    assert!(ads.recv().await.resources.is_empty());
}

#[tokio::test]
async fn a_plugin_s_output_that_does_not_fit_is_refused_naming_the_plugin() {
    let binding = format!(
        "plugins:\n  bindings:\n  - {{name: hostile, file: \"{}\", kind: transformer, settings: {{mode: bad-field}}}}\n",
        galleon_plugin_artifacts::HOSTILE
    );
    let config = format!("{binding}{}", crate::config(""));
    let files = [
        ("ok.yaml", REVIEWS_VS.replace("name: reviews,", "name: ok,")),
        (
            "trigger.yaml",
            REVIEWS_VS.replace("name: reviews,", "name: trigger,"),
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    let hub = Hub::start_with(&files, &config, "").await;
    let line = hub
        .galleon
        .wait_for_log(&[
            "output of plugin hostile:",
            "default/trigger",
            "spec.hosts: wrong type",
        ])
        .await;
    // A plugin's output has no file: the location is its collection and name.
    assert!(
        line.contains("location=istio/networking/v1alpha3/virtualservices default/trigger"),
        "{line}"
    );
    let mut ads = Sotw::connect(&hub.galleon.url()).await;
    ads.subscribe(VS, &istiod(None));
    let served = ads.recv().await;
    let names: Vec<String> = served
        .resources
        .iter()
        .map(|a| unwrap(a).metadata.unwrap().name)
        .collect();
    assert_eq!(
        names,
        ["default/ok"],
        "the plugin's good output is served, the bad one refused"
    );
}
