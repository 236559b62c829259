//! Kubernetes' lists library: `isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf` on lists.

use std::cmp::Ordering;

use cel::common::types::{DYN_TYPE, LIST_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{fail, list_arg, overload};

fn compare(a: &Value, b: &Value) -> Result<Ordering, ExecutionError> {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.partial_cmp(y),
        (Value::UInt(x), Value::UInt(y)) => x.partial_cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::String(x), Value::String(y)) => x.partial_cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.partial_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.partial_cmp(y),
        (Value::Duration(x), Value::Duration(y)) => x.partial_cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.partial_cmp(y),
        _ => None,
    };
    ord.ok_or_else(|| {
        ExecutionError::no_such_overload(
            "_<_",
            vec![format!("{:?}", a.type_of()), format!("{:?}", b.type_of())],
        )
    })
}

pub(crate) fn is_sorted(args: &[Value]) -> Result<Value, ExecutionError> {
    let list = list_arg(args, 0)?;
    for w in list.windows(2) {
        if compare(&w[0], &w[1])? == Ordering::Greater {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

pub(crate) fn sum(args: &[Value]) -> Result<Value, ExecutionError> {
    let list = list_arg(args, 0)?;
    let mut acc = match list.first() {
        None => return Ok(Value::Int(0)),
        Some(Value::Duration(_)) => Value::Duration(chrono::Duration::zero()),
        Some(Value::Float(_)) => Value::Float(0.0),
        Some(Value::UInt(_)) => Value::UInt(0),
        Some(_) => Value::Int(0),
    };
    for v in list {
        acc = match (&acc, v) {
            (Value::Int(a), Value::Int(b)) => Value::Int(
                a.checked_add(*b)
                    .ok_or_else(|| fail("sum", "integer overflow"))?,
            ),
            (Value::UInt(a), Value::UInt(b)) => Value::UInt(
                a.checked_add(*b)
                    .ok_or_else(|| fail("sum", "unsigned integer overflow"))?,
            ),
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (Value::Duration(a), Value::Duration(b)) => Value::Duration(
                a.checked_add(b)
                    .ok_or_else(|| fail("sum", "duration overflow"))?,
            ),
            _ => {
                return Err(ExecutionError::no_such_overload(
                    "sum",
                    vec![format!("{:?}", v.type_of())],
                ));
            }
        };
    }
    Ok(acc)
}

fn extreme(args: &[Value], name: &str, want: Ordering) -> Result<Value, ExecutionError> {
    let list = list_arg(args, 0)?;
    let mut best = list
        .first()
        .ok_or_else(|| fail(name, format!("{name} called on empty list")))?;
    for v in &list[1..] {
        if compare(v, best)? == want {
            best = v;
        }
    }
    Ok(best.clone())
}

pub(crate) fn min(args: &[Value]) -> Result<Value, ExecutionError> {
    extreme(args, "min", Ordering::Less)
}

pub(crate) fn max(args: &[Value]) -> Result<Value, ExecutionError> {
    extreme(args, "max", Ordering::Greater)
}

pub(crate) fn index_of(args: &[Value]) -> Result<Value, ExecutionError> {
    let list = list_arg(args, 0)?;
    let x = super::adapt::arg(args, 1)?;
    Ok(Value::Int(
        list.iter().position(|v| v == x).map_or(-1, |i| i as i64),
    ))
}

pub(crate) fn last_index_of(args: &[Value]) -> Result<Value, ExecutionError> {
    let list = list_arg(args, 0)?;
    let x = super::adapt::arg(args, 1)?;
    Ok(Value::Int(
        list.iter().rposition(|v| v == x).map_or(-1, |i| i as i64),
    ))
}

overload!(is_sorted_fn => is_sorted);
overload!(sum_fn => sum);
overload!(min_fn => min);
overload!(max_fn => max);
overload!(index_of_fn => index_of);
overload!(last_index_of_fn => last_index_of);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload(
        "isSorted",
        "list_is_sorted",
        LIST_TYPE,
        vec![],
        is_sorted_fn,
    )?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], sum_fn)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], min_fn)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], max_fn)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of_fn,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of_fn,
    )?;
    Ok(())
}
