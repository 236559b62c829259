//! Kubernetes' URL library: `url`, `isURL`, and on a URL `getScheme`, `getHost`, `getHostname`,
//! `getPort`, `getEscapedPath`, `getQuery`; parsing as Go's `url.ParseRequestURI` (an absolute
//! URI or an absolute path).

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::types::STRING_TYPE;
use cel::objects::{Key, Map, Opaque};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{arg, fail, opaque, overload, str_arg};

const TYPE: &str = "kubernetes.URL";

/// A parsed URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url {
    scheme: String,
    host: String,
    hostname: String,
    port: String,
    escaped_path: String,
    query: Vec<(String, String)>,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        TYPE
    }
}

/// `url.ParseRequestURI`, reduced to what the library reads.
pub(crate) fn parse(s: &str) -> Result<Url, String> {
    if s.is_empty() {
        return Err("empty url".to_owned());
    }
    if s.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(format!("parse {s:?}: invalid character in URL"));
    }
    let without_fragment = s;
    if let Some(path) = without_fragment.strip_prefix('/')
        && !path.starts_with('/')
    {
        let base = url::Url::parse("http://placeholder.invalid/").map_err(|e| e.to_string())?;
        let u = base
            .join(without_fragment)
            .map_err(|e| format!("parse {s:?}: {e}"))?;
        return Ok(Url {
            scheme: String::new(),
            host: String::new(),
            hostname: String::new(),
            port: String::new(),
            escaped_path: u.path().to_owned(),
            query: u
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        });
    }
    let Some((scheme, _)) = s.split_once(':') else {
        return Err(format!("parse {s:?}: invalid URI for request"));
    };
    let mut chars = scheme.chars();
    let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err(format!(
            "parse {s:?}: first path segment in URL cannot contain colon"
        ));
    }
    let u = url::Url::parse(s).map_err(|e| format!("parse {s:?}: {e}"))?;
    let hostname = match u.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    let host_display = match u.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    // Keep the port even when it is the scheme's default (url normalises it away).
    let port = explicit_port(s).unwrap_or_default();
    let host = if port.is_empty() {
        host_display
    } else {
        format!("{host_display}:{port}")
    };
    Ok(Url {
        scheme: u.scheme().to_owned(),
        host,
        hostname,
        port,
        escaped_path: if u.cannot_be_a_base() {
            String::new()
        } else {
            u.path().to_owned()
        },
        query: u
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    })
}

/// The port written in the authority of `s`, if any.
fn explicit_port(s: &str) -> Option<String> {
    let rest = s.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let after_host = if authority.starts_with('[') {
        authority.split_once(']')?.1
    } else {
        authority
    };
    let port = after_host.rsplit_once(':')?.1;
    (!port.is_empty()).then(|| port.to_owned())
}

fn this(args: &[Value]) -> Result<&Url, ExecutionError> {
    match arg(args, 0)? {
        Value::Opaque(o) => o
            .downcast_ref::<Url>()
            .ok_or_else(|| fail("url", "not a URL")),
        _ => Err(fail("url", "not a URL")),
    }
}

fn string(s: &str) -> Value {
    Value::String(Arc::new(s.to_owned()))
}

pub(crate) fn url(args: &[Value]) -> Result<Value, ExecutionError> {
    let s = str_arg(args, 0)?;
    match parse(s) {
        Ok(u) => Ok(Value::Opaque(Arc::new(u))),
        Err(e) => Err(fail(
            "url",
            format!("URL parse error during conversion from string: {e}"),
        )),
    }
}

pub(crate) fn is_url(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse(str_arg(args, 0)?).is_ok()))
}

pub(crate) fn get_scheme(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(string(&this(args)?.scheme))
}

pub(crate) fn get_host(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(string(&this(args)?.host))
}

pub(crate) fn get_hostname(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(string(&this(args)?.hostname))
}

pub(crate) fn get_port(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(string(&this(args)?.port))
}

pub(crate) fn get_escaped_path(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(string(&this(args)?.escaped_path))
}

pub(crate) fn get_query(args: &[Value]) -> Result<Value, ExecutionError> {
    let mut map: HashMap<Key, Vec<Value>> = HashMap::new();
    for (k, v) in &this(args)?.query {
        map.entry(Key::String(Arc::new(k.clone())))
            .or_default()
            .push(string(v));
    }
    let map = map
        .into_iter()
        .map(|(k, v)| (k, Value::List(Arc::new(v))))
        .collect();
    Ok(Value::Map(Map { map: Arc::new(map) }))
}

overload!(url_fn => url);
overload!(is_url_fn => is_url);
overload!(get_scheme_fn => get_scheme);
overload!(get_host_fn => get_host);
overload!(get_hostname_fn => get_hostname);
overload!(get_port_fn => get_port);
overload!(get_escaped_path_fn => get_escaped_path);
overload!(get_query_fn => get_query);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(opaque(TYPE))?;
    env.add_overload("url", "string_to_url", vec![STRING_TYPE], url_fn)?;
    env.add_overload("isURL", "is_url_string", vec![STRING_TYPE], is_url_fn)?;
    let methods: [(&str, cel::common::functions::Function); 6] = [
        ("getScheme", get_scheme_fn),
        ("getHost", get_host_fn),
        ("getHostname", get_hostname_fn),
        ("getPort", get_port_fn),
        ("getEscapedPath", get_escaped_path_fn),
        ("getQuery", get_query_fn),
    ];
    for (name, f) in methods {
        env.add_member_overload(name, &format!("url_{name}"), opaque(TYPE), vec![], f)?;
    }
    Ok(())
}
