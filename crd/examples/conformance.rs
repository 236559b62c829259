//! Conformance against istio/api's corpus: `tests/testdata/*.yaml`, where each invalid document
//! carries in `_err` a substring of the error the API server gives it (istio/api's
//! `tests/validation_test.go` strips `_err`, validates, and checks the error contains it).
//!
//! `cargo run -p galleon-crd --example conformance -- --crds <api>/kubernetes/customresourcedefinitions.gen.yaml <api>/tests/testdata`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use galleon_crd::Crds;
use serde_json::Value;

#[derive(Default)]
struct Tally {
    valid: usize,
    valid_accepted: usize,
    invalid: usize,
    invalid_refused: usize,
    invalid_matched: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.valid += o.valid;
        self.valid_accepted += o.valid_accepted;
        self.invalid += o.invalid;
        self.invalid_refused += o.invalid_refused;
        self.invalid_matched += o.invalid_matched;
    }

    fn line(&self) -> String {
        format!(
            "valid accepted {}/{}, invalid refused {}/{}, with the API server's message {}/{}",
            self.valid_accepted,
            self.valid,
            self.invalid_refused,
            self.invalid,
            self.invalid_matched,
            self.invalid
        )
    }
}

/// Splits as istio/api's harness does: at `---` at the very start of a line.
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let cut = if rest.starts_with("---") {
            Some(0)
        } else {
            rest.find("\n---").map(|i| i + 1)
        };
        match cut {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 3..];
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut crd_paths = Vec::new();
    let mut corpus = Vec::new();
    let mut verbose = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--crds" => crd_paths.extend(args.next().map(PathBuf::from)),
            "-v" | "--verbose" => verbose = true,
            _ => corpus.push(PathBuf::from(a)),
        }
    }
    if crd_paths.is_empty() || corpus.is_empty() {
        eprintln!(
            "usage: conformance --crds <customresourcedefinitions.gen.yaml> <testdata dir or files>"
        );
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let crds = Crds::load(&crd_paths);
    println!("loaded {} CRDs in {:?}", crds.len(), started.elapsed());
    for p in crds.problems() {
        println!("  load problem: {p}");
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for c in &corpus {
        if c.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(c)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.retain(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
            entries.sort();
            files.extend(entries);
        } else {
            files.push(c.clone());
        }
    }
    let mut total = Tally::default();
    let mut mismatches = Vec::new();
    for f in &files {
        let tally = run_file(&crds, f, verbose, &mut mismatches);
        println!(
            "{}: {}",
            f.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            tally.line()
        );
        total.add(&tally);
    }
    println!("total: {}", total.line());
    for m in &mismatches {
        println!("  {m}");
    }
    ExitCode::SUCCESS
}

fn run_file(crds: &Crds, path: &Path, verbose: bool, mismatches: &mut Vec<String>) -> Tally {
    let mut tally = Tally::default();
    let Ok(text) = std::fs::read_to_string(path) else {
        mismatches.push(format!("{}: unreadable", path.display()));
        return tally;
    };
    for doc in split(&text) {
        let mut value: Value = match serde_saphyr::from_str(doc) {
            Ok(v) => v,
            Err(e) => {
                mismatches.push(format!("{}: unparsable document: {e}", path.display()));
                continue;
            }
        };
        let want = value.get("_err").and_then(Value::as_str).map(String::from);
        if let Value::Object(m) = &mut value {
            m.remove("_err");
        }
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let report = crds.validate(&value, None);
        // istio/api's harness also refuses unknown fields.
        let mut message = report.message();
        if message.is_none() && !report.warnings.is_empty() {
            message = Some(format!("unknown fields {:?}", report.warnings));
        }
        match want {
            None => {
                tally.valid += 1;
                match message {
                    None => tally.valid_accepted += 1,
                    Some(m) => mismatches.push(format!(
                        "{}/{name}: valid document refused: {m}",
                        path.display()
                    )),
                }
            }
            Some(want) => {
                tally.invalid += 1;
                match message {
                    None => mismatches.push(format!(
                        "{}/{name}: accepted, want error like {want:?}",
                        path.display()
                    )),
                    Some(m) => {
                        tally.invalid_refused += 1;
                        if m.contains(&want) {
                            tally.invalid_matched += 1;
                            if verbose {
                                println!("  ok {name}: {m}");
                            }
                        } else {
                            mismatches.push(format!(
                                "{}/{name}: want {want:?}, got {m:?}",
                                path.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    tally
}
