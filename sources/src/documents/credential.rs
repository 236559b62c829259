//! A Secret as the hub keeps it: its `type`, the names of the keys that
//! hold a value, and the validity window of the certificate Istio would
//! serve from it (`cert` of a `cert`/`key` pair, else `tls.crt` of a
//! `tls.crt`/`tls.key` pair) — never the data. Enough for the analyzers to
//! judge a Gateway's credential; no key material stays in the hub.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use x509_parser::pem::parse_x509_pem;

/// The pairs Istio reads a serving certificate from, in its order.
const PAIRS: [(&str, &str); 2] = [("cert", "key"), ("tls.crt", "tls.key")];

/// The summary that stands for the Secret `object` (its `data` base64, its
/// `stringData` plain, as the API server merges them).
pub(super) fn summary(object: &Map<String, Value>) -> Value {
    let mut values: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(Value::Object(data)) = object.get("data") {
        for (key, value) in data {
            let bytes = value
                .as_str()
                .and_then(|text| STANDARD.decode(text.trim()).ok())
                .unwrap_or_default();
            values.push((key.clone(), bytes));
        }
    }
    if let Some(Value::Object(data)) = object.get("stringData") {
        for (key, value) in data {
            values.retain(|(k, _)| k != key);
            values.push((
                key.clone(),
                value.as_str().unwrap_or("").as_bytes().to_vec(),
            ));
        }
    }
    values.retain(|(_, bytes)| !bytes.is_empty());
    values.sort();
    let held = |key: &str| values.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let certificate = PAIRS
        .iter()
        .find(|(cert, key)| held(cert).is_some() && held(key).is_some())
        .map(|(cert, _)| validity(cert, held(cert).map_or(&[][..], Vec::as_slice)));
    let mut summary = Map::new();
    summary.insert(
        "type".into(),
        object
            .get("type")
            .cloned()
            .unwrap_or_else(|| json!("Opaque")),
    );
    summary.insert(
        "keys".into(),
        json!(values.iter().map(|(k, _)| k).collect::<Vec<_>>()),
    );
    if let Some(certificate) = certificate {
        summary.insert("certificate".into(), certificate);
    }
    Value::Object(summary)
}

/// The first PEM certificate of `bytes` (under `key`): its validity in Unix
/// seconds, or why it is not a certificate.
fn validity(key: &str, bytes: &[u8]) -> Value {
    let parsed = parse_x509_pem(bytes)
        .map_err(|e| format!("no PEM block: {e}"))
        .and_then(|(_, pem)| {
            pem.parse_x509()
                .map(|cert| {
                    let v = cert.validity();
                    (v.not_before.timestamp(), v.not_after.timestamp())
                })
                .map_err(|e| format!("not an X.509 certificate: {e}"))
        });
    match parsed {
        Ok((not_before, not_after)) => {
            json!({"key": key, "notBefore": not_before, "notAfter": not_after})
        }
        Err(error) => json!({"key": key, "error": error}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(data: Value) -> Map<String, Value> {
        json!({"type": "kubernetes.io/tls", "data": data})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn the_summary_names_keys_and_never_holds_their_values() {
        let key = STANDARD.encode("-----BEGIN PRIVATE KEY-----\nsecret\n");
        let summary = summary(&secret(
            json!({"tls.crt": STANDARD.encode("hush"), "tls.key": key, "empty": ""}),
        ));
        assert_eq!(summary["keys"], json!(["tls.crt", "tls.key"]));
        assert_eq!(summary["certificate"]["key"], "tls.crt");
        assert!(summary["certificate"]["error"].is_string(), "{summary}");
        let text = summary.to_string();
        assert!(!text.contains("secret") && !text.contains("hush"), "{text}");
    }

    #[test]
    fn a_certificate_is_kept_as_its_validity_window() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["gw.example.com".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let cert = params.self_signed(&key).unwrap().pem();
        let pem = key.serialize_pem();
        let summary = summary(&secret(json!({
            "cert": STANDARD.encode(&cert),
            "key": STANDARD.encode(&pem),
            "tls.crt": STANDARD.encode("ignored: the generic pair wins"),
            "tls.key": STANDARD.encode("x"),
        })));
        let certificate = &summary["certificate"];
        assert_eq!(certificate["key"], "cert");
        assert_eq!(certificate["notBefore"], 1_704_067_200);
        assert_eq!(certificate["notAfter"], 1_893_456_000);
        let text = summary.to_string();
        for line in cert.lines().chain(pem.lines()).skip(1).take(2) {
            assert!(!text.contains(line), "{text}");
        }
    }

    #[test]
    fn a_secret_without_a_pair_has_no_certificate() {
        let summary = summary(&secret(json!({"tls.cert": STANDARD.encode("x")})));
        assert_eq!(summary["keys"], json!(["tls.cert"]));
        assert!(summary.get("certificate").is_none());
    }
}
