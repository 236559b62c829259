//! CEL rules (`x-kubernetes-validations`): the environment (cel-rust's standard library with its
//! strings, lists and encoders extensions, plus the Kubernetes libraries and the `cel.bind`
//! macro cel-rust lacks, one module each), compiling every rule once at load, and evaluating them over an object as the
//! API server does (`self`, `oldSelf` for transition rules, `optionalOldSelf`, `message`,
//! `messageExpression`, `fieldPath`, `reason`), with its error wording.

mod adapt;
mod bind;
mod ip;
mod lists;
pub(crate) mod named;
pub(crate) use named as named_checks;
mod quantity;
mod regex;
mod sets;
mod url;
pub(crate) mod validate;
mod value;

use std::sync::{Arc, LazyLock};

use cel::{Context, Env, ExecutionError, Program, Value};

use crate::error::{BadValue, ErrorKind, FieldError};
use crate::schema::{CompiledRule, RuleSpec, Schema};

pub(crate) use value::to_cel;

/// The one environment every rule compiles and runs in.
static ENV: LazyLock<Arc<Env>> =
    LazyLock::new(|| Arc::new(build_env().unwrap_or_else(|_| Env::stdlib())));

fn build_env() -> Result<Env, cel::DeclarationError> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)?;
    env.add_extension(cel::extensions::lists)?;
    env.add_extension(cel::extensions::encoders)?;
    bind::register(&mut env)?;
    lists::register(&mut env)?;
    regex::register(&mut env)?;
    sets::register(&mut env)?;
    url::register(&mut env)?;
    ip::register(&mut env)?;
    quantity::register(&mut env)?;
    named::register(&mut env)?;
    // cel-go keeps the last entry of a map literal that repeats a key; so does the API server.
    env.set_error_on_duplicate_map_keys(false);
    Ok(env)
}

/// Names callable in a rule besides those of the environment: macros and operators the parser
/// expands or the interpreter handles itself.
const BUILTIN_CALLS: &[&str] = &[
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "cel.bind",
    "optional.of",
    "optional.none",
    "optional.ofNonZeroValue",
];

/// Compiles one rule for a node of `schema`; `at` is the rule's path in the CRD.
pub(crate) fn compile(
    spec: &RuleSpec,
    schema: &Schema,
    at: &str,
) -> Result<CompiledRule, FieldError> {
    let compile_one = |source: &str, at: &str| -> Result<Program, FieldError> {
        let program = ENV.compile(source).map_err(|e| {
            FieldError::invalid(
                at,
                BadValue::Str(source.to_owned()),
                format!("compilation failed: {}", first_line(&e.to_string())),
            )
        })?;
        for f in program.references().functions() {
            if !BUILTIN_CALLS.contains(&f)
                && !f.starts_with('_')
                && !f.starts_with('@')
                && !f.starts_with('!')
                && !known_function(f)
            {
                return Err(FieldError::invalid(
                    at,
                    BadValue::Str(source.to_owned()),
                    format!("compilation failed: ERROR: <input>: undeclared reference to '{f}'"),
                ));
            }
        }
        Ok(program)
    };
    let program = compile_one(&spec.rule, &format!("{at}.rule"))?;
    let message = match &spec.message_expression {
        Some(m) if !m.trim().is_empty() => {
            Some(compile_one(m, &format!("{at}.messageExpression"))?)
        }
        _ => None,
    };
    let uses_old_self = program.references().has_variable("oldSelf");
    let field_path = match &spec.field_path {
        Some(fp) if !fp.is_empty() => Some(normalise_field_path(fp, schema).map_err(|detail| {
            FieldError::invalid(format!("{at}.fieldPath"), BadValue::Str(fp.clone()), detail)
        })?),
        _ => None,
    };
    let cost = crate::cost::estimate(program.expression(), schema);
    Ok(CompiledRule {
        spec: spec.clone(),
        program,
        message,
        uses_old_self,
        field_path,
        cost,
    })
}

fn known_function(name: &str) -> bool {
    // The environment resolves a function by name when called; a name with no overload at all is
    // an undeclared reference, which cel-go reports at compile time.
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        vec![
            "size",
            "contains",
            "startsWith",
            "endsWith",
            "matches",
            "int",
            "uint",
            "double",
            "string",
            "bytes",
            "bool",
            "type",
            "dyn",
            "duration",
            "timestamp",
            "getHours",
            "getMinutes",
            "getSeconds",
            "getMilliseconds",
            "getFullYear",
            "getMonth",
            "getDayOfYear",
            "getDayOfMonth",
            "getDate",
            "getDayOfWeek",
            "charAt",
            "indexOf",
            "lastIndexOf",
            "join",
            "lowerAscii",
            "upperAscii",
            "trim",
            "replace",
            "split",
            "substring",
            "format",
            "strings.quote",
            "reverse",
            "slice",
            "flatten",
            "distinct",
            "sort",
            "sortBy",
            "lists.range",
            "isSorted",
            "sum",
            "min",
            "max",
            "find",
            "findAll",
            "sets.contains",
            "sets.equivalent",
            "sets.intersects",
            "url",
            "isURL",
            "getScheme",
            "getHost",
            "getHostname",
            "getPort",
            "getEscapedPath",
            "getQuery",
            "ip",
            "isIP",
            "ip.isCanonical",
            "family",
            "isUnspecified",
            "isLoopback",
            "isLinkLocalMulticast",
            "isLinkLocalUnicast",
            "isGlobalUnicast",
            "cidr",
            "isCIDR",
            "containsIP",
            "containsCIDR",
            "masked",
            "prefixLength",
            "quantity",
            "isQuantity",
            "sign",
            "isInteger",
            "asInteger",
            "asApproximateFloat",
            "add",
            "sub",
            "isGreaterThan",
            "isLessThan",
            "compareTo",
            "format.named",
            "validate",
            "hasValue",
            "value",
            "orValue",
            "or",
            "base64.encode",
            "base64.decode",
            "format.dns1123Label",
            "format.dns1123Subdomain",
            "format.dns1035Label",
            "format.qualifiedName",
            "format.dns1123LabelPrefix",
            "format.dns1123SubdomainPrefix",
            "format.dns1035LabelPrefix",
            "format.labelValue",
            "format.uri",
            "format.uuid",
            "format.byte",
            "format.date",
            "format.datetime",
        ]
    });
    // A namespaced function (`sets.contains`) is referenced by its last segment.
    NAMES.contains(&name)
        || BUILTIN_CALLS
            .iter()
            .chain(NAMES.iter())
            .any(|n| n.rsplit_once('.').is_some_and(|(_, last)| last == name))
}

/// `fieldPath` checked against the schema and turned into the path steps it names
/// (`.spec.ports` → `spec.ports`; `['a.b']` → `[a.b]` under a map).
fn normalise_field_path(fp: &str, schema: &Schema) -> Result<String, String> {
    let mut out = String::new();
    let mut node = schema;
    let mut rest = fp;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err("unexpected end of JSON path".to_owned());
            }
            match node.properties.get(name) {
                Some(child) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                    node = child;
                }
                None => match node.additional_schema() {
                    Some(child) => {
                        out.push_str(&format!("[{name}]"));
                        node = child;
                    }
                    None => return Err("does not refer to a valid field".to_owned()),
                },
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").ok_or("expected single quoted string")?;
            let name = &r[..end];
            match node.properties.get(name) {
                Some(child) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                    node = child;
                }
                None => match node.additional_schema() {
                    Some(child) => {
                        out.push_str(&format!("[{name}]"));
                        node = child;
                    }
                    None => return Err("does not refer to a valid field".to_owned()),
                },
            }
            rest = &r[end + 2..];
        } else {
            return Err(format!("expected [ or . but got: {rest}"));
        }
    }
    Ok(out)
}

/// What one rule said of one value.
pub(crate) enum Verdict {
    /// It held, or did not apply.
    Pass,
    /// It failed (or could not be evaluated): this error.
    Fail(FieldError),
}

/// Evaluates `rule` with `self` (and `oldSelf`), for the node at `path` of type `ty`.
pub(crate) fn run(
    rule: &CompiledRule,
    this: &Value,
    old: Option<&Value>,
    path: &str,
    ty: &str,
) -> Verdict {
    let optional = rule.spec.optional_old_self;
    if rule.uses_old_self && old.is_none() && !optional {
        return Verdict::Pass;
    }
    let mut ctx = Context::with_env(Arc::clone(&ENV));
    ctx.add_variable_from_value("self", this.clone());
    if optional {
        let opt = match old {
            Some(o) => cel::objects::OptionalValue::of(o.clone()),
            None => cel::objects::OptionalValue::none(),
        };
        ctx.add_variable_from_value("oldSelf", Value::Opaque(Arc::new(opt)));
    } else if let Some(o) = old {
        ctx.add_variable_from_value("oldSelf", o.clone());
    }
    let rule_text = rule_error_string(&rule.spec);
    match rule.program.execute(&ctx) {
        Ok(Value::Bool(true)) => Verdict::Pass,
        Ok(Value::Bool(false)) => {
            let at = match &rule.field_path {
                Some(fp) if fp.starts_with('[') => format!("{path}{fp}"),
                Some(fp) if path == "<nil>" => fp.clone(),
                Some(fp) => format!("{path}.{fp}"),
                None => path.to_owned(),
            };
            let detail = rule
                .message
                .as_ref()
                .and_then(|m| match m.execute(&ctx) {
                    Ok(Value::String(s)) if !s.trim().is_empty() && !s.contains('\n') => {
                        Some(s.trim().to_owned())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| match &rule.spec.message {
                    Some(m) if !m.is_empty() => m.trim().to_owned(),
                    _ => format!("failed rule: {rule_text}"),
                });
            let value = BadValue::Str(ty.to_owned());
            let mut e = match rule.spec.reason.as_deref() {
                Some("FieldValueForbidden") => FieldError::forbidden(at, detail),
                Some("FieldValueRequired") => FieldError::required(at, detail),
                Some("FieldValueDuplicate") => FieldError::duplicate(at, value),
                _ => FieldError::invalid(at, value, detail),
            };
            e.reason = rule.spec.reason.clone();
            Verdict::Fail(e)
        }
        Ok(other) => Verdict::Fail(FieldError::invalid(
            path,
            BadValue::Str(ty.to_owned()),
            format!(
                "rule did not evaluate to a bool but {:?} evaluating rule: {rule_text}",
                other.type_of()
            ),
        )),
        Err(e) => {
            let text = error_text(&e);
            let detail = if text.starts_with("no such overload") {
                format!(
                    "'{text}': call arguments did not match a supported operator, function or macro signature for rule: {rule_text}"
                )
            } else {
                format!("{text} evaluating rule: {rule_text}")
            };
            Verdict::Fail(FieldError::new(
                path,
                ErrorKind::Invalid,
                BadValue::Str(ty.to_owned()),
                detail,
            ))
        }
    }
}

/// The rule as the API server names it in errors: its message, else its text.
fn rule_error_string(spec: &RuleSpec) -> String {
    match &spec.message {
        Some(m) if !m.is_empty() => m.trim().to_owned(),
        _ => spec.rule.trim().to_owned(),
    }
}

/// cel-rust's evaluation errors in cel-go's words.
fn error_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::ValuesNotComparable(..) => "no such overload".to_owned(),
        ExecutionError::UndeclaredReference(r) => format!("undeclared reference to '{r}'"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_owned(),
        ExecutionError::Overflow(..) => "integer overflow".to_owned(),
        ExecutionError::IndexOutOfBounds(i) => format!(
            "index out of bounds: {}",
            match i {
                Value::Int(n) => n.to_string(),
                other => format!("{other:?}"),
            }
        ),
        ExecutionError::FunctionError { function, message } => match function.as_str() {
            "int" | "uint" | "double" if message.starts_with("string parse error") => {
                format!("type conversion error from 'string' to '{function}'")
            }
            "duration" => {
                "type conversion error from 'string' to 'google.protobuf.Duration'".to_owned()
            }
            "timestamp" => {
                "type conversion error from 'string' to 'google.protobuf.Timestamp'".to_owned()
            }
            _ => message.clone(),
        },
        other => other.to_string(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_owned()
}
