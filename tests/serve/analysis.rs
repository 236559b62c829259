//! Live analysis on the real binary: a file edit that breaks a Gateway
//! reference makes IST0101 appear in `/debug/analysis` and the metric, and
//! the fix removes it; serving goes on throughout. A Gateway credential
//! whose certificate expired, or that names no Secret, is reported.

use galleon_tests::hub::Hub;

const GATEWAY: &str = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: front, namespace: shop}\nspec:\n  selector: {istio: ingressgateway}\n  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]\n";

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: shop, namespace: shop}\nspec:\n  selector: {app: shop}\n  ports: [{name: http, port: 80}]\n";

fn vs(gateway: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: shop, namespace: shop}}\nspec:\n  hosts: [shop.example.com]\n  gateways: [{gateway}]\n  http: [{{route: [{{destination: {{host: shop}}}}]}}]\n"
    )
}

#[tokio::test]
async fn a_broken_gateway_reference_appears_and_its_fix_removes_it() {
    let hub = Hub::start(&[
        ("gateway.yaml", GATEWAY),
        ("service.yaml", SERVICE),
        ("vs.yaml", &vs("front")),
    ])
    .await;
    let g = &hub.galleon;
    g.wait_for_admin("/debug/plugins", &["\"analyzers\""]).await;
    // The Gateway's selector matches no pod here (IST0101 on the Gateway);
    // the VirtualService is fine.
    g.wait_for_admin(
        "/debug/analysis?kind=Gateway",
        &["Referenced selector not found"],
    )
    .await;
    let (_, before) = g
        .admin_get("/debug/analysis?code=IST0101&kind=VirtualService")
        .await;
    assert_eq!(before.trim(), "[]", "nothing wrong yet: {before}");
    let errors = "galleon_analysis_messages{code=\"IST0101\",level=\"Error\"}";
    let count = |metrics: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(errors))
            .map_or(0, |n| n.trim().parse::<u64>().unwrap())
    };
    let at_start = count(&g.admin_get("/metrics").await.1);
    // The Gateway's selector matches no pod: its port and its credential
    // analyzers each say so, as Istio's do.
    assert_eq!(at_start, 2);

    hub.write("vs.yaml", &vs("frnt"));
    let body = g
        .wait_for_admin(
            "/debug/analysis?code=IST0101&kind=VirtualService",
            &[
                "Referenced gateway not found: \\\"frnt\\\"",
                "vs.yaml",
                "\"namespace\":\"shop\"",
            ],
        )
        .await;
    assert!(body.contains("virtualservice.GatewayAnalyzer"), "{body}");
    assert_eq!(count(&g.admin_get("/metrics").await.1), at_start + 1);
    // The VirtualService is still served: analysis reports, it does not refuse.
    g.wait_for_admin(
        "/debug/resources?collection=istio/networking/v1alpha3/virtualservices",
        &["shop/shop"],
    )
    .await;

    hub.write("vs.yaml", &vs("front"));
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let (_, body) = g
                .admin_get("/debug/analysis?code=IST0101&kind=VirtualService")
                .await;
            if body.trim() == "[]" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the fix clears the message");
    assert_eq!(count(&g.admin_get("/metrics").await.1), at_start);
}

/// A Kubernetes Secret holding `issued` as `tls.crt` and `tls.key`.
fn tls_secret(name: &str, issued: &galleon_tests::pki::Issued) -> String {
    use base64::Engine as _;
    let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: istio-system}}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        encode(&issued.cert),
        encode(&issued.key)
    )
}

fn tls_gateway(name: &str, credential: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: istio-system}}\nspec:\n  selector: {{istio: ingressgateway}}\n  servers: [{{port: {{number: 443, name: https, protocol: HTTPS}}, hosts: [\"*\"], tls: {{mode: SIMPLE, credentialName: {credential}}}}}]\n"
    )
}

#[tokio::test]
async fn a_gateway_credential_that_expired_or_is_missing_is_reported() {
    let ca = galleon_tests::pki::TestCa::new("analysis");
    let (valid, expired) = (ca.server(), ca.expired_client("spiffe://example/old"));
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: ingress-1, namespace: istio-system, labels: {istio: ingressgateway}}\nspec:\n  containers: [{name: istio-proxy, image: proxyv2}]\n";
    let hub = Hub::start(&[
        ("pod.yaml", pod),
        ("current.yaml", &tls_secret("current", &valid)),
        ("old.yaml", &tls_secret("old", &expired)),
        ("fresh-gateway.yaml", &tls_gateway("fresh", "current")),
        ("stale-gateway.yaml", &tls_gateway("stale", "old")),
        ("missing-gateway.yaml", &tls_gateway("missing", "nowhere")),
    ])
    .await;
    let g = &hub.galleon;
    let body = g
        .wait_for_admin(
            "/debug/analysis?code=IST0161",
            &["\"name\":\"stale\"", "stale-gateway.yaml"],
        )
        .await;
    assert!(!body.contains("\"name\":\"fresh\""), "{body}");
    g.wait_for_admin(
        "/debug/analysis?code=IST0101&kind=Gateway",
        &["Referenced credentialName not found: \\\"nowhere\\\""],
    )
    .await;
}
