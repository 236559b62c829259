//! Certificates made in the test (rcgen), for the TLS tests: a CA, a
//! server certificate for `localhost` and `127.0.0.1`, and client
//! certificates carrying an identity (a SPIFFE ID as a URI SAN), valid or
//! long expired; and a gRPC channel that dials with them.

use std::net::SocketAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType, date_time_ymd,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A certificate authority of the test's own.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
#[derive(Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

impl Issued {
    /// Writes `NAME.crt` and `NAME.key` into `dir`.
    pub fn write(&self, dir: &Path, name: &str) {
        std::fs::write(dir.join(format!("{name}.crt")), &self.cert).expect("write certificate");
        std::fs::write(dir.join(format!("{name}.key")), &self.key).expect("write key");
    }
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        Self { issuer }
    }

    /// The CA's certificate.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self) -> Issued {
        let sans = vec![
            SanType::DnsName("localhost".try_into().expect("DNS name")),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        self.issue(sans, false)
    }

    /// A client certificate whose identity is the URI SAN `identity`.
    pub fn client(&self, identity: &str) -> Issued {
        self.issue(vec![uri(identity)], false)
    }

    /// A client certificate whose only name is the DNS SAN `name`, whatever
    /// it reads (an attacker's `spiffe://…` too).
    pub fn client_with_dns_name(&self, name: &str) -> Issued {
        let san = SanType::DnsName(name.try_into().expect("an IA5 string"));
        self.issue(vec![san], false)
    }

    /// A client certificate for `identity` that expired years ago.
    pub fn expired_client(&self, identity: &str) -> Issued {
        self.issue(vec![uri(identity)], true)
    }

    fn issue(&self, sans: Vec<SanType>, expired: bool) -> Issued {
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

fn uri(identity: &str) -> SanType {
    SanType::URI(identity.try_into().expect("URI SAN"))
}

/// Dials `addr` over TLS, trusting `ca` and presenting `client` if given;
/// the handshake runs here, so a server certificate `ca` did not sign
/// fails this.
pub async fn tls_channel(
    addr: SocketAddr,
    ca: &str,
    client: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    tls_channel_from(None, addr, ca, client).await
}

/// [`tls_channel`] from the local address `local` (any loopback address
/// stands for another machine).
pub async fn tls_channel_from(
    local: Option<std::net::IpAddr>,
    addr: SocketAddr,
    ca: &str,
    client: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.cert, &client.key));
    }
    Endpoint::from_shared(format!("https://{addr}"))?
        .local_address(local)
        .tls_config(tls)?
        .connect()
        .await
}
