//! The admin server: readiness, metrics and introspection, read over
//! plain HTTP from the real binary (and, for readiness's waiting state, from
//! the admin server run in-process on a cache whose groups are published
//! one by one).

use std::sync::Arc;
use std::time::Duration;

use galleon_hub::admin::{self, AdminState};
use galleon_hub::config::HubConfig;
use galleon_mcp::cache::{DefaultGroup, Snapshot, SnapshotCache};
use galleon_mcp::server::{McpServer, ServerOptions};
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_tests::hub::{Hub, vs};
use galleon_tests::{Galleon, PATIENCE, RawSink, http_get, http_get_as, names};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const VS: &str = "istio/networking/v1alpha3/virtualservices";

#[tokio::test]
async fn readiness_waits_for_every_group_s_first_snapshot() {
    let cache = SnapshotCache::new(DefaultGroup);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AdminState {
        cache: cache.clone(),
        mcp: McpServer::new(cache.clone(), ServerOptions::new([VS])),
        diagnostics: Diagnostics::default(),
        findings: Default::default(),
        groups: Arc::from(vec!["default".to_owned(), "synthetic".to_owned()]),
        plugins: None,
        config: Arc::new(HubConfig::default()),
        source_events: Arc::default(),
        started: std::time::SystemTime::now(),
        health: Default::default(),
        admission: None,
        allocator: None,
        admin_addr: addr,
        pool: Default::default(),
    };
    let stop = CancellationToken::new();
    tokio::spawn(admin::serve(listener, state, None, stop.clone()));

    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("default, synthetic"), "{body}");
    cache.set_snapshot("default", Snapshot::default());
    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(
        (status, body.trim()),
        (
            503,
            "not ready: waiting for the first snapshot of group synthetic"
        )
    );
    cache.set_snapshot("synthetic", Snapshot::default());
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    stop.cancel();
}

/// Waits until `GET path` returns a body containing every one of `needles`.
/// The value of the unlabelled metric `name` in `metrics`.
fn value(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}

async fn wait_for(galleon: &Galleon, path: &str, needles: &[&str]) -> String {
    galleon.wait_for_admin(path, needles).await
}

#[tokio::test]
async fn metrics_and_introspection_follow_sinks_and_bad_input() {
    let hub = Hub::start(&[("vs.yaml", &vs("reviews", "reviews"))]).await;
    let galleon = &hub.galleon;
    wait_for(galleon, "/readyz", &["ready"]).await;

    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    wait_for(
        galleon,
        "/metrics",
        &[
            "istio_mcp_clients_total{component=\"galleon\"} 1",
            "galleon_sinks_connected 1",
            &format!("istio_mcp_request_acks_total{{component=\"galleon\",collection=\"{VS}\"}} 1"),
            "galleon_build_info{version=",
            "process_start_time_seconds ",
            "process_max_fds ",
            &format!("galleon_sink_synced{{node=\"test-sink\",collection=\"{VS}\"}} 1"),
            &format!("galleon_collection_resources{{group=\"default\",collection=\"{VS}\"}} 1"),
        ],
    )
    .await;

    let (_, before) = galleon.admin_get("/metrics").await;
    hub.write("vs.yaml", &vs("reviews", "reviews.v2"));
    let second = sink.recv().await;
    let (_, after) = galleon.admin_get("/metrics").await;
    for counter in [
        "galleon_source_events_total",
        "galleon_snapshots_published_total",
    ] {
        let (was, now) = (value(&before, counter), value(&after, counter));
        assert!(was > 0 && now > was, "{counter}: {was} then {now}");
    }
    sink.nack(&second, "no route to reviews.v2").await;
    let nacked = format!(
        "istio_mcp_request_nacks_total{{component=\"galleon\",collection=\"{VS}\",code=\"3\"}} 1"
    );
    wait_for(galleon, "/metrics", &[&nacked]).await;
    let sinks = wait_for(galleon, "/debug/sinks", &["no route to reviews.v2"]).await;
    let sinks: serde_json::Value = serde_json::from_str(&sinks).unwrap();
    assert_eq!(sinks[0]["protocol"], "mcp");
    // Field names in one style on every endpoint (camelCase), times as
    // RFC 3339.
    let since = sinks[0]["connectedSince"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(since).is_ok(), "{since}");
    assert!(sinks[0]["nodeId"].is_string());
    let status = &sinks[0]["collections"][VS];
    assert_eq!(status["ackedVersion"], push.system_version_info);
    let (_, snapshots) = galleon.admin_get("/debug/snapshots").await;
    let snapshots: serde_json::Value = serde_json::from_str(&snapshots).unwrap();
    let published = snapshots[0]["publishedAt"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(published).is_ok(), "{published}");
    assert_eq!(status["nack"]["version"], second.system_version_info);

    hub.write("broken.yaml", "apiVersion: v1\nkind: [unclosed\n");
    let problems = wait_for(galleon, "/debug/diagnostics", &["broken.yaml"]).await;
    let problems: serde_json::Value = serde_json::from_str(&problems).unwrap();
    assert!(
        problems[0]["location"]
            .as_str()
            .unwrap()
            .contains("broken.yaml:"),
        "{problems}"
    );
    wait_for(galleon, "/metrics", &["galleon_input_problems 1"]).await;
    let snapshots = wait_for(galleon, "/debug/snapshots", &[VS]).await;
    assert!(
        snapshots.contains(&second.system_version_info),
        "{snapshots}"
    );
}

#[tokio::test]
async fn galleon_status_prints_each_sink_s_sync_state_and_the_problems() {
    let hub = Hub::start(&[("vs.yaml", &vs("reviews", "reviews"))]).await;
    let url = hub.galleon.url();
    let mut sinks = Vec::new();
    for id in ["pilot-a", "pilot-b", "pilot-nack"] {
        let sink = galleon_tests::RawSink::connect(&url, id).await;
        sink.subscribe(VS).await;
        sinks.push(sink);
    }
    for sink in &mut sinks {
        let push = sink.recv().await;
        sink.ack(&push).await;
    }
    hub.write("vs.yaml", &vs("reviews", "reviews.v2"));
    for (i, sink) in sinks.iter_mut().enumerate() {
        let push = sink.recv().await;
        if i == 2 {
            sink.nack(&push, "host reviews.v2 unknown").await;
        } else {
            sink.ack(&push).await;
        }
    }
    hub.write("broken.yaml", "apiVersion: v1\nkind: [unclosed\n");
    wait_for(
        &hub.galleon,
        "/metrics",
        &[
            "istio_mcp_request_nacks_total{component=",
            "galleon_input_problems 1",
        ],
    )
    .await;

    let admin = hub.galleon.admin.to_string();
    let out = tokio::process::Command::new(galleon_tests::galleon_binary())
        .args(["status", "--admin-addr", &admin])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "the input has problems: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let row = |node: &str| {
        table
            .lines()
            .find(|l| l.starts_with(node))
            .unwrap_or_else(|| panic!("no row for {node}:\n{table}"))
            .to_owned()
    };
    assert!(table.starts_with("NODE"), "{table}");
    for node in ["pilot-a", "pilot-b"] {
        assert!(
            row(node).contains(VS) && row(node).ends_with("SYNCED"),
            "{table}"
        );
    }
    assert!(
        row("pilot-nack").contains("NACKED")
            && row("pilot-nack").ends_with("host reviews.v2 unknown"),
        "{table}"
    );
    assert!(
        table.contains("1 problem with the input:") && table.contains("broken.yaml:"),
        "{table}"
    );

    // The same as data, for scripts; with the input fixed, what is left is
    // the NACK (exit 3).
    hub.write("broken.yaml", &vs("fixed", "fixed"));
    wait_for(&hub.galleon, "/metrics", &["galleon_input_problems 0"]).await;
    let out = tokio::process::Command::new(galleon_tests::galleon_binary())
        .args(["status", "--admin-addr", &admin, "-o", "json"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<(&str, &str)> = status["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["node"].as_str().unwrap(),
                row["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(states.contains(&("pilot-nack", "NACKED")), "{states:?}");
    assert!(
        status["problems"].as_array().unwrap().is_empty(),
        "{status}"
    );
}

#[tokio::test]
async fn grpc_health_serves_once_ready_and_reflection_lists_the_services() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let hub = Hub::start(&[("vs.yaml", &vs("reviews", "reviews"))]).await;
    let channel = tonic::transport::Endpoint::from_shared(hub.galleon.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "istio.mcp.v1alpha1.ResourceSource",
        "envoy.service.discovery.v3.AggregatedDiscoveryService",
    ] {
        let status = tokio::time::timeout(PATIENCE, async {
            loop {
                let request = HealthCheckRequest {
                    service: service.into(),
                };
                let status = health.check(request).await.unwrap().into_inner().status;
                if status == ServingStatus::Serving as i32 {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(status.is_ok(), "{service:?} never SERVING");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("{response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "istio.mcp.v1alpha1.ResourceSource",
        "envoy.service.discovery.v3.AggregatedDiscoveryService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
    }
}

#[tokio::test]
async fn plugin_metrics_and_debug_endpoints_show_a_plugin_past_its_deadline() {
    let binding = format!(
        "plugins:\n  bindings:\n  - {{name: hostile, file: \"{}\", kind: transformer, deadline: 50ms, settings: {{mode: loop}}}}\n",
        galleon_plugin_artifacts::HOSTILE
    );
    let hub = Hub::start_with(
        &[
            ("ok.yaml", &vs("ok", "ok")),
            ("trigger.yaml", &vs("trigger", "trigger")),
        ],
        &binding,
        "",
    )
    .await;
    let galleon = &hub.galleon;
    let traps = "galleon_plugin_deadline_traps_total{plugin=\"hostile\"} ";
    let metrics = tokio::time::timeout(PATIENCE, async {
        loop {
            let (_, metrics) = galleon.admin_get("/metrics").await;
            let counted = metrics
                .lines()
                .find_map(|l| l.strip_prefix(traps)?.parse::<u64>().ok());
            if counted.is_some_and(|n| n >= 1) {
                return metrics;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a deadline trap counted");
    assert!(
        metrics.contains("galleon_plugin_call_duration_seconds_count{plugin=\"hostile\"}"),
        "{metrics}"
    );
    let (_, plugins) = galleon.admin_get("/debug/plugins").await;
    let plugins: serde_json::Value = serde_json::from_str(&plugins).unwrap();
    let hostile = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hostile")
        .unwrap();
    assert_eq!(hostile["kind"], "transformer");
    assert_eq!(hostile["deadlineMs"], 50);
    assert!(hostile["deadlineTraps"].as_u64().unwrap() >= 1, "{hostile}");
    assert!(hostile["calls"].as_u64().unwrap() >= 2, "{hostile}");
    let last_error = hostile["lastError"].as_str().unwrap();
    assert!(last_error.contains("50 ms deadline"), "{last_error}");

    let (status, config) = galleon.admin_get("/debug/config").await;
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["plugins"]["bindings"][0]["name"], "hostile");
    assert_eq!(config["mcp"]["address"], "127.0.0.1:0");
    assert_eq!(
        config["mcp"]["streamRate"]["burst"], 1000,
        "defaults filled in"
    );
}

#[tokio::test]
async fn idle_admin_connections_take_neither_the_hubs_descriptors_nor_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    std::fs::write(dir.path().join("resources/a.yaml"), vs("a", "a")).unwrap();
    let config = "mcp: {address: \"127.0.0.1:0\"}\nadmin: {address: \"127.0.0.1:0\", headerReadTimeout: 2s}\nsources: [{files: {paths: [resources]}}]\ngroups: [{name: default, strategy: immediate}]\n";
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon =
        Galleon::serve_with_file_limit(dir.path(), &["--config", "galleon.yaml"], 512).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;

    // 600 connections from one address that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..600 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        if let Ok(stream) = socket.connect(galleon.admin).await {
            idle.push(stream);
        }
    }
    // The hub still reads files and serves its sink, the probes (another
    // address) still answer, and a new sink is served.
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    sink.ack(&push).await;
    assert_eq!(galleon.admin_get("/healthz").await.0, 200);
    let mut second = RawSink::connect(&galleon.url(), "second").await;
    second.subscribe(VS).await;
    assert_eq!(names(&second.recv().await).len(), 2);
    galleon
        .wait_for_log(&["refusing a connection over admin.maxConnections"])
        .await;

    // The ones it took are closed once idle past the header timeout.
    let mut held = idle.pop().unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read(&mut held, &mut byte),
    )
    .await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "closed: {read:?}");
}

#[tokio::test]
async fn the_admin_server_answers_only_to_addresses_localhost_and_listed_names() {
    let galleon = Galleon::serve(&["--mcp-addr", "127.0.0.1:0"]).await;
    let port = galleon.admin.port();
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(
            http_get_as(galleon.admin, "/healthz", &host).await.0,
            200,
            "{host}"
        );
    }
    // A page whose own name now points here (DNS rebinding) is refused.
    let (status, body) =
        http_get_as(galleon.admin, "/debug/config", "rebind.attacker.example").await;
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("admin.allowedHosts"), "{body}");
}

#[tokio::test]
async fn secrets_in_the_configuration_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = "mcp:\n  address: 127.0.0.1:0\n  metadata: {authorization: Bearer s3cret-token, team: mesh}\n  publicMetadata: [team]\nsources: [{etcd: {endpoints: [\"http://root:hunter2@127.0.0.1:1\"], prefix: /galleon/}}]\n";
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let diagnostics = galleon
        .wait_for_admin("/debug/diagnostics", &["root:<redacted>@127.0.0.1:1"])
        .await;
    let (_, shown) = galleon.admin_get("/debug/config").await;
    assert!(shown.contains("\"team\":\"mesh\""), "{shown}");
    for secret in ["s3cret-token", "hunter2"] {
        assert!(
            !shown.contains(secret),
            "{secret} in /debug/config: {shown}"
        );
        assert!(!diagnostics.contains(secret), "{secret} in diagnostics");
        assert!(!galleon.log().contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn a_sink_cannot_forge_a_series_in_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), vs("a", "a")).unwrap();
    let galleon = Galleon::serve_files(dir.path()).await;
    let forged = "x\"} 1\ngalleon_forged_total 1\n# \u{1b}[2J";
    let mut sink = RawSink::connect(&galleon.url(), forged).await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    let metrics = galleon
        .wait_for_admin("/metrics", &["galleon_sink_synced{node=\"x\\\"} 1"])
        .await;
    assert!(
        !metrics
            .lines()
            .any(|line| line.starts_with("galleon_forged")),
        "a forged series: {metrics}"
    );
    assert!(!metrics.contains('\u{1b}'));
}

#[tokio::test]
async fn version_and_status_read_a_running_hub_by_name_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), vs("a", "a")).unwrap();
    let galleon = Galleon::serve_files(dir.path()).await;
    let by_name = format!("localhost:{}", galleon.admin.port());
    let out = tokio::process::Command::new(galleon_tests::galleon_binary())
        .args(["version", "-o", "json"])
        .env("GALLEON_ADMIN_ADDR", &by_name)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let versions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(versions["client"]["version"], versions["hub"]["version"]);
    assert!(versions["hub"]["uptimeSeconds"].is_u64(), "{versions}");
    assert!(
        versions["client"]["pluginContract"]
            .as_str()
            .unwrap()
            .starts_with("galleon:plugin@")
    );
    let out = tokio::process::Command::new(galleon_tests::galleon_binary())
        .args([
            "status",
            "--admin-addr",
            &format!("http://{by_name}"),
            "-o",
            "yaml",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(yaml.contains("problems: []"), "{yaml}");
}

/// `serve` reads its addresses as the dialling commands do (a hostname, a
/// scheme), so one `GALLEON_ADMIN_ADDR` serves both; a warning in the input
/// is printed by `galleon status` with its severity and does not fail it.
#[tokio::test]
async fn serve_and_status_share_one_address_convention_and_warnings_do_not_fail_status() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::create_dir_all(root.join("resources")).unwrap();
    std::fs::write(root.join("crds/vs.yaml"), galleon_tests::hub::VS_CRD).unwrap();
    std::fs::write(root.join("resources/a.yaml"), vs("a", "a")).unwrap();
    std::fs::write(
        root.join("galleon.yaml"),
        "schemas: {crds: [crds]}\nsources: [{files: {paths: [resources]}}]\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let admin = format!("http://localhost:{port}");
    let galleon = Galleon::serve_in(
        root,
        &[
            "--config",
            "galleon.yaml",
            "--mcp-addr",
            "localhost:0",
            "--admin-addr",
            &admin,
        ],
    )
    .await;
    assert_eq!(galleon.admin.port(), port);
    assert!(galleon.addr.ip().is_loopback());
    // A field the CRD does not know: a warning (the resource is served).
    let odd = vs("b", "b").replace("spec:\n", "spec:\n  colour: blue\n");
    std::fs::write(root.join("resources/b.yaml"), odd).unwrap();
    galleon
        .wait_for_admin("/debug/diagnostics", &["\"warning\"", "spec.colour"])
        .await;
    let out = tokio::process::Command::new(galleon_tests::galleon_binary())
        .arg("status")
        .env("GALLEON_ADMIN_ADDR", &admin)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("  warning: "), "{text}");
}

/// Completion (clap_complete's dynamic engine, `COMPLETE=SHELL`) names the
/// collections a running hub serves; with no hub, nothing, at once.
#[tokio::test]
async fn shell_completion_names_the_collections_a_running_hub_serves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), vs("a", "a")).unwrap();
    let galleon = Galleon::serve_files(dir.path()).await;
    galleon.wait_for_admin("/debug/snapshots", &[VS]).await;
    let complete = |admin: String| async move {
        let out = tokio::process::Command::new(galleon_tests::galleon_binary())
            .args([
                "--",
                "galleon",
                "watch",
                "--collection",
                "istio/networking/v1alpha3/v",
            ])
            .env("COMPLETE", "fish")
            .env("GALLEON_ADMIN_ADDR", admin)
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let offered = complete(galleon.admin.to_string()).await;
    assert_eq!(offered.trim(), VS, "{offered}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    assert_eq!(complete(nowhere).await.trim(), "");
}

#[tokio::test]
async fn debug_memory_shows_where_the_bytes_are() {
    let hub = Hub::start_with(
        &[("a.yaml", &vs("a", "a")), ("b.yaml", &vs("b", "b"))],
        "",
        "",
    )
    .await;
    let galleon = &hub.galleon;
    let memory = tokio::time::timeout(PATIENCE, async {
        loop {
            let (status, body) = galleon.admin_get("/debug/memory").await;
            assert_eq!(status, 200, "{body}");
            let memory: serde_json::Value = serde_json::from_str(&body).unwrap();
            let analyzed = memory["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "analyzers" && p["linearMemoryBytes"].as_u64() > Some(0));
            let served = memory["collections"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["collection"] == VS && c["resources"] == 2);
            if analyzed && served {
                return memory;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the analyzers' instance memory and the served collection are shown");
    let resident = memory["residentBytes"].as_u64().unwrap();
    assert!(
        resident >= memory["peakResidentBytes"].as_u64().unwrap() / 100,
        "{memory}"
    );
    let allocator = &memory["allocator"];
    let allocated = allocator["allocated"]
        .as_u64()
        .expect("the binary reports jemalloc's figures");
    assert!(
        allocated > 0 && allocated <= allocator["active"].as_u64().unwrap(),
        "{memory}"
    );
    assert!(
        allocator["resident"].as_u64().unwrap() <= resident,
        "{memory}"
    );
    let vs = memory["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == VS)
        .unwrap_or_else(|| panic!("the served collection is listed: {memory}"));
    assert_eq!(vs["resources"], 2);
    assert!(vs["encodedBytes"].as_u64().unwrap() > 0, "{vs}");
}
