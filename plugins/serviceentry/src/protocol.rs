//! A Service port's protocol, inferred from its name as Istio's Kubernetes
//! conversion does: `UDP` ports are UDP; otherwise the name's prefix up to
//! the first `-` (or `grpc-web` as a whole) names it; unnamed or unknown
//! ports on 25, 53, 3306 and 27017 are TCP; anything else has no protocol
//! (Istio sniffs it; Galley wrote `UnsupportedProtocol`).

/// Ports Istio treats as TCP when their name says nothing.
const WELL_KNOWN_TCP: [u64; 4] = [25, 53, 3306, 27017];

/// The Istio protocol name for a port, if one can be inferred.
pub(crate) fn protocol(number: u64, name: &str, kube_protocol: &str) -> Option<&'static str> {
    if kube_protocol.eq_ignore_ascii_case("UDP") {
        return Some("UDP");
    }
    let name = name.to_ascii_lowercase();
    if name.starts_with("grpc-web") {
        return Some("GRPC-Web");
    }
    let prefix = name.split('-').next().unwrap_or_default();
    let known = match prefix {
        "tcp" => Some("TCP"),
        "udp" => Some("UDP"),
        "grpc" => Some("GRPC"),
        "http" => Some("HTTP"),
        "http2" => Some("HTTP2"),
        "https" => Some("HTTPS"),
        "tls" => Some("TLS"),
        "mongo" => Some("Mongo"),
        "redis" => Some("Redis"),
        "mysql" => Some("MySQL"),
        _ => None,
    };
    known.or_else(|| WELL_KNOWN_TCP.contains(&number).then_some("TCP"))
}

#[cfg(test)]
mod tests {
    use super::protocol;

    #[test]
    fn names_prefixes_and_well_known_ports() {
        let cases = [
            (80, "http", "TCP", Some("HTTP")),
            (80, "HTTP-web", "TCP", Some("HTTP")),
            (8080, "http2-api", "", Some("HTTP2")),
            (443, "https", "TCP", Some("HTTPS")),
            (9000, "grpc-web-ui", "TCP", Some("GRPC-Web")),
            (9001, "grpc-api", "TCP", Some("GRPC")),
            (9002, "grpcweb", "TCP", None),
            (53, "dns", "UDP", Some("UDP")),
            (53, "dns", "TCP", Some("TCP")),
            (25, "", "TCP", Some("TCP")),
            (3306, "db", "TCP", Some("TCP")),
            (3307, "mysql-replica", "TCP", Some("MySQL")),
            (27017, "", "TCP", Some("TCP")),
            (6379, "redis", "TCP", Some("Redis")),
            (27018, "mongo", "TCP", Some("Mongo")),
            (853, "tls-dot", "TCP", Some("TLS")),
            (5000, "udp-stream", "TCP", Some("UDP")),
            (5001, "tcp", "TCP", Some("TCP")),
            (8081, "metrics", "TCP", None),
            (8082, "", "TCP", None),
        ];
        for (number, name, kube, expected) in cases {
            assert_eq!(
                protocol(number, name, kube),
                expected,
                "{number} {name:?} {kube}"
            );
        }
    }
}
