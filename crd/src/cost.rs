//! CEL cost limits. At load, each rule's cost is estimated from the schema's bounds as the API
//! server estimates it (cel-go's cost model: 1 per node, string and list work scaled by their
//! `maxLength`, `maxItems`, `maxProperties`, or what a 3 MiB request could hold; a
//! comprehension's body times its range), and a rule over the per-expression budget, or a CRD
//! whose rules (times how often each runs) are over the per-CRD budget, is refused with the API
//! server's words.
//!
//! At validation, the estimate bounds each evaluation because the object is held to what the
//! estimate assumed: an object over the API server's 3 MiB request limit is refused before any
//! rule runs, and rules do not run when the schema's own bounds (type, `maxItems`, `maxLength`,
//! `maxProperties`) failed. cel-rust has no cost hook, so this is how a hostile object is kept
//! from stalling an evaluation.

use std::collections::HashMap;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};

use crate::schema::{Schema, Type};

/// The API server's request size limit, which bounds what is not declared bounded.
pub const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;
/// The estimated cost one rule may have (`StaticEstimatedCostLimit`).
pub const PER_EXPRESSION_LIMIT: u64 = 10_000_000;
/// The estimated cost of all of a CRD version's rules, each times its cardinality
/// (`StaticEstimatedCRDCostLimit`).
pub const PER_CRD_LIMIT: u64 = 100_000_000;

/// What a sub-expression stands for, for its size.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// A value of this schema.
    Node(&'a Schema),
    /// A map key (the API server's estimator gives them no size).
    Key,
    /// A value of at most this size.
    Sized(u64),
}

/// The most items a list of this item schema can have in a request (each item and a comma).
fn max_items(items: Option<&Schema>) -> u64 {
    let min = items.map_or(1, min_serialized_size);
    (MAX_REQUEST_BYTES - 2) / (min + 1)
}

/// The most entries a map of this value schema can have in a request (a quoted key, a colon, a
/// comma and the value).
fn max_properties(values: &Schema) -> u64 {
    (MAX_REQUEST_BYTES - 2) / (min_serialized_size(values) + 6)
}

fn min_serialized_size(s: &Schema) -> u64 {
    if s.int_or_string {
        return 1;
    }
    match s.ty {
        Some(Type::String) => 2,
        Some(Type::Boolean) => 4,
        Some(Type::Integer) | Some(Type::Number) => 1,
        Some(Type::Array) | Some(Type::Object) => 2,
        None => 1,
    }
}

/// A node's size: a string's length, a list's items, a map's entries.
fn node_size(s: &Schema) -> u64 {
    match s.ty {
        Some(Type::String) => s.max_length.unwrap_or(match s.format.as_deref() {
            Some("duration") => 64,
            Some("date") => 12,
            Some("date-time") => 34,
            _ => MAX_REQUEST_BYTES - 2,
        }),
        Some(Type::Array) => s.max_items.unwrap_or_else(|| max_items(s.items.as_deref())),
        Some(Type::Object) => match s.additional_schema() {
            Some(a) => s.max_properties.unwrap_or_else(|| max_properties(a)),
            None => s.properties.len() as u64,
        },
        _ if s.int_or_string => s.max_length.unwrap_or(MAX_REQUEST_BYTES - 2),
        _ => 1,
    }
}

fn size(shape: Shape<'_>) -> u64 {
    match shape {
        Shape::Node(s) => node_size(s),
        Shape::Key => 0,
        Shape::Sized(n) => n,
    }
}

/// `ceil(n × factor)`, as cel-go scales traversal costs.
fn scaled(n: u64, factor: f64) -> u64 {
    (n as f64 * factor).ceil() as u64
}

struct Estimator<'a> {
    vars: HashMap<String, Shape<'a>>,
}

impl<'a> Estimator<'a> {
    /// (cost, shape of the result).
    fn cost(&mut self, e: &IdedExpr) -> (u64, Shape<'a>) {
        match &e.expr {
            Expr::Literal(LiteralValue::String(s)) => (0, Shape::Sized(s.inner().len() as u64)),
            Expr::Literal(LiteralValue::Bytes(b)) => (0, Shape::Sized(b.inner().len() as u64)),
            Expr::Literal(_) | Expr::Unspecified => (0, Shape::Sized(1)),
            Expr::Ident(name) => (1, self.vars.get(name).copied().unwrap_or(Shape::Sized(1))),
            Expr::Select(sel) => {
                let (c, shape) = self.cost(&sel.operand);
                let child = match shape {
                    Shape::Node(s) => s.child(&sel.field).map_or(Shape::Sized(1), Shape::Node),
                    _ => Shape::Sized(1),
                };
                (c.saturating_add(1), child)
            }
            Expr::List(l) => {
                let mut c = 10u64;
                let mut biggest = 1;
                for el in &l.elements {
                    let (ec, es) = self.cost(el);
                    c = c.saturating_add(ec);
                    biggest = biggest.max(size(es));
                }
                let _ = biggest;
                (c, Shape::Sized(l.elements.len() as u64))
            }
            Expr::Map(m) => {
                let mut c = 30u64;
                for entry in &m.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                        c = c
                            .saturating_add(self.cost(&me.key).0)
                            .saturating_add(self.cost(&me.value).0);
                    }
                }
                (c, Shape::Sized(m.entries.len() as u64))
            }
            Expr::Struct(_) => (40, Shape::Sized(1)),
            Expr::Comprehension(comp) => {
                let (range_cost, range) = self.cost(&comp.iter_range);
                let n = size(range);
                let element = match range {
                    Shape::Node(s) => match s.ty {
                        Some(Type::Array) => {
                            s.items.as_deref().map_or(Shape::Sized(1), Shape::Node)
                        }
                        Some(Type::Object) => Shape::Key,
                        _ => Shape::Sized(1),
                    },
                    _ => Shape::Sized(1),
                };
                let saved: Vec<(String, Option<Shape<'a>>)> = [&comp.iter_var, &comp.accu_var]
                    .into_iter()
                    .chain(comp.iter_var2.as_ref())
                    .map(|v| (v.clone(), self.vars.get(v).copied()))
                    .collect();
                self.vars.insert(comp.iter_var.clone(), element);
                if let Some(v2) = &comp.iter_var2 {
                    let value = match range {
                        Shape::Node(s) => s
                            .items
                            .as_deref()
                            .or(s.additional_schema())
                            .map_or(Shape::Sized(1), Shape::Node),
                        _ => Shape::Sized(1),
                    };
                    // For a list, the first variable is the index.
                    self.vars.insert(comp.iter_var.clone(), Shape::Sized(1));
                    self.vars.insert(v2.clone(), value);
                }
                let (init, _) = self.cost(&comp.accu_init);
                self.vars.insert(comp.accu_var.clone(), Shape::Sized(n));
                let (cond, _) = self.cost(&comp.loop_cond);
                let (step, _) = self.cost(&comp.loop_step);
                let (result, _) = self.cost(&comp.result);
                for (v, old) in saved {
                    match old {
                        Some(s) => self.vars.insert(v, s),
                        None => self.vars.remove(&v),
                    };
                }
                let per = cond.saturating_add(step);
                let total = range_cost
                    .saturating_add(init)
                    .saturating_add(n.saturating_mul(per))
                    .saturating_add(result);
                (total, Shape::Sized(n))
            }
            Expr::Call(call) => {
                let mut arg_cost = 0u64;
                let mut shapes = Vec::new();
                if let Some(t) = &call.target {
                    let (c, s) = self.cost(t);
                    arg_cost = arg_cost.saturating_add(c);
                    shapes.push(s);
                }
                for a in &call.args {
                    let (c, s) = self.cost(a);
                    arg_cost = arg_cost.saturating_add(c);
                    shapes.push(s);
                }
                let sizes: Vec<u64> = shapes.iter().map(|s| size(*s)).collect();
                let first = sizes.first().copied().unwrap_or(0);
                let second = sizes.get(1).copied().unwrap_or(0);
                let (own, result) = match call.func_name.as_str() {
                    "_==_" | "_!=_" => (1u64.max(scaled(first.min(second), 0.1)), Shape::Sized(1)),
                    "_+_" => (
                        scaled(first.saturating_add(second), 0.1).max(1),
                        Shape::Sized(first.saturating_add(second)),
                    ),
                    "contains" | "startsWith" | "endsWith" | "indexOf" | "lastIndexOf" => (
                        scaled(first, 0.1)
                            .saturating_mul(scaled(second, 0.1).max(1))
                            .max(1),
                        Shape::Sized(1),
                    ),
                    "matches" | "find" | "findAll" => {
                        let (s, re) = (first, second);
                        (
                            scaled(s, 0.1)
                                .saturating_mul(scaled(re, 0.25).max(1))
                                .max(1),
                            Shape::Sized(s),
                        )
                    }
                    "@in" => (scaled(second, 1.0).max(1), Shape::Sized(1)),
                    "size" | "has" | "int" | "uint" | "double" | "bool" | "type" | "dyn"
                    | "duration" | "timestamp" | "string" => (1, Shape::Sized(1)),
                    "lowerAscii" | "upperAscii" | "trim" | "reverse" | "quote"
                    | "strings.quote" | "replace" | "split" | "join" | "substring" | "charAt"
                    | "format" | "url" | "isURL" | "ip" | "isIP" | "cidr" | "isCIDR"
                    | "quantity" | "isQuantity" => (scaled(first, 0.1).max(1), Shape::Sized(first)),
                    "isSorted" | "sum" | "min" | "max" | "sets.contains" | "sets.equivalent"
                    | "sets.intersects" => (first.saturating_add(second).max(1), Shape::Sized(1)),
                    _ => (1, shapes.first().copied().unwrap_or(Shape::Sized(1))),
                };
                let result = match (call.func_name.as_str(), shapes.first()) {
                    ("_[_]", Some(Shape::Node(s))) => s
                        .items
                        .as_deref()
                        .or(s.additional_schema())
                        .map_or(Shape::Sized(1), Shape::Node),
                    ("_?_:_", _) => {
                        let b = shapes.get(1).copied().unwrap_or(Shape::Sized(1));
                        let c = shapes.get(2).copied().unwrap_or(Shape::Sized(1));
                        if size(b) >= size(c) { b } else { c }
                    }
                    _ => result,
                };
                (arg_cost.saturating_add(own), result)
            }
        }
    }
}

/// The estimated cost of one evaluation of `expr` with `self` (and `oldSelf`) of `schema`.
pub(crate) fn estimate(expr: &IdedExpr, schema: &Schema) -> u64 {
    let mut vars = HashMap::new();
    vars.insert("self".to_owned(), Shape::Node(schema));
    vars.insert("oldSelf".to_owned(), Shape::Node(schema));
    let mut e = Estimator { vars };
    e.cost(expr).0
}

/// How many times a node's rules can run in one object, as the API server counts it: the
/// product of the `maxItems`/`maxProperties` of the lists and maps above it, `None` when one of
/// them is unbounded.
pub(crate) fn cardinality_step(parent: &Schema) -> Option<u64> {
    match parent.ty {
        Some(Type::Array) => parent.max_items,
        Some(Type::Object) if parent.additional_schema().is_some() => parent.max_properties,
        _ => Some(1),
    }
}

/// What a node's rules are counted as running when an unbounded list or map is above it: as
/// many times as the smallest value of the node fits in a request.
pub(crate) fn unbounded_cardinality(node: &Schema) -> u64 {
    (MAX_REQUEST_BYTES - 2) / (min_serialized_size(node) + 1)
}

/// The API server's detail for an expression over its budget.
pub(crate) fn over_expression_budget(cost: u64) -> String {
    format!(
        "estimated rule cost exceeds budget by factor of {}",
        factor(cost, PER_EXPRESSION_LIMIT)
    )
}

/// The API server's detail for a CRD whose rules together are over the budget.
pub(crate) fn over_crd_budget(total: u64) -> String {
    format!(
        "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of {}",
        factor(total, PER_CRD_LIMIT)
    )
}

fn factor(cost: u64, limit: u64) -> String {
    let f = cost as f64 / limit as f64;
    if f > 100.0 {
        "more than 100x".to_owned()
    } else {
        format!("{f:.1}x")
    }
}
