//! TLS and the access list on the MCP port, through the real binary with
//! certificates made in the test: an allowed identity streams, an unknown
//! one is refused with PERMISSION_DENIED, an expired or foreign
//! certificate fails the handshake, and rotated files (access list, server
//! certificate) apply to new streams while established ones carry on
//! (those of a client dropped from the list are ended).

use std::path::Path;

use galleon_proto::mcp::SinkNode;
use galleon_tests::hub::vs;
use galleon_tests::pki::{Issued, TestCa, tls_channel, tls_channel_from};
use galleon_tests::*;

const ISTIOD: &str = "spiffe://cluster.local/ns/istio-system/sa/istiod";
const INTRUDER: &str = "spiffe://cluster.local/ns/default/sa/intruder";

/// A hub serving `resources/` over mutual TLS: `ca` signs its certificate
/// and verifies clients; `allowed` is its access list.
async fn serve_tls(ca: &TestCa, allowed: &[&str]) -> (tempfile::TempDir, Galleon) {
    serve_tls_with(ca, allowed, "").await
}

/// [`serve_tls`] with more `mcp:` settings (`key: value` lines).
async fn serve_tls_with(
    ca: &TestCa,
    allowed: &[&str],
    settings: &str,
) -> (tempfile::TempDir, Galleon) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("resources")).unwrap();
    std::fs::create_dir(root.join("tls")).unwrap();
    std::fs::write(root.join("resources/a.yaml"), vs("a", "a")).unwrap();
    ca.server().write(&root.join("tls"), "server");
    std::fs::write(root.join("tls/ca.crt"), ca.pem()).unwrap();
    write_access_list(root, allowed);
    let config = format!(
        "mcp:\n  address: 127.0.0.1:0\n  tls: {{cert: tls/server.crt, key: tls/server.key, \
         clientCa: tls/ca.crt, accessList: tls/access.yaml}}\n{settings}\
         sources: [{{files: {{paths: [resources]}}}}]\n"
    );
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(root, &["--config", "galleon.yaml"]).await;
    (dir, galleon)
}

fn write_access_list(root: &Path, allowed: &[&str]) {
    let list = format!("allowed: [{}]\n", allowed.join(", "));
    write_atomically(&root.join("tls"), "access.yaml", list);
}

/// Opens a stream to `galleon` presenting `client`, trusting `ca`.
async fn stream_as(
    galleon: &Galleon,
    ca: &TestCa,
    client: &Issued,
) -> Result<RawSink, tonic::Status> {
    let channel = tls_channel(galleon.addr, &ca.pem(), Some(client))
        .await
        .map_err(|e| tonic::Status::unavailable(format!("{e:?}")))?;
    let node = SinkNode {
        id: "pilot".into(),
        ..Default::default()
    };
    RawSink::try_open(channel, node).await
}

async fn metric(galleon: &Galleon, name: &str) -> u64 {
    let (_, metrics) = galleon.admin_get("/metrics").await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}

#[tokio::test]
async fn an_allowed_identity_streams_and_an_unknown_one_is_denied() {
    let ca = TestCa::new("mesh CA");
    let (dir, galleon) = serve_tls(&ca, &[ISTIOD]).await;

    let mut istiod = stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.unwrap();
    istiod.subscribe(VS).await;
    let push = istiod.recv().await;
    assert_eq!(names(&push), ["default/a"]);
    istiod.ack(&push).await;

    let intruder = ca.client(INTRUDER);
    let refused = stream_as(&galleon, &ca, &intruder).await.err().unwrap();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    assert!(refused.message().contains(INTRUDER), "{refused}");
    assert_eq!(metric(&galleon, "galleon_denied_streams_total").await, 1);

    // The list changes: the intruder is let in, and istiod's stream, open
    // all along, still gets the next change.
    write_access_list(dir.path(), &[ISTIOD, INTRUDER]);
    galleon
        .wait_for_log(&["reloaded the access list", "identities=2"])
        .await;
    let mut admitted = stream_as(&galleon, &ca, &intruder).await.unwrap();
    admitted.subscribe(VS).await;
    assert_eq!(names(&admitted.recv().await), ["default/a"]);
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let push = istiod.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    istiod.ack(&push).await;

    // A list that does not parse is reported and the one in use stays.
    write_atomically(&dir.path().join("tls"), "access.yaml", "allowed: {");
    galleon
        .wait_for_log(&["keeping the access list in use", "access.yaml"])
        .await;
    assert!(stream_as(&galleon, &ca, &intruder).await.is_ok());

    // Dropped from the list, the intruder's open stream is ended; istiod's
    // carries on.
    write_access_list(dir.path(), &[ISTIOD]);
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match admitted.next().await {
                Ok(Some(_push)) => continue,
                ended => return ended,
            }
        }
    })
    .await
    .expect("the stream ends in time");
    let status = ended.expect_err("ended with a status");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status}");
    std::fs::write(dir.path().join("resources/c.yaml"), vs("c", "c")).unwrap();
    let push = istiod.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b", "default/c"]);
}

#[tokio::test]
async fn an_expired_or_foreign_certificate_fails_the_handshake() {
    let ca = TestCa::new("mesh CA");
    let (_dir, galleon) = serve_tls(&ca, &[ISTIOD]).await;

    let expired = ca.expired_client(ISTIOD);
    let foreign = TestCa::new("someone else's CA").client(ISTIOD);
    for client in [&expired, &foreign] {
        let failed = stream_as(&galleon, &ca, client).await.err().unwrap();
        assert_ne!(failed.code(), tonic::Code::PermissionDenied, "{failed}");
    }
    // Without a client certificate, and in plaintext, nothing streams either.
    let anonymous = tls_channel(galleon.addr, &ca.pem(), None).await;
    if let Ok(channel) = anonymous {
        assert!(
            RawSink::try_open(channel, SinkNode::default())
                .await
                .is_err()
        );
    }
    let plaintext = tonic::transport::Endpoint::from_shared(galleon.url()).unwrap();
    if let Ok(channel) = plaintext.connect().await {
        assert!(
            RawSink::try_open(channel, SinkNode::default())
                .await
                .is_err()
        );
    }
    assert!(metric(&galleon, "galleon_tls_handshake_failures_total").await >= 3);
    assert_eq!(metric(&galleon, "galleon_denied_streams_total").await, 0);
    galleon.wait_for_log(&["TLS handshake failed"]).await;
    // A good client still streams.
    let mut istiod = stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.unwrap();
    istiod.subscribe(VS).await;
    assert_eq!(names(&istiod.recv().await), ["default/a"]);
}

#[tokio::test]
async fn a_rotated_server_certificate_is_used_for_new_connections() {
    let old_ca = TestCa::new("old CA");
    let (dir, galleon) = serve_tls(&old_ca, &[ISTIOD]).await;
    let mut before = stream_as(&galleon, &old_ca, &old_ca.client(ISTIOD))
        .await
        .unwrap();
    before.subscribe(VS).await;
    let push = before.recv().await;
    before.ack(&push).await;

    // The new certificate comes from a new CA, which also verifies clients
    // from now on; the key is written first, so the pair is whole when the
    // certificate lands.
    let new_ca = TestCa::new("new CA");
    let tls = dir.path().join("tls");
    let server = new_ca.server();
    write_atomically(&tls, "server.key", &server.key);
    write_atomically(&tls, "server.crt", &server.cert);
    write_atomically(&tls, "ca.crt", new_ca.pem());
    let client = new_ca.client(ISTIOD);
    let mut after = None;
    for _ in 0..100 {
        if let Ok(sink) = stream_as(&galleon, &new_ca, &client).await {
            after = Some(sink);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut after = after.expect("a new connection gets the rotated certificate");
    after.subscribe(VS).await;
    assert_eq!(names(&after.recv().await), ["default/a"]);
    let stale = tls_channel(galleon.addr, &old_ca.pem(), Some(&old_ca.client(ISTIOD))).await;
    assert!(stale.is_err(), "the old certificate is no longer served");

    // The connection made before the rotation keeps streaming.
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    assert_eq!(names(&before.recv().await), ["default/a", "default/b"]);
}

#[tokio::test]
async fn plaintext_beyond_loopback_is_refused_unless_insecure() {
    let (status, stderr) = run_galleon(&["serve", "--mcp-addr", "0.0.0.0:0"]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("refusing to serve plaintext on 0.0.0.0:0")
            && stderr.contains("mcp.insecure"),
        "{stderr}"
    );
    let galleon = Galleon::serve(&["--mcp-addr", "0.0.0.0:0", "--insecure"]).await;
    galleon
        .wait_for_log(&["serving plaintext beyond loopback"])
        .await;
}

#[tokio::test]
async fn a_dns_name_that_reads_like_a_spiffe_id_is_not_that_identity() {
    let ca = TestCa::new("mesh CA");
    let (_dir, galleon) = serve_tls(&ca, &[ISTIOD]).await;
    let forged = ca.client_with_dns_name(ISTIOD);
    let refused = stream_as(&galleon, &ca, &forged).await.err().unwrap();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    let mut istiod = stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.unwrap();
    istiod.subscribe(VS).await;
    assert_eq!(names(&istiod.recv().await), ["default/a"]);
}

#[tokio::test]
async fn an_empty_or_unparsable_access_list_is_kept_out() {
    let ca = TestCa::new("mesh CA");
    let (dir, galleon) = serve_tls(&ca, &[ISTIOD]).await;
    let mut istiod = stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.unwrap();
    istiod.subscribe(VS).await;
    let push = istiod.recv().await;
    istiod.ack(&push).await;

    // Emptied (a truncating write caught half-way), then half-written:
    // neither replaces the list, and istiod's stream carries on.
    for (content, reason) in [
        ("", "is empty"),
        ("allowed:\n", "is empty"),
        ("allowed: [spiffe://cluster.local/ns/", ""),
    ] {
        write_atomically(&dir.path().join("tls"), "access.yaml", content);
        galleon
            .wait_for_log(&["keeping the access list in use", reason])
            .await;
    }
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let push = istiod.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    istiod.ack(&push).await;

    // Refusing everyone is said explicitly.
    write_atomically(&dir.path().join("tls"), "access.yaml", "allowed: []\n");
    galleon
        .wait_for_log(&["reloaded the access list", "identities=0"])
        .await;
    assert!(stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.is_err());
}

#[tokio::test]
async fn a_denied_client_cannot_hold_the_connection_slots() {
    let ca = TestCa::new("mesh CA");
    let settings = "  maxConnections: 40\n  handshakeTimeout: 1s\n";
    let (dir, galleon) = serve_tls_with(&ca, &[ISTIOD], settings).await;
    // The intruder, from another address, opens far more connections than
    // there are slots; each is denied its stream and kept open.
    let intruder = ca.client(INTRUDER);
    let elsewhere = Some("127.0.0.2".parse().unwrap());
    let mut held = Vec::new();
    for _ in 0..60 {
        if let Ok(channel) =
            tls_channel_from(elsewhere, galleon.addr, &ca.pem(), Some(&intruder)).await
        {
            let node = SinkNode::default();
            let refused = RawSink::try_open(channel.clone(), node).await.err();
            held.push((channel, refused));
        }
    }
    assert!(
        held.len() <= 10,
        "a quarter of the slots at most: {}",
        held.len()
    );
    assert!(held.iter().all(|(_, refused)| {
        refused
            .as_ref()
            .is_some_and(|s| s.code() == tonic::Code::PermissionDenied)
    }));
    // istiod is served meanwhile, and after the deadline has closed the
    // intruder's connections.
    let mut istiod = stream_as(&galleon, &ca, &ca.client(ISTIOD)).await.unwrap();
    istiod.subscribe(VS).await;
    let push = istiod.recv().await;
    istiod.ack(&push).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    assert_eq!(names(&istiod.recv().await), ["default/a", "default/b"]);
    // The deadline closed them (still open on this side): their address
    // has its share again.
    let mut again = 0;
    for _ in 0..10 {
        let dialled = tls_channel_from(elsewhere, galleon.addr, &ca.pem(), Some(&intruder)).await;
        again += usize::from(dialled.is_ok());
    }
    assert_eq!(again, 10);
    drop(held);
}
