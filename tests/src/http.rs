//! A plain HTTP/1.0 GET (or body-less POST) for the admin endpoints: one request per
//! connection, the whole response read until the server closes it.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::PATIENCE;

/// `GET path` on `addr`: the status code and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_as(addr, path, &addr.to_string()).await
}

/// `GET path` on `addr` with `host` in its `Host` header.
pub async fn http_get_as(addr: SocketAddr, path: &str, host: &str) -> (u16, String) {
    http_request(addr, "GET", path, host).await
}

/// `POST path` on `addr`, with no body: the status code and the body.
pub async fn http_post(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "POST", path, &addr.to_string()).await
}

async fn http_request(addr: SocketAddr, method: &str, path: &str, host: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to admin");
        let request =
            format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    };
    let response = tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("admin answers in time");
    let (head, body) = response.split_once("\r\n\r\n").expect("a header");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}
