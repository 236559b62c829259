//! Live analysis on the real binary: a file edit that breaks a Gateway
//! reference makes IST0101 appear in `/debug/analysis` and the metric, and
//! the fix removes it; serving goes on throughout.

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
    assert_eq!(at_start, 1);

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
