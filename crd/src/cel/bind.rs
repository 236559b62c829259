//! `cel.bind(name, init, expr)`: `expr` with `name` bound to `init`,
//! evaluated once (Kubernetes' CEL has it; cel-rust does not). Expanded at
//! compile time as cel-go expands it: a comprehension over an empty list
//! whose accumulator is the bound name.

use cel::Env;
use cel::common::ast::{ComprehensionExpr, Expr, ListExpr, LiteralValue};
use cel::parser::Macro;

/// Adds the `cel.bind` macro to `env`.
pub(super) fn register(env: &mut Env) -> Result<(), cel::DeclarationError> {
    env.add_macro(Macro::receiver("bind", 3, |helper, target, args| {
        // Only `cel.bind`: `x.bind(…)` on anything else is a call.
        if !matches!(target.as_ref().map(|t| &t.expr), Some(Expr::Ident(t)) if t == "cel") {
            return Ok(None);
        }
        let (Some(body), Some(init), Some(name)) = (args.pop(), args.pop(), args.pop()) else {
            return Ok(None);
        };
        let Expr::Ident(var) = name.expr else {
            return Err(helper.new_error(
                name.id,
                "cel.bind() variable name must be a simple identifier",
            ));
        };
        let range = helper.next_expr(Expr::List(ListExpr {
            elements: Vec::new(),
            optional_indices: Vec::new(),
        }));
        let stop = helper.next_expr(Expr::Literal(LiteralValue::Boolean(false.into())));
        let step = helper.next_expr(Expr::Ident(var.clone()));
        Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(
            ComprehensionExpr {
                iter_range: range,
                iter_var: "#unused".into(),
                iter_var2: None,
                accu_var: var,
                accu_init: init,
                loop_cond: stop,
                loop_step: step,
                result: body,
            },
        )))))
    }))
}
