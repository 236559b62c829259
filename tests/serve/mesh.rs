//! The mesh configuration: served as a collection, and a change rebuilds the
//! pipeline without dropping sink streams or pushing unchanged collections.

use galleon_tests::*;

use galleon_tests::hub::{Hub, MESH, vs};

#[tokio::test]
async fn a_mesh_config_change_rebuilds_without_dropping_the_stream() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a1"))]).await;
    let mut sink = hub.sink(&[MESH, VS]).await;
    let mut first = [sink.recv().await, sink.recv().await];
    first.sort_by(|a, b| a.collection.cmp(&b.collection));
    for push in &first {
        sink.ack(push).await;
    }
    let mesh = bodies(&first[0]);
    assert_eq!(
        mesh["istio-system/meshconfig"]["ingressControllerMode"],
        "STRICT"
    );

    std::fs::write(hub.dir.path().join("mesh.yaml"), "ingressClass: nginx\n").unwrap();
    let push = sink.recv().await;
    assert_eq!(push.collection, MESH, "only the mesh config changed");
    assert_eq!(
        bodies(&push)["istio-system/meshconfig"]["ingressClass"],
        "nginx"
    );
    sink.ack(&push).await;
    hub.galleon
        .wait_for_log(&["rebuilding the pipeline", "mesh config changed"])
        .await;
    // Same stream, and the rebuilt pipeline republished VirtualServices with
    // the same version: no push for them.
    sink.expect_silence().await;
    hub.write("a.yaml", &vs("a", "a2"));
    let after = sink.recv().await;
    assert_eq!(after.collection, VS);
}

/// Writes a mesh config with `ingressClass: nginx` and returns a sink of
/// the mesh collection once that content is what is served.
async fn serving_nginx(hub: &Hub) -> RawSink {
    std::fs::write(hub.dir.path().join("mesh.yaml"), "ingressClass: nginx\n").unwrap();
    let mut sink = hub.sink(&[MESH]).await;
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        if bodies(&push)["istio-system/meshconfig"]["ingressClass"] == "nginx" {
            return sink;
        }
    }
}

#[tokio::test]
async fn a_malformed_mesh_config_is_reported_and_the_last_good_one_stays() {
    let hub = Hub::start(&[]).await;
    let mut sink = serving_nginx(&hub).await;
    std::fs::write(hub.dir.path().join("mesh.yaml"), "ingressClass: [broken\n").unwrap();
    hub.galleon.wait_for_log(&["mesh.yaml", "unclosed"]).await;
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_mesh_config_that_vanishes_keeps_the_last_good_one() {
    let hub = Hub::start(&[]).await;
    let mut sink = serving_nginx(&hub).await;
    std::fs::remove_file(hub.dir.path().join("mesh.yaml")).unwrap();
    hub.galleon
        .wait_for_log(&["mesh.yaml", "does not exist"])
        .await;
    sink.expect_silence().await;
    // Back: served from its new content.
    std::fs::write(hub.dir.path().join("mesh.yaml"), "ingressClass: traefik\n").unwrap();
    let push = sink.recv().await;
    assert_eq!(
        bodies(&push)["istio-system/meshconfig"]["ingressClass"],
        "traefik"
    );
}
