//! Who may write through the admin server (rollback, release, plugin
//! preview, promote, abort): anyone, while it listens on loopback (then
//! they are on this machine); otherwise only a request over `admin.tls`
//! that came with a verified client certificate whose identity
//! `admin.tls.writers` lists. [`Writer`] is that check as an extractor,
//! run before a handler reads its request's body, naming who wrote.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::AdminState;
use super::resource_diff::{Refusal, refusal};
use crate::http_server::{ClientIdentities, Peer};

/// Who is writing: the peer's address on loopback, else the client
/// certificate's identity (and address).
pub(super) struct Writer(pub(super) String);

impl FromRequestParts<AdminState> for Writer {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, Refusal> {
        let peer = parts
            .extensions
            .get::<Peer>()
            .map_or_else(|| "unknown".to_owned(), |p| p.0.to_string());
        let listening = state.admin_addr;
        if listening.ip().is_loopback() {
            return Ok(Self(peer));
        }
        let writers = state
            .config
            .admin
            .tls
            .as_ref()
            .map_or(&[][..], |tls| tls.writers.as_slice());
        let presented = parts.extensions.get::<ClientIdentities>();
        let listed = presented.and_then(|ids| ids.0.iter().find(|id| writers.contains(id)));
        if let Some(identity) = listed {
            return Ok(Self(format!("{identity} ({peer})")));
        }
        let fix = match (writers.is_empty(), presented) {
            (true, _) => format!(
                "set admin.tls (cert, key, clientCa, writers) to take writes from client certificates, or admin.address to 127.0.0.1:{} and write from the hub's host (kubectl port-forward or exec)",
                listening.port()
            ),
            (false, None) => {
                "present a client certificate whose identity admin.tls.writers lists".to_owned()
            }
            (false, Some(ids)) => format!(
                "the client certificate's identities {:?} are not among admin.tls.writers",
                ids.0
            ),
        };
        let message = format!(
            "writes (rollback, release, plugin preview, promote, abort) are refused: the admin server listens on {listening}, not loopback; {fix}"
        );
        Err(refusal(StatusCode::FORBIDDEN, message))
    }
}
