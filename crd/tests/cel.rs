//! CEL rules: every Kubernetes library function supported, rule options, transition rules,
//! error wording, and the cost limits at load.

use galleon_crd::Crds;
use serde_json::{Value, json};

/// A CRD whose `spec` (free-form, plus a bounded `items` list) carries `rules`.
fn crd_with(rules: &[Value], extra_spec: Value) -> Crds {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-validations": rules,
        "properties": {
            "items": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}},
            "name": {"type": "string", "maxLength": 20},
            "port": {"type": "integer"},
        },
    });
    if let Value::Object(extra) = extra_spec {
        for (k, v) in extra {
            spec["properties"][k] = v;
        }
    }
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.test.galleon.dev"},
        "spec": {"group": "test.galleon.dev", "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}}}]},
    });
    let path = dir.path().join("crd.json");
    std::fs::write(&path, crd.to_string()).unwrap();
    Crds::load([&path])
}

fn gadget(spec: Value) -> Value {
    json!({"apiVersion": "test.galleon.dev/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": spec})
}

/// Whether `rule` holds for `spec`.
fn holds(rule: &str, spec: Value) -> bool {
    let crds = crd_with(&[json!({"rule": rule})], json!({}));
    assert!(crds.problems().is_empty(), "{rule}: {:?}", crds.problems());
    let report = crds.validate(&gadget(spec), None);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.detail.starts_with("failed rule")),
        "{rule}: {:?}",
        report.errors
    );
    report.is_valid()
}

fn t(rule: &str) {
    assert!(holds(rule, json!({})), "expected true: {rule}");
}

#[test]
fn core_and_macros() {
    t("has(self.x) == false");
    assert!(holds("has(self.x)", json!({"x": 1})));
    t("[1, 2, 3].all(i, i > 0) && [1, 2].exists(i, i == 2) && [1, 2, 2].exists_one(i, i == 1)");
    t("[1, 2].map(i, i * 2) == [2, 4] && [1, 2, 3].filter(i, i > 1).size() == 2");
    t(
        "'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b') && 'abc'.matches('^a.c$')",
    );
    t("int('42') == 42 && string(1) == '1' && double(1) == 1.0 && size('héllo') == 5");
    assert!(holds(
        "self.port == 80 && self.items.size() == 1 && self.name.size() > 0",
        json!({"port": 80, "items": ["a"], "name": "n"})
    ));
}

#[test]
fn strings_extension() {
    t("'abc'.charAt(1) == 'b'");
    t("'abcabc'.indexOf('c') == 2 && 'abcabc'.lastIndexOf('c') == 5");
    t("'TacoCat'.lowerAscii() == 'tacocat' && 'TacoCat'.upperAscii() == 'TACOCAT'");
    t("'a-b-c'.replace('-', '+') == 'a+b+c' && 'a,b'.split(',') == ['a', 'b']");
    t("'tacocat'.substring(4) == 'cat' && 'tacocat'.substring(0, 4) == 'taco'");
    t("'  x '.trim() == 'x' && ['a', 'b'].join('-') == 'a-b'");
    t("'%s is %d'.format(['x', 1]) == 'x is 1' && strings.quote('a\"b') == '\"a\\\\\"b\"'");
}

#[test]
fn lists_library() {
    t("[1, 2, 3].isSorted() && ![2, 1].isSorted()");
    t("[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0 && [].sum() == 0");
    t("[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && ['b', 'a'].min() == 'a'");
    t("[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2 && [1].indexOf(5) == -1");
    t(
        "sets.contains([1, 2, 3], [1, 2]) && sets.intersects([1], [1, 5]) && sets.equivalent([1, 2], [2, 1])",
    );
}

#[test]
fn regex_library() {
    t("'abc 123 def 456'.find('[0-9]+') == '123' && 'abc'.find('x') == ''");
    t("'a1b2c3'.findAll('[0-9]') == ['1', '2', '3'] && 'a1b2c3'.findAll('[0-9]', 2) == ['1', '2']");
}

#[test]
fn url_library() {
    t("isURL('https://example.com:8443/a%20b?x=1&x=2') && !isURL('example.com') && isURL('/path')");
    t("url('https://example.com:8443/p').getScheme() == 'https'");
    t("url('https://example.com:8443/p').getHost() == 'example.com:8443'");
    t(
        "url('https://example.com:8443/p').getHostname() == 'example.com' && url('https://example.com/p').getPort() == ''",
    );
    t(
        "url('https://[::1]:80/').getHostname() == '::1' && url('https://[::1]:80/').getHost() == '[::1]:80'",
    );
    t("url('https://example.com/a%20b').getEscapedPath() == '/a%20b'");
    t("url('https://example.com/?x=1&x=2&y=3').getQuery() == {'x': ['1', '2'], 'y': ['3']}");
}

#[test]
fn duration_and_timestamp() {
    t("duration('1h30m') == duration('90m') && duration('1ms') < duration('1s')");
    t(
        "duration('90m').getHours() == 1 && duration('90m').getMinutes() == 90 && duration('1500ms').getMilliseconds() == 1500",
    );
    t(
        "timestamp('2024-01-02T03:04:05Z').getFullYear() == 2024 && timestamp('2024-01-02T03:04:05Z').getMonth() == 0",
    );
    t("timestamp('2024-01-02T03:04:05Z') + duration('1h') == timestamp('2024-01-02T04:04:05Z')");
}

#[test]
fn quantity_library() {
    t("isQuantity('1.5Gi') && !isQuantity('1.5 Gi')");
    t(
        "quantity('1Gi').isGreaterThan(quantity('1G')) && quantity('100m').isLessThan(quantity('1'))",
    );
    t("quantity('1k').compareTo(quantity('1000')) == 0 && quantity('-1').sign() == -1");
    t(
        "quantity('2k').isInteger() && quantity('2k').asInteger() == 2000 && !quantity('100m').isInteger()",
    );
    t("quantity('1.5').asApproximateFloat() == 1.5");
    t(
        "quantity('1').add(quantity('500m')).compareTo(quantity('1.5')) == 0 && quantity('1').add(2).asInteger() == 3",
    );
    t(
        "quantity('1').sub(quantity('500m')).compareTo(quantity('500m')) == 0 && quantity('5').sub(2).asInteger() == 3",
    );
}

#[test]
fn ip_and_cidr_libraries() {
    t(
        "isIP('10.0.0.1') && isIP('::1') && !isIP('10.0.0.256') && !isIP('::ffff:1.2.3.4') && !isIP('fe80::1%eth0')",
    );
    t("ip('10.0.0.1').family() == 4 && ip('::1').family() == 6");
    t(
        "ip('127.0.0.1').isLoopback() && ip('0.0.0.0').isUnspecified() && ip('8.8.8.8').isGlobalUnicast()",
    );
    t(
        "ip('169.254.1.1').isLinkLocalUnicast() && ip('224.0.0.1').isLinkLocalMulticast() && ip('fe80::1').isLinkLocalUnicast()",
    );
    t(
        "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1') && string(ip('10.0.0.1')) == '10.0.0.1'",
    );
    t("isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && cidr('10.0.0.0/8').prefixLength() == 8");
    t(
        "cidr('10.0.0.0/8').containsIP(ip('10.1.2.3')) && cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsIP('11.0.0.1')",
    );
    t(
        "cidr('10.0.0.0/8').containsCIDR(cidr('10.1.0.0/16')) && cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
    );
    t(
        "cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8') && cidr('10.1.2.3/8').ip() == ip('10.1.2.3') && string(cidr('10.0.0.0/8')) == '10.0.0.0/8'",
    );
}

#[test]
fn format_library() {
    t("format.dns1123Label().validate('my-name') == optional.none()");
    t("format.dns1123Label().validate('My_Name').hasValue()");
    t("format.named('dns1123Subdomain').hasValue() && !format.named('nope').hasValue()");
    t("format.named('qualifiedName').value().validate('example.com/Name') == optional.none()");
    t(
        "format.labelValue().validate('') == optional.none() && format.dns1035Label().validate('1abc').hasValue()",
    );
}

#[test]
fn messages_field_path_reason() {
    let crds = crd_with(
        &[
            json!({"rule": "self.port > 0", "message": "port must be positive"}),
            json!({"rule": "self.port < 100", "messageExpression": "'port ' + string(self.port) + ' too high'"}),
            json!({"rule": "self.port != 5", "fieldPath": ".port", "reason": "FieldValueForbidden", "message": "not five"}),
            json!({"rule": "self.port != 7"}),
        ],
        json!({}),
    );
    let msgs = |port: i64| -> Vec<String> {
        crds.validate(&gadget(json!({"port": port})), None)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        msgs(-1),
        vec!["spec: Invalid value: \"object\": port must be positive"]
    );
    assert_eq!(
        msgs(200),
        vec!["spec: Invalid value: \"object\": port 200 too high"]
    );
    assert_eq!(msgs(5), vec!["spec.port: Forbidden: not five"]);
    assert_eq!(
        msgs(7),
        vec!["spec: Invalid value: \"object\": failed rule: self.port != 7"]
    );
}

#[test]
fn evaluation_errors_in_the_api_servers_words() {
    let crds = crd_with(
        &[json!({"rule": "self.missing == 1", "message": "needs missing"})],
        json!({}),
    );
    let report = crds.validate(&gadget(json!({})), None);
    assert_eq!(
        report.errors[0].to_string(),
        "spec: Invalid value: \"object\": no such key: missing evaluating rule: needs missing"
    );
    let crds = crd_with(&[json!({"rule": "int(self.name) > 0"})], json!({}));
    let report = crds.validate(&gadget(json!({"name": "abc"})), None);
    assert!(
        report.errors[0]
            .detail
            .starts_with("type conversion error from 'string' to 'int' evaluating rule"),
        "{:?}",
        report.errors
    );
}

#[test]
fn transition_rules_need_an_old_object() {
    let crds = crd_with(
        &[json!({"rule": "self.name == oldSelf.name", "message": "name is immutable"})],
        json!({}),
    );
    let new = gadget(json!({"name": "b"}));
    let old = gadget(json!({"name": "a"}));
    assert!(crds.validate(&new, None).is_valid());
    assert_eq!(
        crds.validate(&new, Some(&old)).errors[0].detail,
        "name is immutable"
    );
    let crds = crd_with(
        &[
            json!({"rule": "!oldSelf.hasValue() || self.name == oldSelf.value().name", "optionalOldSelf": true, "message": "immutable"}),
        ],
        json!({}),
    );
    assert!(crds.validate(&new, None).is_valid());
    assert!(!crds.validate(&new, Some(&old)).is_valid());
}

#[test]
fn rules_on_list_items_and_int_or_string() {
    let crds = crd_with(
        &[],
        json!({"ports": {"type": "array", "maxItems": 4, "items": {"x-kubernetes-int-or-string": true,
            "x-kubernetes-validations": [{"rule": "type(self) == int ? self > 0 : self != ''", "message": "bad port"}]}}}),
    );
    let errs: Vec<String> = crds
        .validate(&gadget(json!({"ports": [1, "http", 0, ""]})), None)
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        vec![
            "spec.ports[2]: Invalid value: \"\": bad port",
            "spec.ports[3]: Invalid value: \"\": bad port"
        ]
    );
}

#[test]
fn load_refuses_bad_rules_with_file_and_line() {
    let crds = crd_with(&[json!({"rule": "self.port >"})], json!({}));
    assert_eq!(crds.len(), 0);
    let message = crds.problems()[0].to_string();
    assert!(
        message.contains(
            "crd.json:1: CustomResourceDefinition \"gadgets.test.galleon.dev\" is invalid"
        ),
        "{message}"
    );
    assert!(message.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.port >\": compilation failed: ERROR: <input>:1:"), "{message}");
    let crds = crd_with(&[json!({"rule": "nope(self)"})], json!({}));
    assert!(
        crds.problems()[0]
            .to_string()
            .contains("undeclared reference to 'nope'")
    );
}

#[test]
fn load_refuses_rules_over_the_cost_budget() {
    // Quadratic over an unbounded list of unbounded strings.
    let crds = crd_with(
        &[],
        json!({"big": {"type": "array", "items": {"type": "string"},
            "x-kubernetes-validations": [{"rule": "self.all(a, self.all(b, a.contains(b)))"}]}}),
    );
    let message = crds.problems()[0].to_string();
    assert!(
        message.contains("properties[big].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x"),
        "{message}"
    );
    // Bounded, the same rule loads.
    let crds = crd_with(
        &[],
        json!({"big": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10},
            "x-kubernetes-validations": [{"rule": "self.all(a, self.all(b, a.contains(b)))"}]}}),
    );
    assert!(crds.problems().is_empty(), "{:?}", crds.problems());
}

/// `cel.bind` (Kubernetes' CEL library `cel`): bound once, usable in the
/// expression, shadowing, nested; a `bind` that is not `cel.bind` is a call.
#[test]
fn cel_bind() {
    t("cel.bind(x, 2, x * x == 4)");
    t("cel.bind(s, 'abc', s.size() == 3 && s.startsWith('a'))");
    t("cel.bind(a, 1, cel.bind(b, a + 1, a + b == 3))");
    t("cel.bind(x, [1, 2, 3], x.all(v, v > 0) && x.size() == 3)");
    assert!(holds(
        "cel.bind(n, self.name, n.size() < 5)",
        json!({"name": "abc"})
    ));
    assert!(!holds(
        "cel.bind(n, self.name, n.size() < 5)",
        json!({"name": "abcdefgh"})
    ));
}
