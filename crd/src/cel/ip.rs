//! Kubernetes' IP and CIDR libraries: `ip`, `isIP`, `ip.isCanonical`, `cidr`, `isCIDR`, and on
//! them `family`, `isUnspecified`, `isLoopback`, `isLinkLocalMulticast`, `isLinkLocalUnicast`,
//! `isGlobalUnicast`, `containsIP`, `containsCIDR`, `ip`, `masked`, `prefixLength`, `string`.
//! As the API server, an IPv4-mapped IPv6 address and a zone are refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use cel::common::types::STRING_TYPE;
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{arg, fail, opaque, overload, str_arg};

const IP: &str = "net.IP";
const CIDR: &str = "net.CIDR";

/// An IP address.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ip(IpAddr);

/// A CIDR: an address and a prefix length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        IP
    }
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        CIDR
    }
}

/// Parses an address as the library does.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    if s.contains('%') {
        return Err("IP address with zone value is not allowed".to_owned());
    }
    let addr: IpAddr = s.parse().map_err(|_| format!("IP Address {s:?} parse error during conversion from string: ParseAddr({s:?}): unable to parse IP"))?;
    if let IpAddr::V6(v6) = addr
        && v6.to_ipv4_mapped().is_some()
    {
        return Err("IPv4-mapped IPv6 address is not allowed".to_owned());
    }
    Ok(addr)
}

/// Parses a CIDR as the library does.
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let Some((a, p)) = s.split_once('/') else {
        return Err(format!(
            "network address parse error during conversion from string: netip.ParsePrefix({s:?}): no '/'"
        ));
    };
    let addr = parse_ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match p.parse::<u8>() {
        Ok(n) if n <= max && (p == "0" || !p.starts_with('0')) => n,
        _ => {
            return Err(format!(
                "network address parse error during conversion from string: netip.ParsePrefix({s:?}): bad bits after slash: {p:?}"
            ));
        }
    };
    Ok(Cidr { addr, prefix })
}

fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

fn contains(c: &Cidr, ip: IpAddr) -> bool {
    ip.is_ipv4() == c.addr.is_ipv4() && masked(ip, c.prefix) == masked(c.addr, c.prefix)
}

fn ip_of(v: &Value) -> Result<IpAddr, ExecutionError> {
    match v {
        Value::Opaque(o) => o
            .downcast_ref::<Ip>()
            .map(|i| i.0)
            .ok_or_else(|| fail("ip", "not an IP")),
        Value::String(s) => parse_ip(s).map_err(|e| fail("ip", e)),
        _ => Err(fail("ip", "not an IP")),
    }
}

fn cidr_of(v: &Value) -> Result<&Cidr, ExecutionError> {
    match v {
        Value::Opaque(o) => o
            .downcast_ref::<Cidr>()
            .ok_or_else(|| fail("cidr", "not a CIDR")),
        _ => Err(fail("cidr", "not a CIDR")),
    }
}

fn ip_value(a: IpAddr) -> Value {
    Value::Opaque(Arc::new(Ip(a)))
}

pub(crate) fn ip(args: &[Value]) -> Result<Value, ExecutionError> {
    parse_ip(str_arg(args, 0)?)
        .map(ip_value)
        .map_err(|e| fail("ip", e))
}

pub(crate) fn is_ip(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse_ip(str_arg(args, 0)?).is_ok()))
}

pub(crate) fn is_canonical(args: &[Value]) -> Result<Value, ExecutionError> {
    let s = str_arg(args, 0)?;
    let a = parse_ip(s).map_err(|e| fail("ip.isCanonical", e))?;
    Ok(Value::Bool(a.to_string() == s))
}

pub(crate) fn family(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(if ip_of(arg(args, 0)?)?.is_ipv4() {
        4
    } else {
        6
    }))
}

pub(crate) fn is_unspecified(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(ip_of(arg(args, 0)?)?.is_unspecified()))
}

pub(crate) fn is_loopback(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(ip_of(arg(args, 0)?)?.is_loopback()))
}

pub(crate) fn is_link_local_multicast(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(match ip_of(arg(args, 0)?)? {
        IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
        IpAddr::V6(a) => a.segments()[0] & 0xff0f == 0xff02,
    }))
}

pub(crate) fn is_link_local_unicast(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(match ip_of(arg(args, 0)?)? {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
    }))
}

pub(crate) fn is_global_unicast(args: &[Value]) -> Result<Value, ExecutionError> {
    let a = ip_of(arg(args, 0)?)?;
    Ok(Value::Bool(match a {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.segments()[0] & 0xffc0 == 0xfe80)
        }
    }))
}

pub(crate) fn ip_string(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::String(Arc::new(ip_of(arg(args, 0)?)?.to_string())))
}

pub(crate) fn cidr(args: &[Value]) -> Result<Value, ExecutionError> {
    parse_cidr(str_arg(args, 0)?)
        .map(|c| Value::Opaque(Arc::new(c)))
        .map_err(|e| fail("cidr", e))
}

pub(crate) fn is_cidr(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse_cidr(str_arg(args, 0)?).is_ok()))
}

pub(crate) fn contains_ip(args: &[Value]) -> Result<Value, ExecutionError> {
    let c = cidr_of(arg(args, 0)?)?;
    Ok(Value::Bool(contains(c, ip_of(arg(args, 1)?)?)))
}

pub(crate) fn contains_cidr(args: &[Value]) -> Result<Value, ExecutionError> {
    let c = cidr_of(arg(args, 0)?)?;
    let other = match arg(args, 1)? {
        Value::String(s) => parse_cidr(s).map_err(|e| fail("containsCIDR", e))?,
        v => {
            let o = cidr_of(v)?;
            Cidr {
                addr: o.addr,
                prefix: o.prefix,
            }
        }
    };
    Ok(Value::Bool(
        other.prefix >= c.prefix && contains(c, other.addr),
    ))
}

pub(crate) fn cidr_ip(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(ip_value(cidr_of(arg(args, 0)?)?.addr))
}

pub(crate) fn cidr_masked(args: &[Value]) -> Result<Value, ExecutionError> {
    let c = cidr_of(arg(args, 0)?)?;
    Ok(Value::Opaque(Arc::new(Cidr {
        addr: masked(c.addr, c.prefix),
        prefix: c.prefix,
    })))
}

pub(crate) fn prefix_length(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(i64::from(cidr_of(arg(args, 0)?)?.prefix)))
}

pub(crate) fn cidr_string(args: &[Value]) -> Result<Value, ExecutionError> {
    let c = cidr_of(arg(args, 0)?)?;
    Ok(Value::String(Arc::new(format!("{}/{}", c.addr, c.prefix))))
}

overload!(ip_fn => ip);
overload!(is_ip_fn => is_ip);
overload!(is_canonical_fn => is_canonical);
overload!(family_fn => family);
overload!(is_unspecified_fn => is_unspecified);
overload!(is_loopback_fn => is_loopback);
overload!(is_link_local_multicast_fn => is_link_local_multicast);
overload!(is_link_local_unicast_fn => is_link_local_unicast);
overload!(is_global_unicast_fn => is_global_unicast);
overload!(ip_string_fn => ip_string);
overload!(cidr_fn => cidr);
overload!(is_cidr_fn => is_cidr);
overload!(contains_ip_fn => contains_ip);
overload!(contains_cidr_fn => contains_cidr);
overload!(cidr_ip_fn => cidr_ip);
overload!(cidr_masked_fn => cidr_masked);
overload!(prefix_length_fn => prefix_length);
overload!(cidr_string_fn => cidr_string);

/// Registers the libraries.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(opaque(IP))?;
    env.add_type(opaque(CIDR))?;
    env.add_overload("ip", "string_to_ip", vec![STRING_TYPE], ip_fn)?;
    env.add_overload("isIP", "is_ip", vec![STRING_TYPE], is_ip_fn)?;
    env.add_overload(
        "ip.isCanonical",
        "ip_is_canonical",
        vec![STRING_TYPE],
        is_canonical_fn,
    )?;
    let methods: [(&str, cel::common::functions::Function); 6] = [
        ("family", family_fn),
        ("isUnspecified", is_unspecified_fn),
        ("isLoopback", is_loopback_fn),
        ("isLinkLocalMulticast", is_link_local_multicast_fn),
        ("isLinkLocalUnicast", is_link_local_unicast_fn),
        ("isGlobalUnicast", is_global_unicast_fn),
    ];
    for (name, f) in methods {
        env.add_member_overload(name, &format!("ip_{name}"), opaque(IP), vec![], f)?;
    }
    env.add_overload("string", "ip_to_string", vec![opaque(IP)], ip_string_fn)?;
    env.add_overload("cidr", "string_to_cidr", vec![STRING_TYPE], cidr_fn)?;
    env.add_overload("isCIDR", "is_cidr", vec![STRING_TYPE], is_cidr_fn)?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_ip",
        opaque(CIDR),
        vec![opaque(IP)],
        contains_ip_fn,
    )?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_string",
        opaque(CIDR),
        vec![STRING_TYPE],
        contains_ip_fn,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr",
        opaque(CIDR),
        vec![opaque(CIDR)],
        contains_cidr_fn,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr_string",
        opaque(CIDR),
        vec![STRING_TYPE],
        contains_cidr_fn,
    )?;
    env.add_member_overload("ip", "cidr_ip", opaque(CIDR), vec![], cidr_ip_fn)?;
    env.add_member_overload(
        "masked",
        "cidr_masked",
        opaque(CIDR),
        vec![],
        cidr_masked_fn,
    )?;
    env.add_member_overload(
        "prefixLength",
        "cidr_prefix_length",
        opaque(CIDR),
        vec![],
        prefix_length_fn,
    )?;
    env.add_overload(
        "string",
        "cidr_to_string",
        vec![opaque(CIDR)],
        cidr_string_fn,
    )?;
    Ok(())
}
