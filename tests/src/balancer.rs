//! A loopback TCP balancer standing for a Kubernetes Service: each new
//! connection goes to the next replica whose admin server answers
//! `/readyz` with 200 (as endpoints follow readiness), so a draining
//! replica gets no new sinks. Replicas are replaced as a rolling restart
//! replaces pods.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A replica behind the balancer: where it serves MCP and its admin
/// endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replica {
    /// Its MCP address.
    pub mcp: SocketAddr,
    /// Its admin address (readiness).
    pub admin: SocketAddr,
}

/// A running balancer.
pub struct Balancer {
    /// Where it listens.
    pub addr: SocketAddr,
    replicas: Arc<Mutex<Vec<Replica>>>,
    stop: CancellationToken,
}

impl Balancer {
    /// Balances a fresh loopback port over `replicas`.
    pub async fn start(replicas: Vec<Replica>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let balancer = Self {
            addr: listener.local_addr().unwrap(),
            replicas: Arc::new(Mutex::new(replicas)),
            stop: CancellationToken::new(),
        };
        let (replicas, stop) = (balancer.replicas.clone(), balancer.stop.clone());
        tokio::spawn(async move {
            let mut next = 0_usize;
            loop {
                let (client, _) = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => continue,
                    },
                };
                let candidates = replicas
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let mut chosen = None;
                for offset in 0..candidates.len() {
                    let replica = candidates[(next + offset) % candidates.len()];
                    if ready(replica).await {
                        next = next + offset + 1;
                        chosen = Some(replica);
                        break;
                    }
                }
                let Some(replica) = chosen else { continue };
                tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(replica.mcp).await {
                        let mut client = client;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        balancer
    }

    /// `http://` URL of the balancer.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces replica `old` with `new` (a pod replaced in a rollout).
    pub fn replace(&self, old: Replica, new: Replica) {
        let mut replicas = self.replicas.lock().unwrap_or_else(PoisonError::into_inner);
        for replica in replicas.iter_mut().filter(|r| **r == old) {
            *replica = new;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Whether `replica` answers `/readyz` with 200 (a replica gone or not
/// answering is not).
async fn ready(replica: Replica) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(replica.admin).await.ok()?;
        let request = format!("GET /readyz HTTP/1.0\r\nHost: {}\r\n\r\n", replica.admin);
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        Some(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"))
    };
    let answered = tokio::time::timeout(std::time::Duration::from_secs(1), probe).await;
    matches!(answered, Ok(Some(true)))
}
