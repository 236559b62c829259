//! Schema keywords, pruning, defaulting and list types, with the API server's exact messages.

use galleon_crd::{Crds, ErrorKind, Options};
use serde_json::{Value, json};

fn crds() -> Crds {
    let crds = Crds::load([concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/widgets.yaml"
    )]);
    assert!(crds.problems().is_empty(), "{:?}", crds.problems());
    crds
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "test.galleon.dev/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}, "spec": spec})
}

fn errors(spec: Value) -> Vec<String> {
    crds()
        .validate(&widget(spec), None)
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn has(spec: Value, want: &str) {
    let errs = errors(spec);
    assert!(errs.iter().any(|e| e == want), "want {want:?} in {errs:#?}");
}

#[test]
fn loads_with_notes_and_lookups() {
    let crds = crds();
    assert_eq!(crds.len(), 1);
    assert_eq!(crds.notes().len(), 1);
    assert!(
        crds.notes()[0]
            .message
            .contains("not a CustomResourceDefinition")
    );
    assert_eq!(crds.notes()[0].line, 63);
    let (crd, version) = crds.lookup("test.galleon.dev/v1", "Widget").unwrap();
    assert_eq!(crd.qualified_kind(), "Widget.test.galleon.dev");
    assert!(version.served);
    assert!(crds.lookup("test.galleon.dev/v2", "Widget").is_none());
    assert!(crds.schema("test.galleon.dev/v1", "Widget").is_some());
}

#[test]
fn valid_object_is_accepted_and_defaulted() {
    let report = crds().validate(
        &widget(json!({"name": "abc", "ports": [{"number": 80}]})),
        None,
    );
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(report.object["spec"]["timeout"], "5s");
    assert_eq!(report.object["spec"]["ports"][0]["protocol"], "TCP");
}

#[test]
fn required_type_and_enum() {
    has(json!({}), "spec.name: Required value");
    has(
        json!({"name": 5}),
        "spec.name: Invalid value: \"integer\": spec.name in body must be of type string: \"integer\"",
    );
    has(
        json!({"name": "a", "mode": "SOMETIMES"}),
        "spec.mode: Unsupported value: \"SOMETIMES\": supported values: \"UNSET\", \"DISABLE\", \"STRICT\"",
    );
    has(
        json!({"name": "a", "replicas": 1.5}),
        "spec.replicas: Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"",
    );
    has(
        json!({"name": "a", "flag": "yes"}),
        "spec.flag: Invalid value: \"string\": spec.flag in body must be of type boolean: \"string\"",
    );
    has(
        json!({"name": "a", "size": true}),
        "spec.size: Invalid value: \"boolean\": spec.size in body must be of type integer,string: \"boolean\"",
    );
    assert!(errors(json!({"name": "a", "size": "10%"})).is_empty());
    assert!(errors(json!({"name": "a", "nothing": null})).is_empty());
    has(
        json!({"name": null}),
        "spec.name: Invalid value: \"null\": spec.name in body must be of type string: \"null\"",
    );
}

#[test]
fn strings() {
    has(
        json!({"name": ""}),
        "spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long",
    );
    has(
        json!({"name": "abcdef"}),
        "spec.name: Too long: may not be more than 5 bytes",
    );
    // Code points, not bytes.
    assert!(
        !errors(json!({"name": "ééééé"}))
            .iter()
            .any(|e| e.contains("Too long"))
    );
    has(
        json!({"name": "ABC"}),
        "spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'",
    );
    has(
        json!({"name": "a", "address": "300.1.1.1"}),
        "spec.address: Invalid value: \"300.1.1.1\": spec.address in body must be of type ipv4: \"300.1.1.1\"",
    );
    has(
        json!({"name": "a", "when": "soon"}),
        "spec.when: Invalid value: \"soon\": spec.when in body must be of type date-time: \"soon\"",
    );
}

#[test]
fn numbers() {
    has(
        json!({"name": "a", "replicas": 0}),
        "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    );
    has(
        json!({"name": "a", "replicas": 11}),
        "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
    );
    has(
        json!({"name": "a", "ratio": 0.0}),
        "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
    );
    has(
        json!({"name": "a", "ratio": 1.5}),
        "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1",
    );
    has(
        json!({"name": "a", "step": 7}),
        "spec.step: Invalid value: 7: spec.step in body should be a multiple of 5",
    );
}

#[test]
fn lists_and_maps() {
    has(
        json!({"name": "a", "tags": []}),
        "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
    );
    has(
        json!({"name": "a", "tags": ["a", "b", "c"]}),
        "spec.tags: Too many: 3: must have at most 2 items",
    );
    has(
        json!({"name": "a", "unique": [1, 1]}),
        "spec.unique: Invalid value: \"\": spec.unique in body shouldn't contain duplicates",
    );
    has(
        json!({"name": "a", "set": ["x", "y", "x"]}),
        "spec.set[2]: Duplicate value: \"x\"",
    );
    has(
        json!({"name": "a", "ports": [{"number": 80}, {"number": 80}]}),
        "spec.ports[1]: Duplicate value: map[string]interface {}{\"number\":80}",
    );
    has(
        json!({"name": "a", "labels": {}}),
        "spec.labels: Invalid value: 1: spec.labels in body should have at least 1 properties",
    );
    has(
        json!({"name": "a", "labels": {"a": "1", "b": "2", "c": "3"}}),
        "spec.labels: Too many: 3: must have at most 2 items",
    );
    has(
        json!({"name": "a", "labels": {"a": 1}}),
        "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"",
    );
}

#[test]
fn composition() {
    assert!(errors(json!({"name": "a", "choice": "b"})).is_empty());
    has(
        json!({"name": "a", "choice": "c"}),
        "<nil>: Invalid value: \"\": \"spec.choice\" must validate at least one schema (anyOf)",
    );
    has(
        json!({"name": "a", "notX": "x"}),
        "<nil>: Invalid value: \"\": \"spec.notX\" must not validate the schema (not)",
    );
}

#[test]
fn blocking_errors_skip_rules_with_the_api_servers_note() {
    has(
        json!({"name": "a", "tags": ["a", "b", "c"]}),
        "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
    );
}

#[test]
fn unknown_fields_are_pruned_with_warnings_or_refused_when_strict() {
    let crds = crds();
    let obj =
        widget(json!({"name": "a", "foo": 1, "free": {"anything": true}, "labels": {"x": "y"}}));
    let report = crds.validate(&obj, None);
    assert!(report.is_valid());
    assert_eq!(
        report.warnings,
        vec!["unknown field \"spec.foo\"".to_owned()]
    );
    assert!(report.object["spec"].get("foo").is_none());
    assert_eq!(report.object["spec"]["free"]["anything"], true);
    let strict = crds.validate_with(&obj, None, Options { strict: true });
    assert_eq!(strict.errors.len(), 1);
    assert_eq!(strict.errors[0].path, "spec.foo");
}

#[test]
fn metadata_and_aggregate() {
    let crds = crds();
    let mut obj = widget(json!({}));
    obj["metadata"]["name"] = json!("Bad_Name");
    let report = crds.validate(&obj, None);
    let message = report.message().unwrap();
    assert!(message.starts_with("Widget.test.galleon.dev \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{message}");
    assert!(
        message.contains(", spec.name: Required value]"),
        "{message}"
    );
    assert_eq!(report.errors[0].kind, ErrorKind::Invalid);
}

#[test]
fn unserved_and_garbage_never_panic() {
    let crds = crds();
    let report = crds.validate(&json!({"apiVersion": "x/v1", "kind": "Nope"}), None);
    assert!(!report.served);
    assert_eq!(
        report.message().unwrap(),
        "no matches for kind \"Nope\" in version \"x/v1\""
    );
    for v in [
        json!(null),
        json!(1),
        json!([]),
        json!({"kind": 3}),
        json!({"apiVersion": "test.galleon.dev/v1", "kind": "Widget", "metadata": 7, "spec": [1]}),
    ] {
        let _ = crds.validate(&v, Some(&v));
    }
}

#[test]
fn crds_from_text_load_as_from_a_file_and_name_their_origin() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/widgets.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let from_text = Crds::from_text(&text, std::path::Path::new("stdin"));
    assert_eq!(from_text.len(), crds().len());
    assert!(
        from_text.problems().is_empty(),
        "{:?}",
        from_text.problems()
    );
    let broken = Crds::from_text("kind: [", std::path::Path::new("stdin"));
    let problem = broken.problems()[0].to_string();
    assert!(problem.starts_with("stdin"), "{problem}");
}

/// The fuzz targets' own CRD (`fuzz/fixtures/crds.yaml`) must load clean: a
/// refused fixture leaves the `crd` and `admission` targets nothing to
/// validate against (the rules' cost estimate once refused it).
#[test]
fn the_fuzz_targets_crd_loads_within_the_cost_budget() {
    let crds = Crds::load([concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/fixtures/crds.yaml"
    )]);
    assert!(crds.problems().is_empty(), "{:?}", crds.problems());
    assert!(
        crds.lookup("networking.istio.io/v1alpha3", "VirtualService")
            .is_some()
    );
}
