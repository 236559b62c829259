//! The Kubernetes source against [`FakeApiServer`] (no real API server can
//! run on these machines; the fake speaks the real HTTP list/watch
//! protocol kube-rs uses, see its docs): list then watch, a `410` relist
//! that sends only the difference, bookmarks, a CRD installed later, API
//! errors retried with backoff, and Services, Endpoints, Pods and Nodes
//! feeding the ServiceEntry plugin.

use std::time::Duration;

use galleon_tests::hub::FAST;
use galleon_tests::kube_api::FakeApiServer;
use galleon_tests::*;
use serde_json::{Value, json};

use super::hosts;

const VIRTUAL_SERVICES: &str = "networking.istio.io/v1alpha3/virtualservices";

fn vs(name: &str, host: &str) -> Value {
    json!({"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService",
           "metadata": {"name": name, "namespace": "default", "labels": {"app": "mesh"}},
           "spec": {"hosts": [host]}})
}

/// `galleon serve` over the fake, with `options` added to the source.
async fn serve(dir: &std::path::Path, api: &FakeApiServer, options: &str) -> Galleon {
    let kubeconfig = api.kubeconfig(dir);
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\n\
         sources: [{{kubernetes: {{kubeconfig: \"{}\"{options}}}}}]\n{FAST}",
        kubeconfig.display()
    );
    std::fs::write(dir.join("galleon.yaml"), config).unwrap();
    Galleon::serve_in(dir, &["--config", "galleon.yaml"]).await
}

#[tokio::test]
async fn objects_are_listed_then_watched() {
    let api = FakeApiServer::start(&[VIRTUAL_SERVICES]).await;
    api.apply(VIRTUAL_SERVICES, vs("a", "a.example"));
    api.apply(VIRTUAL_SERVICES, vs("b", "b.example"));
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "a.example".into()),
            ("default/b".into(), "b.example".into()),
        ]
    );
    sink.ack(&push).await;

    api.apply(VIRTUAL_SERVICES, vs("a", "edited.example"));
    api.delete(VIRTUAL_SERVICES, "default", "b");
    api.apply(VIRTUAL_SERVICES, vs("c", "c.example"));
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "edited.example".into()),
            ("default/c".into(), "c.example".into()),
        ]
    );
    sink.ack(&push).await;

    // An object against the naming rules is reported where it is, and
    // nothing else is touched.
    let mut bad = vs("Bad_Name", "x");
    bad["metadata"]["name"] = "Bad_Name".into();
    api.apply(VIRTUAL_SERVICES, bad);
    let diagnostics = galleon
        .wait_for_admin("/debug/diagnostics", &["VirtualService/default/Bad_Name"])
        .await;
    assert!(diagnostics.contains("name"), "{diagnostics}");
    sink.expect_silence().await;
}

#[tokio::test]
async fn an_expired_watch_relists_and_sends_only_the_difference() {
    let api = FakeApiServer::start(&[VIRTUAL_SERVICES]).await;
    for name in ["a", "b", "c"] {
        api.apply(VIRTUAL_SERVICES, vs(name, "v1"));
    }
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe_with(VS, true, Default::default()).await;
    let push = sink.recv().await;
    assert_eq!(names(&push).len(), 3);
    sink.ack(&push).await;
    let settled = galleon.metric("galleon_source_events_total").await;
    let lists = |api: &FakeApiServer| {
        api.requests(&["virtualservices?"]).len()
            - api.requests(&["virtualservices?", "watch=true"]).len()
    };
    let listed = lists(&api);

    // 410 with nothing changed: a relist, and no event at all.
    api.expire_watches();
    let started = std::time::Instant::now();
    while lists(&api) == listed {
        assert!(started.elapsed() < PATIENCE, "no relist after 410");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.expect_silence().await;
    assert_eq!(
        galleon.metric("galleon_source_events_total").await,
        settled,
        "no delete-all/add-all storm"
    );

    // Cut off while an update, a delete and an add happen and history is
    // compacted: the relist sends exactly those.
    api.partition();
    api.apply(VIRTUAL_SERVICES, vs("a", "v2"));
    api.delete(VIRTUAL_SERVICES, "default", "b");
    api.apply(VIRTUAL_SERVICES, vs("d", "v1"));
    api.expire_watches();
    api.heal();
    let push = sink.recv().await;
    assert!(push.incremental);
    let mut changed = names(&push);
    changed.sort();
    assert_eq!(changed, ["default/a", "default/d"]);
    assert_eq!(push.removed_resources, ["default/b"]);
    sink.ack(&push).await;
    assert_eq!(
        galleon.metric("galleon_source_events_total").await - settled,
        3
    );
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_bookmark_moves_the_resume_point_past_changes_it_filtered_out() {
    let api = FakeApiServer::start(&[VIRTUAL_SERVICES]).await;
    api.apply(VIRTUAL_SERVICES, vs("a", "a.example"));
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, ", labelSelector: app=mesh").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a"]);
    sink.ack(&push).await;

    // Changes the selector leaves out move the store on; only a bookmark
    // tells the watcher.
    let mut last = 0;
    for i in 0..5 {
        let mut other = vs(&format!("other-{i}"), "x");
        other["metadata"]["labels"]["app"] = "other".into();
        last = api.apply(VIRTUAL_SERVICES, other);
    }
    api.bookmark();
    tokio::time::sleep(Duration::from_millis(500)).await;
    api.partition();
    api.heal();
    let resume = format!("resourceVersion={last}");
    let started = std::time::Instant::now();
    while api
        .requests(&["virtualservices?", "watch=true", &resume])
        .is_empty()
    {
        assert!(
            started.elapsed() < PATIENCE,
            "no watch resumed from the bookmark's {last}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_crd_installed_later_is_picked_up_without_a_restart() {
    let api = FakeApiServer::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert!(names(&push).is_empty(), "served empty while not installed");
    sink.ack(&push).await;
    galleon
        .wait_for_log(&["VirtualService", "not served"])
        .await;

    api.serve(VIRTUAL_SERVICES);
    api.apply(VIRTUAL_SERVICES, vs("a", "a.example"));
    let push = sink.recv().await;
    assert_eq!(hosts(&push), [("default/a".into(), "a.example".into())]);
    sink.ack(&push).await;
    galleon
        .wait_for_log(&["VirtualService", "now served"])
        .await;
}

#[tokio::test]
async fn api_errors_are_retried_with_growing_delays() {
    let api = FakeApiServer::start(&[VIRTUAL_SERVICES]).await;
    api.apply(VIRTUAL_SERVICES, vs("a", "a.example"));
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;

    api.partition();
    let cut = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let tries: Vec<_> = api
        .requests(&["virtualservices?"])
        .into_iter()
        .filter(|at| *at > cut)
        .collect();
    let offsets: Vec<_> = tries.iter().map(|t| *t - cut).collect();
    assert!(
        (2..=8).contains(&tries.len()),
        "{} tries in 4 s: {offsets:?}",
        tries.len()
    );
    let gaps: Vec<Duration> = tries.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.last() > gaps.first(), "delays grow: {gaps:?}");
    galleon
        .wait_for_admin("/debug/diagnostics", &["serving what was listed before"])
        .await;
    sink.expect_silence().await;

    api.heal();
    api.apply(VIRTUAL_SERVICES, vs("a", "back.example"));
    let push = sink.recv().await;
    assert_eq!(hosts(&push), [("default/a".into(), "back.example".into())]);
    sink.ack(&push).await;
}

#[tokio::test]
async fn an_api_server_outage_is_one_warning_not_one_per_kind_and_attempt() {
    let kinds = [
        VIRTUAL_SERVICES,
        "networking.istio.io/v1alpha3/destinationrules",
        "networking.istio.io/v1alpha3/gateways",
    ];
    let api = FakeApiServer::start(&kinds).await;
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    sink.recv().await;

    api.partition();
    galleon
        .wait_for_log(&["link down", "retrying with backoff"])
        .await;
    // Every kind's watch fails, again and again, for a few seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = galleon.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one line for the outage:\n{}",
        warnings.join("\n")
    );
    assert!(!log.contains("kube_client"), "{log}");
    // Each kind's link is still reported where operators look.
    let (_, sources) = galleon.admin_get("/debug/sources").await;
    assert_eq!(
        sources.matches("\"down\"").count(),
        kinds.len(),
        "{sources}"
    );
}

#[tokio::test]
async fn services_endpoints_pods_and_nodes_feed_the_service_entry_plugin() {
    let api =
        FakeApiServer::start(&["/v1/services", "/v1/endpoints", "/v1/pods", "/v1/nodes"]).await;
    api.apply(
        "/v1/nodes",
        json!({"metadata": {"name": "node-a", "labels": {
            "topology.kubernetes.io/region": "eu", "topology.kubernetes.io/zone": "eu-a"}}}),
    );
    api.apply(
        "/v1/services",
        json!({"metadata": {"name": "web", "namespace": "shop"},
               "spec": {"clusterIP": "10.96.0.7", "ports": [{"name": "http", "port": 80}]}}),
    );
    api.apply(
        "/v1/endpoints",
        json!({"metadata": {"name": "web", "namespace": "shop"},
               "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "http", "port": 80}]}]}),
    );
    api.apply(
        "/v1/pods",
        json!({"metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"nodeName": "node-a", "serviceAccountName": "web",
                        "containers": [{"name": "web", "image": "web:1"}]},
               "status": {"phase": "Running", "podIP": "10.0.0.1"}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &api, "").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe("istio/networking/v1alpha3/synthetic/serviceentries")
        .await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    let entries = bodies(&push);
    let web = &entries["shop/web"];
    assert_eq!(web["hosts"][0], "web.shop.svc.cluster.local");
    assert_eq!(web["endpoints"][0]["address"], "10.0.0.1");
    assert_eq!(web["endpoints"][0]["locality"], "eu/eu-a");
    assert_eq!(
        web["subjectAltNames"][0],
        "spiffe://cluster.local/ns/shop/sa/web"
    );

    // A second pod joins the Endpoints: the entry follows.
    api.apply(
        "/v1/pods",
        json!({"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"nodeName": "node-a", "serviceAccountName": "web"},
               "status": {"phase": "Running", "podIP": "10.0.0.2"}}),
    );
    api.apply(
        "/v1/endpoints",
        json!({"metadata": {"name": "web", "namespace": "shop"},
               "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                            "ports": [{"name": "http", "port": 80}]}]}),
    );
    let push = sink.recv().await;
    sink.ack(&push).await;
    assert_eq!(
        bodies(&push)["shop/web"]["endpoints"][1]["address"],
        "10.0.0.2"
    );
}
