//! A fleet: three replicas reading one etcd, behind a balancer that sends
//! each new connection to a ready replica (as a Service's endpoints follow
//! readiness). A rolling restart (a new replica up, the old one sent
//! SIGTERM) ends the old one's streams with UNAVAILABLE after its drain;
//! each of those sinks resumes on another replica naming the versions it
//! holds and is sent nothing, because versions are content hashes, the
//! same on every replica; and afterwards every sink is served a change.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use galleon_tests::Galleon;
use galleon_tests::balancer::{Balancer, Replica};
use galleon_tests::etcd::Etcd;
use galleon_tests::hub::{FAST, vs};

use crate::ads::{Delta, DeltaDiscoveryRequest, DeltaDiscoveryResponse, istiod};

const VS: &str = "networking.istio.io/v1/VirtualService";
const SINKS: usize = 6;

/// A ready replica on `dir` reading `/galleon/` from etcd at `endpoint`,
/// with a short drain.
async fn replica(dir: &Path, endpoint: &str) -> Galleon {
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\", drainDelay: 500ms}}\n\
         sources: [{{etcd: {{endpoints: [\"{endpoint}\"], prefix: /galleon/}}}}]\n{FAST}"
    );
    std::fs::write(dir.join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(dir, &["--config", "galleon.yaml"]).await;
    // The balancer, as a Service, sends sinks only to ready replicas.
    galleon.wait_for_admin("/readyz", &["ready"]).await;
    galleon
}

fn address(galleon: &Galleon) -> Replica {
    Replica {
        mcp: galleon.addr,
        admin: galleon.admin,
    }
}

/// A delta sink through the balancer, subscribed to every VirtualService,
/// holding `held` (name → version).
async fn sink(balancer: &Balancer, held: BTreeMap<String, String>) -> Delta {
    let ads = Delta::connect(&balancer.url()).await;
    ads.send(DeltaDiscoveryRequest {
        node: Some(istiod(None)),
        type_url: VS.into(),
        resource_names_subscribe: vec!["*".into()],
        initial_resource_versions: held,
        ..Default::default()
    });
    ads
}

fn versions(response: &DeltaDiscoveryResponse) -> BTreeMap<String, String> {
    response
        .resources
        .iter()
        .map(|r| (r.name.clone(), r.version.clone()))
        .collect()
}

#[tokio::test]
async fn a_rolling_restart_leaves_no_sink_unserved_and_a_resume_is_sent_nothing() {
    let etcd = Etcd::start();
    for name in ["a", "b", "c"] {
        etcd.put(&format!("/galleon/{name}.yaml"), &vs(name, name));
    }
    let mut dirs = Vec::new();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        replicas.push(replica(dir.path(), &etcd.endpoint()).await);
        dirs.push(dir);
    }
    let balancer = Balancer::start(replicas.iter().map(address).collect()).await;

    let mut sinks = Vec::new();
    for _ in 0..SINKS {
        let mut ads = sink(&balancer, BTreeMap::new()).await;
        let first = ads.recv().await;
        ads.ack(&first);
        sinks.push((ads, versions(&first)));
    }
    let held = sinks[0].1.clone();
    assert_eq!(held.len(), 3);
    assert!(
        sinks.iter().all(|(_, v)| *v == held),
        "every replica serves the same versions"
    );

    let mut resumes = [0_usize; SINKS];
    for _ in 0..3 {
        // Surge: the new replica is ready before the old one goes.
        let dir = tempfile::tempdir().unwrap();
        let new = replica(dir.path(), &etcd.endpoint()).await;
        dirs.push(dir);
        let old = replicas.remove(0);
        balancer.replace(address(&old), address(&new));
        replicas.push(new);
        assert!(old.stop().await, "the old replica exits 0 after its drain");
        for ((ads, versions), resumed) in sinks.iter_mut().zip(&mut resumes) {
            let Some(ended) = ads.ended_within(Duration::from_millis(300)).await else {
                continue;
            };
            assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended}");
            *ads = sink(&balancer, versions.clone()).await;
            if let Some(response) = ads.recv_within(Duration::from_millis(700)).await {
                assert!(
                    response.resources.is_empty() && response.removed_resources.is_empty(),
                    "a resume holding every version is sent nothing: {response:?}"
                );
                ads.ack(&response);
            }
            *resumed += 1;
        }
    }
    assert!(
        resumes.iter().all(|&n| n >= 1),
        "every sink was on a replica that was replaced, and resumed: {resumes:?}"
    );

    // Every sink is served by a live replica: a change reaches each.
    etcd.put("/galleon/a.yaml", &vs("a", "a2"));
    for (ads, versions) in &mut sinks {
        let change = ads.recv().await;
        let changed = self::versions(&change);
        assert_eq!(changed.keys().collect::<Vec<_>>(), ["default/a"]);
        assert_ne!(changed["default/a"], versions["default/a"]);
        ads.ack(&change);
    }
}
