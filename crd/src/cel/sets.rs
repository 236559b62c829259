//! CEL's sets extension, as Kubernetes enables it: `sets.contains`, `sets.equivalent`,
//! `sets.intersects` over lists.

use cel::common::types::LIST_TYPE;
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{list_arg, overload};

pub(crate) fn contains(args: &[Value]) -> Result<Value, ExecutionError> {
    let (a, b) = (list_arg(args, 0)?, list_arg(args, 1)?);
    Ok(Value::Bool(b.iter().all(|x| a.contains(x))))
}

pub(crate) fn equivalent(args: &[Value]) -> Result<Value, ExecutionError> {
    let (a, b) = (list_arg(args, 0)?, list_arg(args, 1)?);
    Ok(Value::Bool(
        b.iter().all(|x| a.contains(x)) && a.iter().all(|x| b.contains(x)),
    ))
}

pub(crate) fn intersects(args: &[Value]) -> Result<Value, ExecutionError> {
    let (a, b) = (list_arg(args, 0)?, list_arg(args, 1)?);
    Ok(Value::Bool(b.iter().any(|x| a.contains(x))))
}

overload!(contains_fn => contains);
overload!(equivalent_fn => equivalent);
overload!(intersects_fn => intersects);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        vec![LIST_TYPE, LIST_TYPE],
        contains_fn,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        vec![LIST_TYPE, LIST_TYPE],
        equivalent_fn,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        vec![LIST_TYPE, LIST_TYPE],
        intersects_fn,
    )?;
    Ok(())
}
