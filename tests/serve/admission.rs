//! The admission webhook through the real binary, over real HTTPS, with
//! AdmissionReview bodies as the API server sends them: what the CRD's
//! schema and CEL rules refuse is denied with the API server's words,
//! deletes pass, dry runs are judged, kinds the hub does not know pass
//! with a warning, bodies over the limit and non-reviews are refused, a
//! validator plugin past its deadline is fail-closed or fail-open as bound,
//! and a rotated certificate is served without a restart.

use std::path::Path;

use galleon_tests::admission::{Operation, WebhookClient, review};
use galleon_tests::hub::VS_CRD;
use galleon_tests::pki::TestCa;
use galleon_tests::*;
use serde_json::{Value, json};

fn vs(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": "default", "uid": "6f0e", "creationTimestamp": null},
        "spec": spec,
    })
}

/// A hub directory: the CRD, an empty resources directory, and the
/// webhook's certificate from `ca`; `extra` is appended to the config.
fn hub_dir(root: &Path, ca: &TestCa, admission: &str, extra: &str) {
    for dir in ["crds", "resources", "tls"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("crds/vs.yaml"), VS_CRD).unwrap();
    ca.server().write(&root.join("tls"), "webhook");
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nschemas: {{crds: [crds]}}\n\
         sources: [{{files: {{paths: [resources]}}}}]\n\
         admission: {{address: \"127.0.0.1:0\", tls: {{cert: tls/webhook.crt, key: tls/webhook.key}}{admission}}}\n{extra}"
    );
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
}

#[tokio::test]
async fn reviews_are_answered_as_the_api_server_expects() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("webhook CA");
    hub_dir(dir.path(), &ca, ", maxRequestBytes: 65536", "");
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let webhook = WebhookClient::new(galleon.admission_addr(), &ca.pem());

    let good = vs("good", json!({"hosts": ["a"], "http": [{"timeout": "1s"}]}));
    let answer = webhook
        .validate(&review(Operation::Create, &good, false))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(answer["warnings"].is_null(), "{answer}");

    // A CEL rule and a schema bound broken: denied, every error in the
    // message, in the API server's words.
    let bad = vs(
        "bad",
        json!({"hosts": ["a"], "http": [{"timeout": "0s", "route": [{"weight": -1}]}]}),
    );
    for (operation, dry_run) in [
        (Operation::Create, false),
        (Operation::Create, true),
        (Operation::Update, false),
    ] {
        let answer = webhook.validate(&review(operation, &bad, dry_run)).await;
        assert_eq!(answer["allowed"], false, "{operation:?} {answer}");
        let message = answer["status"]["message"].as_str().unwrap();
        for expected in [
            "VirtualService.networking.istio.io \"bad\" is invalid",
            "spec.http[0].timeout: Invalid value: \"string\": must be a valid duration greater than 1ms",
            "spec.http[0].route[0].weight: Invalid value: -1: spec.http[0].route[0].weight in body should be greater than or equal to 0",
        ] {
            assert!(message.contains(expected), "{expected}\n{message}");
        }
        assert_eq!(answer["status"]["reason"], "Invalid", "{answer}");
        assert_eq!(answer["status"]["code"], 422, "{answer}");
    }

    // Deleting it is allowed: going away cannot make it invalid.
    let answer = webhook
        .validate(&review(Operation::Delete, &bad, false))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");

    // A name the hub cannot serve is denied before the schema.
    let answer = webhook
        .validate(&review(
            Operation::Create,
            &vs("Bad_Name", json!({})),
            false,
        ))
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert!(
        answer["status"]["message"]
            .as_str()
            .unwrap()
            .contains("Bad_Name"),
        "{answer}"
    );

    // A kind the hub does not know passes, with a warning naming the fix.
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "w", "namespace": "default"}, "spec": {}});
    let answer = webhook
        .validate(&review(Operation::Create, &widget, false))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let warning = answer["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("does not know example.com/v1 Widget") && warning.contains("kinds:"),
        "{answer}"
    );

    // Not a review, and a review over the limit: refused, nothing judged.
    let (status, body) = webhook
        .post("/validate", b"{\"kind\": 7}".to_vec())
        .await
        .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not an AdmissionReview"));
    let huge = vs("huge", json!({"hosts": ["a".repeat(70_000)]}));
    let body = serde_json::to_vec(&review(Operation::Create, &huge, false)).unwrap();
    let (status, _) = webhook.post("/validate", body).await.unwrap();
    assert_eq!(status, 413);

    // Counted by kind on the admin server.
    let (_, metrics) = galleon.admin_get("/metrics").await;
    for line in [
        "galleon_admission_reviews_total{kind=\"VirtualService\",allowed=\"true\"} 2",
        "galleon_admission_reviews_total{kind=\"VirtualService\",allowed=\"false\"} 4",
        "galleon_admission_reviews_total{kind=\"other\",allowed=\"true\"} 1",
        "galleon_admission_bad_requests_total 2",
        "galleon_admission_review_duration_seconds_count{kind=\"VirtualService\"} 6",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
}

const FAILING: &str = "plugins:\n  bindings:\n  - name: closed\n    file: failing.wasm\n    kind: validator\n    deadline: 50ms\n    collections: [k8s/networking.istio.io/v1alpha3/virtualservices]\n  - name: open\n    file: failing.wasm\n    kind: validator\n    deadline: 50ms\n    failOpen: true\n    collections: [k8s/networking.istio.io/v1alpha3/destinationrules]\n";

#[tokio::test]
async fn a_validator_plugin_past_its_deadline_fails_closed_or_open_as_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("webhook CA");
    hub_dir(dir.path(), &ca, ", timeout: 2s", FAILING);
    std::fs::copy(
        galleon_plugin_artifacts::FAILING_VALIDATOR,
        dir.path().join("failing.wasm"),
    )
    .unwrap();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let webhook = WebhookClient::new(galleon.admission_addr(), &ca.pem());

    let answer = webhook
        .validate(&review(
            Operation::Create,
            &vs("a-spin", json!({"hosts": ["a"]})),
            false,
        ))
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");
    let message = answer["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("closed") && message.contains("rejected (fail-closed)"),
        "{message}"
    );

    let rule = json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "DestinationRule",
        "metadata": {"name": "r-spin", "namespace": "default"}, "spec": {"host": "a"},
    });
    let answer = webhook
        .validate(&review(Operation::Create, &rule, false))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let warning = answer["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("open") && warning.contains("accepted (fail-open)"),
        "{answer}"
    );

    // The instances past their deadline were replaced: the next review is
    // judged as usual.
    let answer = webhook
        .validate(&review(
            Operation::Create,
            &vs("fine", json!({"hosts": ["a"]})),
            false,
        ))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("old CA"), TestCa::new("new CA"));
    hub_dir(dir.path(), &old_ca, "", "");
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let addr = galleon.admission_addr();
    let good = review(
        Operation::Create,
        &vs("good", json!({"hosts": ["a"]})),
        false,
    );
    let old = WebhookClient::new(addr, &old_ca.pem());
    assert_eq!(old.validate(&good).await["allowed"], true);

    // As cert-manager renews a Secret: both files replaced in place.
    let issued = new_ca.server();
    let tls = dir.path().join("tls");
    write_atomically(&tls, "webhook.key", &issued.key);
    write_atomically(&tls, "webhook.crt", &issued.cert);
    galleon
        .wait_for_log(&["reloaded the admission webhook's certificate"])
        .await;
    let new = WebhookClient::new(addr, &new_ca.pem());
    assert_eq!(new.validate(&good).await["allowed"], true);
    let refused = old
        .post("/validate", serde_json::to_vec(&good).unwrap())
        .await;
    assert!(
        refused.is_err(),
        "the old CA still verifies the webhook: {refused:?}"
    );
}
