//! Servers that send their response headers only after reading a request
//! (legal in gRPC, and what some MCP servers do): the sink library and the
//! ADS client must subscribe before they wait for the headers. The server is
//! raw HTTP/2 (the `h2` crate), so it can hold its headers back as no tonic
//! service would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use galleon_mcp::ads::{self, AdsOptions, AdsStream};
use galleon_mcp::sink::SinkClient;
use galleon_proto::mcp::{RequestResources, Resources};
use galleon_proto::xds::{DiscoveryRequest, DiscoveryResponse};
use galleon_tests::*;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

/// Starts a server that answers each stream's first request message with
/// `reply(request)` and only then sends headers; every request message it
/// reads is sent on the returned channel.
async fn late_server(
    reply: fn(&[u8]) -> Vec<u8>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, requests) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut connection = h2::server::handshake(socket).await.unwrap();
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(answer_late(
                        request.into_body(),
                        respond,
                        reply,
                        seen.clone(),
                    ));
                }
            });
        }
    });
    (addr, requests)
}

async fn answer_late(
    mut body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
    reply: fn(&[u8]) -> Vec<u8>,
    seen: mpsc::UnboundedSender<Vec<u8>>,
) {
    let mut buffer = BytesMut::new();
    let mut sent = None;
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        buffer.extend_from_slice(&chunk);
        while let Some(message) = grpc_message(&mut buffer) {
            let _ = seen.send(message.clone());
            if sent.is_none() {
                let response = http::Response::builder()
                    .header("content-type", "application/grpc")
                    .body(())
                    .unwrap();
                let mut stream = respond.send_response(response, false).unwrap();
                stream
                    .send_data(grpc_frame(&reply(&message)), false)
                    .unwrap();
                sent = Some(stream);
            }
        }
    }
}

/// Takes one length-prefixed gRPC message off the front of `buffer`.
fn grpc_message(buffer: &mut BytesMut) -> Option<Vec<u8>> {
    if buffer.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + len {
        return None;
    }
    buffer.advance(5);
    Some(buffer.split_to(len).to_vec())
}

fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    frame.into()
}

async fn next(requests: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(PATIENCE, requests.recv())
        .await
        .expect("the client sent no request")
        .unwrap()
}

#[tokio::test]
async fn the_sink_library_subscribes_before_the_source_sends_headers() {
    let (addr, mut requests) = late_server(|request| {
        let request = RequestResources::decode(request).unwrap();
        Resources {
            collection: request.collection,
            resources: vec![resource("a", r#"{"v":1}"#).encode_to_vec().into()],
            nonce: "1".into(),
            ..Resources::default()
        }
        .encode_to_vec()
    })
    .await;
    let recorder = Recorder::default();
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let options = galleon_mcp::sink::SinkOptions {
        collections: vec![VS.into()],
        ..Default::default()
    };
    let client = SinkClient::new(endpoint, options, recorder.clone()).with_backoff(quick_backoff());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { client.run(token).await });

    let subscription = RequestResources::decode(next(&mut requests).await.as_slice()).unwrap();
    assert_eq!(subscription.collection, VS);
    recorder
        .wait_for("the push sent after the late headers", |changes| {
            changes.iter().any(|c| c.resources.len() == 1)
        })
        .await;
    let ack = RequestResources::decode(next(&mut requests).await.as_slice()).unwrap();
    assert_eq!(ack.response_nonce, "1");
    assert!(ack.error_detail.is_none(), "{ack:?}");
    stop.cancel();
}

#[tokio::test]
async fn the_ads_client_subscribes_before_the_server_sends_headers() {
    const TYPE: &str = "networking.istio.io/v1/VirtualService";
    let (addr, mut requests) = late_server(|request| {
        let request = DiscoveryRequest::decode(request).unwrap();
        DiscoveryResponse {
            type_url: request.type_url,
            version_info: "v1".into(),
            nonce: "n1".into(),
            ..DiscoveryResponse::default()
        }
        .encode_to_vec()
    })
    .await;
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let options = AdsOptions {
        node: ads::node("late-test", Some("canary")),
        types: vec![TYPE.into()],
        incremental: false,
        max_message_size: 1 << 20,
    };
    let versions = HashMap::new();
    let opened = AdsStream::open(channel, &options, &versions);
    let mut stream = tokio::time::timeout(PATIENCE, opened)
        .await
        .expect("the stream never opened: the request waited for the headers")
        .unwrap();
    let subscription = DiscoveryRequest::decode(next(&mut requests).await.as_slice()).unwrap();
    assert_eq!(subscription.type_url, TYPE);
    assert_eq!(subscription.node.unwrap().id, "late-test");
    let response = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .expect("a response");
    assert_eq!(
        (response.version.as_str(), response.nonce.as_str()),
        ("v1", "n1")
    );
    stream.ack(&response).await.unwrap();
    let ack = DiscoveryRequest::decode(next(&mut requests).await.as_slice()).unwrap();
    assert_eq!(
        (ack.version_info.as_str(), ack.response_nonce.as_str()),
        ("v1", "n1")
    );
}
