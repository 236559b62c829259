//! Protocol edges, against the real binary: requests the source must refuse
//! with a status that says why, and repeated subscriptions that must not buy
//! repeated pushes.

use galleon_proto::mcp::{RequestResources, Resources};
use galleon_tests::hub::{Hub, vs};
use galleon_tests::*;
use prost::Message;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

const ESTABLISH: &str = "/istio.mcp.v1alpha1.ResourceSource/EstablishResourceStream";

/// A request whose field 2 (`collection`, a string) is sent as a varint:
/// not a `RequestResources` any decoder accepts.
#[derive(Clone, PartialEq, Message)]
struct Malformed {
    #[prost(uint64, tag = "2")]
    collection: u64,
}

/// Opens a stream sending `requests` of any message type, and returns the
/// status the stream ends with.
async fn end_status<M: Message + Clone + Default + Send + Sync + 'static>(
    url: &str,
    requests: Vec<M>,
) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(requests.len().max(1));
    for request in requests {
        tx.send(request).await.unwrap();
    }
    let codec = tonic_prost::ProstCodec::<M, Resources>::default();
    let response = grpc
        .streaming(
            tonic::Request::new(ReceiverStream::new(rx)),
            PathAndQuery::from_static(ESTABLISH),
            codec,
        )
        .await;
    let mut pushes = match response {
        Ok(response) => response.into_inner(),
        Err(status) => return status,
    };
    loop {
        match tokio::time::timeout(PATIENCE, pushes.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return tonic::Status::ok(""),
            Ok(Err(status)) => return status,
            Err(_) => panic!("the stream did not end"),
        }
    }
}

#[tokio::test]
async fn a_malformed_request_ends_the_stream_with_invalid_argument() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a"))]).await;
    let status = end_status(&hub.galleon.url(), vec![Malformed { collection: 7 }]).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("malformed request"), "{status:?}");
}

#[tokio::test]
async fn an_oversized_request_ends_the_stream_with_resource_exhausted() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a"))]).await;
    // Over the default limit of 16 MiB.
    let request = RequestResources {
        collection: VS.into(),
        initial_resource_versions: (0..300_000)
            .map(|i| {
                (
                    format!("ns/resource-{i:08}"),
                    "0123456789abcdef0123456789abcdef".to_owned(),
                )
            })
            .collect(),
        incremental: true,
        ..Default::default()
    };
    assert!(request.encoded_len() > 16 << 20);
    let status = end_status(&hub.galleon.url(), vec![request]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
}

#[tokio::test]
async fn repeated_subscriptions_buy_no_pushes() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a1"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    for _ in 0..1_000 {
        sink.subscribe(VS).await;
    }
    sink.expect_silence().await;
    // A real change still arrives, once.
    hub.write("a.yaml", &vs("a", "a2"));
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "a2");
    sink.ack(&push).await;
    sink.expect_silence().await;
}

#[tokio::test]
async fn repeated_subscriptions_are_counted_not_answered() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", r#"{"v":1}"#)]);
    let mut sink = source.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    for _ in 0..100 {
        sink.subscribe(VS).await;
    }
    sink.expect_silence().await;
    assert_eq!(source.server.stats().repeated_subscriptions, 100);
    assert_eq!(source.server.stats().pushes, 1);
}

#[tokio::test]
async fn grpc_health_is_not_serving_until_the_source_is_ready() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let source = TestServer::start(&[VS]).await;
    let channel = tonic::transport::Endpoint::from_shared(source.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut check = async || {
        let request = HealthCheckRequest {
            service: "istio.mcp.v1alpha1.ResourceSource".into(),
        };
        health.check(request).await.unwrap().into_inner().status
    };
    assert_eq!(check().await, ServingStatus::NotServing as i32);
    source.server.set_ready();
    let serving = tokio::time::timeout(PATIENCE, async {
        while check().await != ServingStatus::Serving as i32 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(serving.is_ok(), "SERVING once ready");
}
