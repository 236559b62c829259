//! The services on the MCP listener: `ResourceSource`, ADS, gRPC health
//! (mirroring readiness) and server reflection.

use std::time::Duration;

use tokio::net::TcpListener;

use super::grpc::{Methods, StreamService};
use super::resource_source::ResourceSource;
use super::xds::Ads;
use super::{McpServer, listener};

impl McpServer {
    /// Serves `ResourceSource`, ADS, gRPC health and reflection on
    /// `listener` until [`McpServer::shutdown`].
    pub async fn serve(&self, listener: TcpListener) -> Result<(), tonic::transport::Error> {
        let (health, health_service) = tonic_health::server::health_reporter();
        let ready = self.shared.ready.subscribe();
        // Every service has a status before the first connection.
        let now = *ready.borrow();
        set_health(&health, now).await;
        tokio::spawn(report_health(health, ready));
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(galleon_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .expect("galleon's own descriptors are valid");
        let options = &self.shared.options;
        let mut builder = tonic::transport::Server::builder();
        if let Some(age) = options.max_connection_age {
            builder = builder
                .max_connection_age(age)
                .max_connection_age_grace(options.max_connection_age_grace);
        }
        builder
            .max_concurrent_streams(options.max_concurrent_streams)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .add_service(StreamService::<ResourceSource>::new(self.clone()))
            .add_service(StreamService::<Ads>::new(self.clone()))
            .add_service(health_service)
            .add_service(reflection)
            .serve_with_incoming_shutdown(
                listener::incoming(self.shared.clone(), listener),
                self.stopped(),
            )
            .await
    }
}

/// The services gRPC health reports on, beside the server as a whole ("").
const HEALTH_SERVICES: [&str; 3] = ["", ResourceSource::NAME, Ads::NAME];

/// Mirrors readiness into gRPC health: `NOT_SERVING` until ready.
async fn report_health(
    health: tonic_health::server::HealthReporter,
    mut ready: tokio::sync::watch::Receiver<bool>,
) {
    while ready.changed().await.is_ok() {
        let now = *ready.borrow_and_update();
        set_health(&health, now).await;
    }
}

async fn set_health(health: &tonic_health::server::HealthReporter, ready: bool) {
    use tonic_health::ServingStatus;
    let status = if ready {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    for service in HEALTH_SERVICES {
        health.set_service_status(service, status).await;
    }
}
