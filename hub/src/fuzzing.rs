//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not
//! part of the API): the document parser, the JSON → body codec, CRD
//! loading and validation, and the admission webhook's judging, each fed
//! arbitrary bytes. The MCP stream engine's is `galleon-mcp`'s own
//! (`server::fuzz_requests`, its feature `fuzzing`).

pub use galleon_sources::file::fuzz_parse;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use galleon_crd::Crds;
use galleon_pipeline::registry::Registry;
use galleon_pipeline::{BodyCodec, StructCodec, ValidatorFactory};

use crate::checks::Checks;

/// Parses `bytes` as JSON and, when it is, encodes it as a body.
pub fn fuzz_body(bytes: &[u8]) {
    if let Ok(body) = serde_json::from_slice(bytes) {
        let _ = StructCodec.encode(&body);
    }
}

/// With the first byte even, the rest loaded as CustomResourceDefinitions
/// (schemas and CEL rules compiled under their cost limits); odd, the rest
/// read as an object (JSON or YAML) and validated against `crds`, a CRD
/// text of the target's own, as a create and as an update of itself.
pub fn fuzz_crd(crds: &str, bytes: &[u8]) {
    static LOADED: OnceLock<Crds> = OnceLock::new();
    let Some((&selector, rest)) = bytes.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if selector % 2 == 0 {
        let _ = Crds::from_text(&text, Path::new("fuzz.yaml"));
        return;
    }
    let loaded = LOADED.get_or_init(|| {
        let loaded = Crds::from_text(crds, Path::new("crds.yaml"));
        assert!(
            loaded.problems().is_empty(),
            "the target's CRDs load: {:?}",
            loaded.problems()
        );
        loaded
    });
    if let Ok(object) = serde_saphyr::from_str::<serde_json::Value>(&text) {
        let _ = loaded.validate(&object, None).message();
        let _ = loaded.validate(&object, Some(&object)).message();
    }
}

/// The admission webhook's judging of `bytes` as an AdmissionReview, with
/// the CRDs of `crds` (written once to a file, as `schemas.crds` reads
/// them) over Istio's kinds.
pub fn fuzz_admission(crds: &str, bytes: &[u8]) {
    static CHECKS: OnceLock<(Checks, Registry)> = OnceLock::new();
    let (checks, registry) = CHECKS.get_or_init(|| {
        let registry = Registry::builtin();
        let dir = std::env::temp_dir().join(format!("galleon-fuzz-crds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the CRDs");
        std::fs::write(dir.join("crds.yaml"), crds).expect("write the CRDs");
        let validation = crate::hub::crd_validation(&[dir], &registry)
            .expect("the target's CRDs load")
            .expect("CRDs configured");
        let validators: Vec<Arc<dyn ValidatorFactory>> = vec![Arc::new(validation)];
        let checks = Checks::new(validators, &Default::default(), &registry);
        (checks, registry)
    });
    crate::admission::fuzz_review(checks, registry, bytes);
}
