//! Kubernetes' quantity library: `quantity`, `isQuantity`, and on a quantity `sign`,
//! `isInteger`, `asInteger`, `asApproximateFloat`, `add`, `sub`, `isGreaterThan`, `isLessThan`,
//! `compareTo`; resource quantities as `k8s.io/apimachinery` reads them (`1.5Gi`, `100m`, `1e3`).

use std::cmp::Ordering;
use std::sync::Arc;

use cel::common::types::{INT_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{arg, fail, opaque, overload, str_arg};

const TYPE: &str = "kubernetes.Quantity";
const SYNTAX: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// A quantity: `num × 10^exp`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) struct Quantity {
    num: i128,
    exp: i32,
}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        TYPE
    }
}

/// Parses a quantity.
pub(crate) fn parse(s: &str) -> Result<Quantity, String> {
    let bad = || SYNTAX.to_owned();
    if s.is_empty() {
        return Err("quantities must match the regular expression".to_owned());
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    // A sign may only lead; a suffix may carry its own (`1e-3`).
    let (number, suffix) = s.split_at(split);
    let (neg, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    if digits.is_empty()
        || digits.contains(['+', '-'])
        || digits.matches('.').count() > 1
        || digits == "."
    {
        return Err(bad());
    }
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int_part}{frac_part}");
    let all = all.trim_start_matches('0');
    if all.len() > 30 {
        return Err("quantity is too large".to_owned());
    }
    let mut num: i128 = if all.is_empty() {
        0
    } else {
        all.parse().map_err(|_| bad())?
    };
    let mut exp: i32 = -(frac_part.len() as i32);
    let (binary, dec): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (1, 0),
        "Mi" => (2, 0),
        "Gi" => (3, 0),
        "Ti" => (4, 0),
        "Pi" => (5, 0),
        "Ei" => (6, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().map_err(|_| bad())?;
            if s.len() == 1 || e.abs() > 1000 {
                return Err(bad());
            }
            (0, e)
        }
        _ => return Err(bad()),
    };
    for _ in 0..binary {
        num = num
            .checked_mul(1024)
            .ok_or_else(|| "quantity is too large".to_owned())?;
    }
    exp += dec;
    if neg {
        num = -num;
    }
    Ok(normalise(Quantity { num, exp }))
}

fn normalise(mut q: Quantity) -> Quantity {
    if q.num == 0 {
        return Quantity { num: 0, exp: 0 };
    }
    while q.num % 10 == 0 {
        q.num /= 10;
        q.exp += 1;
    }
    q
}

fn as_f64(q: Quantity) -> f64 {
    q.num as f64 * 10f64.powi(q.exp)
}

fn cmp(a: Quantity, b: Quantity) -> Ordering {
    // Align exponents exactly when that fits, else compare approximately.
    let (hi, lo, flip) = if a.exp >= b.exp {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let diff = (hi.exp - lo.exp) as u32;
    let exact = 10i128.checked_pow(diff).and_then(|m| hi.num.checked_mul(m));
    let ord = match exact {
        Some(h) => h.cmp(&lo.num),
        None => as_f64(hi)
            .partial_cmp(&as_f64(lo))
            .unwrap_or(Ordering::Equal),
    };
    if flip { ord.reverse() } else { ord }
}

fn add(a: Quantity, b: Quantity) -> Result<Quantity, ExecutionError> {
    let exp = a.exp.min(b.exp);
    let scale = |q: Quantity| {
        10i128
            .checked_pow((q.exp - exp) as u32)
            .and_then(|m| q.num.checked_mul(m))
    };
    match (scale(a), scale(b)) {
        (Some(x), Some(y)) => x
            .checked_add(y)
            .map(|num| normalise(Quantity { num, exp }))
            .ok_or_else(|| fail("add", "quantity overflow")),
        _ => Err(fail("add", "quantity overflow")),
    }
}

fn this(v: &Value) -> Result<Quantity, ExecutionError> {
    match v {
        Value::Opaque(o) => o
            .downcast_ref::<Quantity>()
            .copied()
            .ok_or_else(|| fail("quantity", "not a quantity")),
        Value::Int(i) => Ok(normalise(Quantity {
            num: i128::from(*i),
            exp: 0,
        })),
        _ => Err(fail("quantity", "not a quantity")),
    }
}

fn value(q: Quantity) -> Value {
    Value::Opaque(Arc::new(q))
}

fn as_integer(q: Quantity) -> Option<i64> {
    if q.exp < 0 {
        return None;
    }
    let n = 10i128
        .checked_pow(q.exp as u32)
        .and_then(|m| q.num.checked_mul(m))?;
    i64::try_from(n).ok()
}

pub(crate) fn quantity(args: &[Value]) -> Result<Value, ExecutionError> {
    parse(str_arg(args, 0)?)
        .map(value)
        .map_err(|e| fail("quantity", e))
}

pub(crate) fn is_quantity(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse(str_arg(args, 0)?).is_ok()))
}

pub(crate) fn sign(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(this(arg(args, 0)?)?.num.signum() as i64))
}

pub(crate) fn is_integer(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(as_integer(this(arg(args, 0)?)?).is_some()))
}

pub(crate) fn to_integer(args: &[Value]) -> Result<Value, ExecutionError> {
    as_integer(this(arg(args, 0)?)?)
        .map(Value::Int)
        .ok_or_else(|| fail("asInteger", "cannot convert value to integer"))
}

pub(crate) fn approximate_float(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Float(as_f64(this(arg(args, 0)?)?)))
}

pub(crate) fn add_q(args: &[Value]) -> Result<Value, ExecutionError> {
    add(this(arg(args, 0)?)?, this(arg(args, 1)?)?).map(value)
}

pub(crate) fn sub_q(args: &[Value]) -> Result<Value, ExecutionError> {
    let b = this(arg(args, 1)?)?;
    add(
        this(arg(args, 0)?)?,
        Quantity {
            num: -b.num,
            exp: b.exp,
        },
    )
    .map(value)
}

pub(crate) fn greater(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(
        cmp(this(arg(args, 0)?)?, this(arg(args, 1)?)?) == Ordering::Greater,
    ))
}

pub(crate) fn less(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(
        cmp(this(arg(args, 0)?)?, this(arg(args, 1)?)?) == Ordering::Less,
    ))
}

pub(crate) fn compare_to(args: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(
        match cmp(this(arg(args, 0)?)?, this(arg(args, 1)?)?) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        },
    ))
}

overload!(quantity_fn => quantity);
overload!(is_quantity_fn => is_quantity);
overload!(sign_fn => sign);
overload!(is_integer_fn => is_integer);
overload!(as_integer_fn => to_integer);
overload!(approximate_float_fn => approximate_float);
overload!(add_fn => add_q);
overload!(sub_fn => sub_q);
overload!(greater_fn => greater);
overload!(less_fn => less);
overload!(compare_to_fn => compare_to);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let q = || opaque(TYPE);
    env.add_type(q())?;
    env.add_overload(
        "quantity",
        "string_to_quantity",
        vec![STRING_TYPE],
        quantity_fn,
    )?;
    env.add_overload(
        "isQuantity",
        "is_quantity_string",
        vec![STRING_TYPE],
        is_quantity_fn,
    )?;
    env.add_member_overload("sign", "quantity_sign", q(), vec![], sign_fn)?;
    env.add_member_overload(
        "isInteger",
        "quantity_is_integer",
        q(),
        vec![],
        is_integer_fn,
    )?;
    env.add_member_overload(
        "asInteger",
        "quantity_as_integer",
        q(),
        vec![],
        as_integer_fn,
    )?;
    env.add_member_overload(
        "asApproximateFloat",
        "quantity_as_float",
        q(),
        vec![],
        approximate_float_fn,
    )?;
    env.add_member_overload("add", "quantity_add", q(), vec![q()], add_fn)?;
    env.add_member_overload("add", "quantity_add_int", q(), vec![INT_TYPE], add_fn)?;
    env.add_member_overload("sub", "quantity_sub", q(), vec![q()], sub_fn)?;
    env.add_member_overload("sub", "quantity_sub_int", q(), vec![INT_TYPE], sub_fn)?;
    env.add_member_overload(
        "isGreaterThan",
        "quantity_is_greater_than",
        q(),
        vec![q()],
        greater_fn,
    )?;
    env.add_member_overload(
        "isLessThan",
        "quantity_is_less_than",
        q(),
        vec![q()],
        less_fn,
    )?;
    env.add_member_overload(
        "compareTo",
        "quantity_compare_to",
        q(),
        vec![q()],
        compare_to_fn,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let q = |s| parse(s).unwrap();
        assert_eq!(cmp(q("1Gi"), q("1073741824")), Ordering::Equal);
        assert_eq!(cmp(q("1.5"), q("1500m")), Ordering::Equal);
        assert_eq!(cmp(q("1k"), q("999")), Ordering::Greater);
        assert_eq!(cmp(q("1e3"), q("1k")), Ordering::Equal);
        assert_eq!(as_integer(q("100m")), None);
        assert_eq!(as_integer(q("2k")), Some(2000));
        assert!(parse("1.2.3").is_err());
        assert!(parse("5 Gi").is_err());
        assert!(parse("-1x").is_err());
    }
}
