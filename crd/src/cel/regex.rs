//! Kubernetes' regex library: `find` and `findAll` on strings (`matches` is CEL's own).

use std::sync::Arc;

use cel::common::types::{INT_TYPE, STRING_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::adapt::{fail, int_arg, overload, str_arg};

fn compile(function: &str, re: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(re).map_err(|e| {
        fail(
            function,
            format!(
                "error parsing regexp: {}",
                e.to_string().lines().last().unwrap_or("")
            ),
        )
    })
}

pub(crate) fn find(args: &[Value]) -> Result<Value, ExecutionError> {
    let s = str_arg(args, 0)?;
    let re = compile("find", str_arg(args, 1)?)?;
    Ok(Value::String(Arc::new(
        re.find(s)
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
    )))
}

pub(crate) fn find_all(args: &[Value]) -> Result<Value, ExecutionError> {
    let s = str_arg(args, 0)?;
    let re = compile("findAll", str_arg(args, 1)?)?;
    let limit = if args.len() > 2 {
        int_arg(args, 2)?
    } else {
        -1
    };
    if limit == 0 {
        return Ok(Value::List(Arc::new(Vec::new())));
    }
    let found = re
        .find_iter(s)
        .map(|m| Value::String(Arc::new(m.as_str().to_owned())));
    let found: Vec<Value> = if limit < 0 {
        found.collect()
    } else {
        found.take(limit as usize).collect()
    };
    Ok(Value::List(Arc::new(found)))
}

overload!(find_fn => find);
overload!(find_all_fn => find_all);

/// Registers the library.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload(
        "find",
        "string_find_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_fn,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all_fn,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string_int",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all_fn,
    )?;
    Ok(())
}
