//! Load Istio's CRDs and validate 1,000 documents: load time and documents per second.
//!
//! `cargo run --release -p galleon-crd --example bench -- <api>/kubernetes/customresourcedefinitions.gen.yaml <api>/tests/testdata`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use galleon_crd::Crds;
use serde_json::Value;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(crds_path), Some(corpus)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench <customresourcedefinitions.gen.yaml> <testdata dir>");
        std::process::exit(2);
    };
    let started = Instant::now();
    let crds = Crds::load([crds_path]);
    let load = started.elapsed();
    let mut docs: Vec<Value> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(corpus)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for chunk in text.split("\n---") {
            if let Ok(mut v) = serde_saphyr::from_str::<Value>(chunk) {
                if let Value::Object(m) = &mut v {
                    m.remove("_err");
                }
                if v.is_object() {
                    docs.push(v);
                }
            }
        }
    }
    if docs.is_empty() {
        eprintln!("no documents under {corpus}");
        std::process::exit(1);
    }
    let n = 1000;
    let started = Instant::now();
    let mut invalid = 0;
    for i in 0..n {
        if !crds.validate(&docs[i % docs.len()], None).is_valid() {
            invalid += 1;
        }
    }
    let took = started.elapsed();
    println!(
        "loaded {} CRDs ({} versions' rules compiled) in {load:?}",
        crds.len(),
        crds.kinds().iter().map(|c| c.versions.len()).sum::<usize>()
    );
    println!(
        "validated {n} documents ({} distinct, {invalid} refused) in {took:?}: {:.0} docs/s",
        docs.len(),
        n as f64 / took.as_secs_f64()
    );
}
