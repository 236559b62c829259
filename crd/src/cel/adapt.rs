//! How the Kubernetes libraries plug into cel-rust: each function is written over
//! [`cel::Value`]s and registered as an overload through a generated wrapper (cel-rust's
//! overloads are plain `fn` pointers over its `Val` trait objects).

use cel::common::types::Type;
use cel::{ExecutionError, Value};

/// Declares `fn $wrapper`, a cel-rust overload calling `$inner` with the arguments as values.
macro_rules! overload {
    ($wrapper:ident => $inner:path) => {
        fn $wrapper<'b, 'v>(
            args: Vec<cel::common::value::CowVal<'b, 'v>>,
        ) -> Result<cel::common::value::CowVal<'b, 'v>, cel::ExecutionError> {
            let mut values = Vec::with_capacity(args.len());
            for a in &args {
                values.push(cel::Value::try_from(a.as_ref())?);
            }
            let out: cel::Value = $inner(&values)?;
            let boxed: Box<dyn cel::common::value::Val> = out.try_into()?;
            Ok(cel::common::value::CowVal::Owned(boxed))
        }
    };
}
pub(crate) use overload;

/// The `n`th argument.
pub(crate) fn arg(args: &[Value], n: usize) -> Result<&Value, ExecutionError> {
    args.get(n)
        .ok_or_else(|| ExecutionError::invalid_argument_count(n + 1, args.len()))
}

/// The `n`th argument as a string.
pub(crate) fn str_arg(args: &[Value], n: usize) -> Result<&str, ExecutionError> {
    match arg(args, n)? {
        Value::String(s) => Ok(s.as_str()),
        other => Err(ExecutionError::UnexpectedType {
            got: format!("{:?}", other.type_of()),
            want: "string".to_owned(),
        }),
    }
}

/// The `n`th argument as an int.
pub(crate) fn int_arg(args: &[Value], n: usize) -> Result<i64, ExecutionError> {
    match arg(args, n)? {
        Value::Int(i) => Ok(*i),
        other => Err(ExecutionError::UnexpectedType {
            got: format!("{:?}", other.type_of()),
            want: "int".to_owned(),
        }),
    }
}

/// The `n`th argument as a list.
pub(crate) fn list_arg(args: &[Value], n: usize) -> Result<&[Value], ExecutionError> {
    match arg(args, n)? {
        Value::List(l) => Ok(l.as_slice()),
        other => Err(ExecutionError::UnexpectedType {
            got: format!("{:?}", other.type_of()),
            want: "list".to_owned(),
        }),
    }
}

/// An error raised by a library function.
pub(crate) fn fail(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

/// The CEL type of one of the libraries' opaque values.
pub(crate) fn opaque(name: &'static str) -> Type {
    Type::new_opaque_type(name)
}
