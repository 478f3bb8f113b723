//! Evaluates a parsed PromQL expression over the store at one instant.
//!
//! The subset and the deliberate differences from Prometheus are listed in
//! the crate docs; everything else is refused with
//! [`QueryError::Unsupported`] naming the construct.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use promql_parser::label::{Matcher, Matchers};
use promql_parser::parser::token;
use promql_parser::parser::{
    AggregateExpr, AtModifier, BinModifier, BinaryExpr, Call, Expr, LabelModifier, MatrixSelector,
    Offset, VectorMatchCardinality, VectorSelector,
};

use super::histogram::{Bucket, bucket_quantile};
use super::store::{BUCKET_LABEL, Labels, Sample, StoreData, Timestamp, after};
use super::{MatrixSeries, QueryError, QueryResult, QueryValue, VectorElement};

/// Prometheus's default `--query.lookback-delta`: an instant selector sees
/// the latest sample at most this old.
pub const LOOKBACK: Duration = Duration::from_secs(5 * 60);

/// Deeper expressions are refused: weir's queries nest a handful of levels,
/// and unbounded recursion could overflow the evaluation thread's stack.
const MAX_DEPTH: usize = 256;

/// More operator characters than this make a query refused before parsing:
/// each can add a level (`- - - up`, `1 + 1 + …`), and promql-parser's
/// type checks take time quadratic in the depth. weir's queries have a
/// handful.
const MAX_OPERATORS: usize = 4 * MAX_DEPTH;

/// Parses and evaluates `query` at `time` over `data`.
pub(crate) fn evaluate(
    data: &StoreData,
    query: &str,
    time: Timestamp,
) -> Result<QueryResult, QueryError> {
    check_nesting(query)?;
    let expr = promql_parser::parser::parse(query).map_err(|message| QueryError::Parse {
        message: format!("parse error: {message}"),
    })?;
    let evaluator = Evaluator {
        data,
        query_time: time,
    };
    let value = evaluator.eval(&expr, time, 0)?;
    Ok(QueryResult { time, value })
}

/// Refuses queries nesting too deep to parse quickly, by a look at the
/// characters outside string literals: parentheses deeper than
/// [`MAX_DEPTH`] or more than [`MAX_OPERATORS`] arithmetic operators.
fn check_nesting(query: &str) -> Result<(), QueryError> {
    let mut depth = 0_usize;
    let mut deepest = 0_usize;
    let mut operators = 0_usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for character in query.chars() {
        if let Some(open) = quote {
            // Backslash escapes exist in "…" and '…', not in `…`.
            if escaped {
                escaped = false;
            } else if character == '\\' && open != '`' {
                escaped = true;
            } else if character == open {
                quote = None;
            }
            continue;
        }
        match character {
            '"' | '\'' | '`' => quote = Some(character),
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            '+' | '-' | '*' | '/' | '%' | '^' => operators += 1,
            _ => {}
        }
    }
    if deepest > MAX_DEPTH || operators > MAX_OPERATORS {
        return Err(unsupported(format!(
            "expressions nested deeper than {MAX_DEPTH} levels or with more than {MAX_OPERATORS} operators"
        )));
    }
    Ok(())
}

fn unsupported(construct: impl Into<String>) -> QueryError {
    QueryError::Unsupported {
        construct: construct.into(),
    }
}

fn execution(message: impl Into<String>) -> QueryError {
    QueryError::Execution {
        message: message.into(),
    }
}

struct Evaluator<'a> {
    data: &'a StoreData,
    /// The query's evaluation time, which `@ start()` and `@ end()` mean.
    query_time: Timestamp,
}

impl<'a> Evaluator<'a> {
    fn eval(&self, expr: &Expr, at: Timestamp, depth: usize) -> Result<QueryValue, QueryError> {
        if depth > MAX_DEPTH {
            return Err(unsupported(format!(
                "expressions nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let depth = depth + 1;
        match expr {
            Expr::NumberLiteral(number) => Ok(QueryValue::Scalar(number.val)),
            Expr::StringLiteral(text) => Ok(QueryValue::String(text.val.clone())),
            Expr::Paren(inner) => self.eval(&inner.expr, at, depth),
            Expr::Unary(unary) => match self.eval(&unary.expr, at, depth)? {
                QueryValue::Scalar(value) => Ok(QueryValue::Scalar(-value)),
                QueryValue::Vector(elements) => {
                    let negated = elements
                        .into_iter()
                        .map(|element| VectorElement {
                            labels: element.labels.without_metric_name(),
                            value: -element.value,
                        })
                        .collect();
                    unique(negated).map(QueryValue::Vector)
                }
                other => Err(execution(format!(
                    "unary minus needs a scalar or an instant vector, not a {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(selector) => Ok(QueryValue::Vector(self.instant(selector, at))),
            Expr::MatrixSelector(selector) => Ok(QueryValue::Matrix(self.range(selector, at))),
            Expr::Aggregate(aggregate) => self.aggregate(aggregate, at, depth),
            Expr::Binary(binary) => self.binary(binary, at, depth),
            Expr::Call(call) => self.call(call, at, depth),
            Expr::Subquery(_) => Err(unsupported("subqueries (`expr[range:resolution]`)")),
            Expr::Extension(extension) => Err(unsupported(format!(
                "the extension expression {}",
                extension.expr.name()
            ))),
        }
    }

    fn eval_scalar(&self, expr: &Expr, at: Timestamp, depth: usize) -> Result<f64, QueryError> {
        match self.eval(expr, at, depth)? {
            QueryValue::Scalar(value) => Ok(value),
            other => Err(execution(format!(
                "expected a scalar, got a {}",
                other.type_name()
            ))),
        }
    }

    fn eval_vector(
        &self,
        expr: &Expr,
        at: Timestamp,
        depth: usize,
    ) -> Result<Vec<VectorElement>, QueryError> {
        match self.eval(expr, at, depth)? {
            QueryValue::Vector(elements) => Ok(elements),
            other => Err(execution(format!(
                "expected an instant vector, got a {}",
                other.type_name()
            ))),
        }
    }

    /// Where a selector reads: `@` replaces the evaluation time, `offset`
    /// moves back from it.
    fn selector_time(
        &self,
        at: Timestamp,
        offset: Option<&Offset>,
        at_modifier: Option<&AtModifier>,
    ) -> Timestamp {
        let base = match at_modifier {
            None => at,
            Some(AtModifier::Start | AtModifier::End) => self.query_time,
            Some(AtModifier::At(time)) => Timestamp::from(*time),
        };
        match offset {
            None => base,
            Some(Offset::Pos(by)) => base - *by,
            Some(Offset::Neg(by)) => base + *by,
        }
    }

    /// The series `selector` names, with their samples.
    fn select(&self, selector: &VectorSelector) -> Vec<(&'a Labels, &'a [Sample])> {
        let matching = |(labels, samples): (&'a Labels, &'a Vec<Sample>)| {
            matches(labels, &selector.matchers).then_some((labels, samples.as_slice()))
        };
        match &selector.name {
            Some(name) => self
                .data
                .series
                .get(name)
                .into_iter()
                .flatten()
                .filter_map(matching)
                .collect(),
            None => self
                .data
                .series
                .values()
                .flatten()
                .filter_map(matching)
                .collect(),
        }
    }

    /// An instant selector: each series' latest sample in (t − 5m, t].
    fn instant(&self, selector: &VectorSelector, at: Timestamp) -> Vec<VectorElement> {
        let time = self.selector_time(at, selector.offset.as_ref(), selector.at.as_ref());
        let oldest_excluded = time - LOOKBACK;
        self.select(selector)
            .into_iter()
            .filter_map(|(labels, samples)| {
                let end = after(samples, time);
                let latest = samples.get(end.checked_sub(1)?)?;
                (latest.time > oldest_excluded).then(|| VectorElement {
                    labels: labels.clone(),
                    value: latest.value,
                })
            })
            .collect()
    }

    /// A range selector: each series' samples in (t − range, t].
    fn range(&self, selector: &MatrixSelector, at: Timestamp) -> Vec<MatrixSeries> {
        let time = self.selector_time(at, selector.vs.offset.as_ref(), selector.vs.at.as_ref());
        self.select(&selector.vs)
            .into_iter()
            .filter_map(|(labels, samples)| {
                let window = window(samples, time, selector.range);
                (!window.is_empty()).then(|| MatrixSeries {
                    labels: labels.clone(),
                    samples: window.to_vec(),
                })
            })
            .collect()
    }

    fn aggregate(
        &self,
        aggregate: &AggregateExpr,
        at: Timestamp,
        depth: usize,
    ) -> Result<QueryValue, QueryError> {
        let operation = match aggregate.op.id() {
            token::T_SUM => Aggregation::Sum,
            token::T_AVG => Aggregation::Avg,
            token::T_MIN => Aggregation::Min,
            token::T_MAX => Aggregation::Max,
            token::T_COUNT => Aggregation::Count,
            token::T_GROUP => Aggregation::Group,
            _ => {
                return Err(unsupported(format!("the aggregation \"{}\"", aggregate.op)));
            }
        };
        let elements = self.eval_vector(&aggregate.expr, at, depth)?;
        let mut groups: BTreeMap<Labels, Accumulator> = BTreeMap::new();
        for element in elements {
            let key = match &aggregate.modifier {
                None => Labels::new(),
                Some(LabelModifier::Include(by)) => element
                    .labels
                    .keep_only(by.labels.iter().map(String::as_str)),
                Some(LabelModifier::Exclude(without)) => {
                    let mut kept = element.labels.without_metric_name();
                    for name in &without.labels {
                        kept.remove(name);
                    }
                    kept
                }
            };
            groups
                .entry(key)
                .and_modify(|accumulator| accumulator.add(element.value))
                .or_insert_with(|| Accumulator::new(element.value));
        }
        Ok(QueryValue::Vector(
            groups
                .into_iter()
                .map(|(labels, accumulator)| VectorElement {
                    labels,
                    value: accumulator.result(operation),
                })
                .collect(),
        ))
    }

    fn binary(
        &self,
        binary: &BinaryExpr,
        at: Timestamp,
        depth: usize,
    ) -> Result<QueryValue, QueryError> {
        let operator = Operator::of(binary.op)?;
        let return_bool = binary.return_bool();
        let modifier = binary.modifier.as_ref();
        if let Some(modifier) = modifier {
            if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
                return Err(unsupported("fill, fill_left and fill_right modifiers"));
            }
            if matches!(
                modifier.card,
                VectorMatchCardinality::ManyToOne(_) | VectorMatchCardinality::OneToMany(_)
            ) {
                return Err(unsupported(
                    "group_left and group_right (many-to-one vector matching)",
                ));
            }
        }
        let lhs = self.eval(&binary.lhs, at, depth)?;
        let rhs = self.eval(&binary.rhs, at, depth)?;
        match (lhs, rhs) {
            (QueryValue::Scalar(left), QueryValue::Scalar(right)) => {
                let (value, keep) = operator.apply(left, right)?;
                Ok(QueryValue::Scalar(if operator.is_comparison() {
                    bool_value(keep)
                } else {
                    value
                }))
            }
            (QueryValue::Vector(elements), QueryValue::Scalar(scalar)) => {
                vector_scalar(operator, elements, scalar, false, return_bool)
                    .map(QueryValue::Vector)
            }
            (QueryValue::Scalar(scalar), QueryValue::Vector(elements)) => {
                vector_scalar(operator, elements, scalar, true, return_bool).map(QueryValue::Vector)
            }
            (QueryValue::Vector(left), QueryValue::Vector(right)) => {
                let matching =
                    modifier.and_then(|modifier: &BinModifier| modifier.matching.as_ref());
                if operator.is_set() {
                    Ok(QueryValue::Vector(set_operation(
                        operator, left, right, matching,
                    )))
                } else {
                    vector_vector(operator, left, right, matching, return_bool)
                        .map(QueryValue::Vector)
                }
            }
            (left, right) => Err(execution(format!(
                "binary operator \"{}\" needs scalars or instant vectors, not a {} and a {}",
                binary.op,
                left.type_name(),
                right.type_name()
            ))),
        }
    }

    fn call(&self, call: &Call, at: Timestamp, depth: usize) -> Result<QueryValue, QueryError> {
        let name = call.func.name;
        let vector = match name {
            "rate" | "increase" | "delta" | "irate" | "idelta" => {
                self.counter_function(name, call, at)?
            }
            "avg_over_time" | "sum_over_time" | "min_over_time" | "max_over_time"
            | "count_over_time" | "last_over_time" => self.over_time(name, call, at)?,
            "histogram_quantile" => {
                let q = self.eval_scalar(argument(call, 0)?, at, depth)?;
                let elements = self.eval_vector(argument(call, 1)?, at, depth)?;
                histogram_quantile(q, elements)
            }
            "vector" => {
                let value = self.eval_scalar(argument(call, 0)?, at, depth)?;
                vec![VectorElement {
                    labels: Labels::new(),
                    value,
                }]
            }
            "scalar" => {
                let elements = self.eval_vector(argument(call, 0)?, at, depth)?;
                let value = match elements.as_slice() {
                    [only] => only.value,
                    _ => f64::NAN,
                };
                return Ok(QueryValue::Scalar(value));
            }
            "time" => return Ok(QueryValue::Scalar(at.as_seconds())),
            "abs" | "ceil" | "floor" | "sqrt" | "exp" | "ln" | "log2" | "log10" => {
                let function: fn(f64) -> f64 = match name {
                    "abs" => f64::abs,
                    "ceil" => f64::ceil,
                    "floor" => f64::floor,
                    "sqrt" => f64::sqrt,
                    "exp" => f64::exp,
                    "ln" => f64::ln,
                    "log2" => f64::log2,
                    _ => f64::log10,
                };
                let elements = self.eval_vector(argument(call, 0)?, at, depth)?;
                map_values(elements, function)?
            }
            "round" => {
                let elements = self.eval_vector(argument(call, 0)?, at, depth)?;
                let to_nearest = match call.args.args.get(1) {
                    Some(expr) => self.eval_scalar(expr, at, depth)?,
                    None => 1.0,
                };
                // Prometheus: floor(v · 1/n + 0.5) / (1/n), rounding halves up.
                let inverse = 1.0 / to_nearest;
                map_values(elements, |value| (value * inverse + 0.5).floor() / inverse)?
            }
            "clamp_min" | "clamp_max" => {
                let elements = self.eval_vector(argument(call, 0)?, at, depth)?;
                let bound = self.eval_scalar(argument(call, 1)?, at, depth)?;
                if name == "clamp_min" {
                    map_values(elements, |value| go_max(bound, value))?
                } else {
                    map_values(elements, |value| go_min(bound, value))?
                }
            }
            "clamp" => {
                let elements = self.eval_vector(argument(call, 0)?, at, depth)?;
                let lower = self.eval_scalar(argument(call, 1)?, at, depth)?;
                let upper = self.eval_scalar(argument(call, 2)?, at, depth)?;
                if upper < lower {
                    Vec::new()
                } else {
                    map_values(elements, |value| go_max(lower, go_min(upper, value)))?
                }
            }
            _ => return Err(unsupported(format!("the function \"{name}\""))),
        };
        Ok(QueryValue::Vector(vector))
    }

    /// `rate`, `increase`, `delta`, `irate` and `idelta`.
    fn counter_function(
        &self,
        name: &str,
        call: &Call,
        at: Timestamp,
    ) -> Result<Vec<VectorElement>, QueryError> {
        let selector = matrix_argument(call, 0)?;
        let time = self.selector_time(at, selector.vs.offset.as_ref(), selector.vs.at.as_ref());
        let range = selector.range;
        let elements = self
            .select(&selector.vs)
            .into_iter()
            .filter_map(|(labels, samples)| {
                let value = match name {
                    "increase" => increase(samples, time, range),
                    "rate" => {
                        increase(samples, time, range).map(|total| total / range.as_secs_f64())
                    }
                    "delta" => delta(samples, time, range),
                    "irate" => instant_change(samples, time, range, true),
                    _ => instant_change(samples, time, range, false),
                }?;
                Some(VectorElement {
                    labels: labels.clone().without_metric_name(),
                    value,
                })
            })
            .collect();
        unique(elements)
    }

    /// The `*_over_time` functions, over the samples in (t − range, t].
    fn over_time(
        &self,
        name: &str,
        call: &Call,
        at: Timestamp,
    ) -> Result<Vec<VectorElement>, QueryError> {
        let selector = matrix_argument(call, 0)?;
        let time = self.selector_time(at, selector.vs.offset.as_ref(), selector.vs.at.as_ref());
        let elements = self
            .select(&selector.vs)
            .into_iter()
            .filter_map(|(labels, samples)| {
                let window = window(samples, time, selector.range);
                let (first, rest) = window.split_first()?;
                let mut accumulator = Accumulator::new(first.value);
                for sample in rest {
                    accumulator.add(sample.value);
                }
                let (value, labels) = match name {
                    "avg_over_time" => (accumulator.result(Aggregation::Avg), labels),
                    "sum_over_time" => (accumulator.result(Aggregation::Sum), labels),
                    "min_over_time" => (accumulator.result(Aggregation::Min), labels),
                    "max_over_time" => (accumulator.result(Aggregation::Max), labels),
                    "count_over_time" => (accumulator.result(Aggregation::Count), labels),
                    // last_over_time is a selector with a longer lookback:
                    // it keeps the metric name.
                    _ => {
                        return Some(VectorElement {
                            labels: labels.clone(),
                            value: window[window.len() - 1].value,
                        });
                    }
                };
                Some(VectorElement {
                    labels: labels.clone().without_metric_name(),
                    value,
                })
            })
            .collect();
        unique(elements)
    }
}

/// Whether `labels` satisfy the selector's matchers (a missing label reads
/// as the empty string, as in Prometheus). Regex matchers are fully
/// anchored: promql-parser compiles `=~"x"` as `^(?:x)$`.
fn matches(labels: &Labels, matchers: &Matchers) -> bool {
    let all = |group: &[Matcher]| {
        group
            .iter()
            .all(|matcher| matcher.is_match(labels.get(&matcher.name).unwrap_or("")))
    };
    all(&matchers.matchers)
        && (matchers.or_matchers.is_empty() || matchers.or_matchers.iter().any(|group| all(group)))
}

/// The samples in (time − range, time].
fn window(samples: &[Sample], time: Timestamp, range: Duration) -> &[Sample] {
    let start = after(samples, time - range);
    let end = after(samples, time).max(start);
    &samples[start..end]
}

/// The latest sample at or before `time − range` and everything after it up
/// to the latest sample in (time − range, time]; `None` when either end is
/// missing.
fn reference_and_window(samples: &[Sample], time: Timestamp, range: Duration) -> Option<&[Sample]> {
    let reference = after(samples, time - range).checked_sub(1)?;
    let end = after(samples, time);
    (end > reference + 1).then(|| &samples[reference..end])
}

/// `increase(v[range])` at `time`: the last sample at or before `time`
/// minus the last sample at or before `time − range`, summing the rises in
/// between so that a counter reset (a drop: the process restarted and
/// counts from 0 again) adds the value after the drop.
fn increase(samples: &[Sample], time: Timestamp, range: Duration) -> Option<f64> {
    let samples = reference_and_window(samples, time, range)?;
    Some(
        samples
            .windows(2)
            .map(|pair| {
                let (previous, current) = (pair[0].value, pair[1].value);
                if current < previous {
                    current
                } else {
                    current - previous
                }
            })
            .sum(),
    )
}

/// `delta(v[range])`: like [`increase`] without counter resets (for gauges).
fn delta(samples: &[Sample], time: Timestamp, range: Duration) -> Option<f64> {
    let samples = reference_and_window(samples, time, range)?;
    Some(samples[samples.len() - 1].value - samples[0].value)
}

/// `irate` (per second, resets handled) or `idelta` over the last two
/// samples in (time − range, time], as in Prometheus.
fn instant_change(
    samples: &[Sample],
    time: Timestamp,
    range: Duration,
    per_second: bool,
) -> Option<f64> {
    let window = window(samples, time, range);
    let [.., previous, last] = window else {
        return None;
    };
    if !per_second {
        return Some(last.value - previous.value);
    }
    let change = if last.value < previous.value {
        last.value
    } else {
        last.value - previous.value
    };
    let seconds = (last.time.as_millis() - previous.time.as_millis()) as f64 / 1000.0;
    Some(change / seconds)
}

/// `histogram_quantile(q, buckets)`: buckets grouped by their labels without
/// `le` and the metric name; samples without a parseable `le` are ignored,
/// as Prometheus ignores them.
fn histogram_quantile(q: f64, elements: Vec<VectorElement>) -> Vec<VectorElement> {
    let mut groups: BTreeMap<Labels, Vec<Bucket>> = BTreeMap::new();
    for element in elements {
        let Some(upper_bound) = element
            .labels
            .get(BUCKET_LABEL)
            .and_then(|bound| bound.parse::<f64>().ok())
        else {
            continue;
        };
        let mut key = element.labels.without_metric_name();
        key.remove(BUCKET_LABEL);
        groups.entry(key).or_default().push(Bucket {
            upper_bound,
            count: element.value,
        });
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| VectorElement {
            labels,
            value: bucket_quantile(q, buckets),
        })
        .collect()
}

fn argument(call: &Call, index: usize) -> Result<&Expr, QueryError> {
    call.args.args.get(index).map(Box::as_ref).ok_or_else(|| {
        execution(format!(
            "{} needs an argument at position {}",
            call.func.name,
            index + 1
        ))
    })
}

fn matrix_argument(call: &Call, index: usize) -> Result<&MatrixSelector, QueryError> {
    let mut expr = argument(call, index)?;
    loop {
        match expr {
            Expr::MatrixSelector(selector) => return Ok(selector),
            Expr::Paren(inner) => expr = &inner.expr,
            Expr::Subquery(_) => {
                return Err(unsupported("subqueries (`expr[range:resolution]`)"));
            }
            _ => {
                return Err(execution(format!(
                    "{} needs a range vector selector such as `metric[1m]`",
                    call.func.name
                )));
            }
        }
    }
}

/// Applies `function` to every value; the result drops the metric name.
fn map_values(
    elements: Vec<VectorElement>,
    function: impl Fn(f64) -> f64,
) -> Result<Vec<VectorElement>, QueryError> {
    unique(
        elements
            .into_iter()
            .map(|element| VectorElement {
                labels: element.labels.without_metric_name(),
                value: function(element.value),
            })
            .collect(),
    )
}

/// Refuses a vector with two elements of the same labels, as Prometheus
/// does after dropping metric names (`rate({__name__=~"a|b"}[1m])` over
/// `a{x="1"}` and `b{x="1"}`).
fn unique(elements: Vec<VectorElement>) -> Result<Vec<VectorElement>, QueryError> {
    let mut seen = HashSet::with_capacity(elements.len());
    for element in &elements {
        if !seen.insert(&element.labels) {
            return Err(execution(
                "vector cannot contain metrics with the same labelset",
            ));
        }
    }
    Ok(elements)
}

/// Go's `math.Max`: NaN if either is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN if either is NaN.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn bool_value(condition: bool) -> f64 {
    if condition { 1.0 } else { 0.0 }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregation {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
}

/// What every aggregation needs from a group, gathered in one pass.
#[derive(Clone, Copy, Debug)]
struct Accumulator {
    sum: f64,
    count: usize,
    min: f64,
    max: f64,
}

impl Accumulator {
    fn new(value: f64) -> Accumulator {
        Accumulator {
            sum: value,
            count: 1,
            min: value,
            max: value,
        }
    }

    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
        // Prometheus replaces a NaN minimum or maximum by any number, so
        // NaN only wins when every value is NaN.
        if value < self.min || self.min.is_nan() {
            self.min = value;
        }
        if value > self.max || self.max.is_nan() {
            self.max = value;
        }
    }

    fn result(&self, aggregation: Aggregation) -> f64 {
        match aggregation {
            Aggregation::Sum => self.sum,
            Aggregation::Avg => self.sum / self.count as f64,
            Aggregation::Min => self.min,
            Aggregation::Max => self.max,
            Aggregation::Count => self.count as f64,
            Aggregation::Group => 1.0,
        }
    }
}

/// The binary operators weir evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Power,
    Atan2,
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    And,
    Or,
    Unless,
}

impl Operator {
    fn of(token: token::TokenType) -> Result<Operator, QueryError> {
        Ok(match token.id() {
            token::T_ADD => Operator::Add,
            token::T_SUB => Operator::Subtract,
            token::T_MUL => Operator::Multiply,
            token::T_DIV => Operator::Divide,
            token::T_MOD => Operator::Modulo,
            token::T_POW => Operator::Power,
            token::T_ATAN2 => Operator::Atan2,
            token::T_EQLC => Operator::Equal,
            token::T_NEQ => Operator::NotEqual,
            token::T_GTR => Operator::Greater,
            token::T_LSS => Operator::Less,
            token::T_GTE => Operator::GreaterOrEqual,
            token::T_LTE => Operator::LessOrEqual,
            token::T_LAND => Operator::And,
            token::T_LOR => Operator::Or,
            token::T_LUNLESS => Operator::Unless,
            _ => return Err(unsupported(format!("the binary operator \"{token}\""))),
        })
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            Operator::Equal
                | Operator::NotEqual
                | Operator::Greater
                | Operator::Less
                | Operator::GreaterOrEqual
                | Operator::LessOrEqual
        )
    }

    fn is_set(self) -> bool {
        matches!(self, Operator::And | Operator::Or | Operator::Unless)
    }

    /// The value and, for comparisons, whether the pair passes (the value
    /// of a comparison is the left operand).
    fn apply(self, left: f64, right: f64) -> Result<(f64, bool), QueryError> {
        Ok(match self {
            Operator::Add => (left + right, true),
            Operator::Subtract => (left - right, true),
            Operator::Multiply => (left * right, true),
            Operator::Divide => (left / right, true),
            // Go's math.Mod and Rust's % both take the dividend's sign.
            Operator::Modulo => (left % right, true),
            Operator::Power => (left.powf(right), true),
            Operator::Atan2 => (left.atan2(right), true),
            Operator::Equal => (left, left == right),
            Operator::NotEqual => (left, left != right),
            Operator::Greater => (left, left > right),
            Operator::Less => (left, left < right),
            Operator::GreaterOrEqual => (left, left >= right),
            Operator::LessOrEqual => (left, left <= right),
            Operator::And | Operator::Or | Operator::Unless => {
                return Err(execution("set operators apply to two instant vectors"));
            }
        })
    }
}

/// `vector op scalar` or `scalar op vector`: arithmetic drops the metric
/// name; a comparison filters (keeping the vector's value and name) or,
/// with `bool`, answers 0 or 1 without the name.
fn vector_scalar(
    operator: Operator,
    elements: Vec<VectorElement>,
    scalar: f64,
    scalar_on_the_left: bool,
    return_bool: bool,
) -> Result<Vec<VectorElement>, QueryError> {
    let mut result = Vec::with_capacity(elements.len());
    for element in elements {
        let (left, right) = if scalar_on_the_left {
            (scalar, element.value)
        } else {
            (element.value, scalar)
        };
        let (mut value, keep) = operator.apply(left, right)?;
        if operator.is_comparison() {
            if return_bool {
                value = bool_value(keep);
            } else if keep {
                value = element.value;
            } else {
                continue;
            }
        }
        let labels = if operator.is_comparison() && !return_bool {
            element.labels
        } else {
            element.labels.without_metric_name()
        };
        result.push(VectorElement { labels, value });
    }
    unique(result)
}

/// The labels two vectors' elements are matched on: `on(…)` keeps the
/// listed labels, `ignoring(…)` drops them, and the metric name never counts.
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => labels.keep_only(on.labels.iter().map(String::as_str)),
        Some(LabelModifier::Exclude(ignoring)) => {
            let mut kept = labels.clone().without_metric_name();
            for name in &ignoring.labels {
                kept.remove(name);
            }
            kept
        }
        None => labels.clone().without_metric_name(),
    }
}

/// One-to-one matching of two vectors, as Prometheus's `VectorBinop`.
fn vector_vector(
    operator: Operator,
    left: Vec<VectorElement>,
    right: Vec<VectorElement>,
    matching: Option<&LabelModifier>,
    return_bool: bool,
) -> Result<Vec<VectorElement>, QueryError> {
    let mut right_by_signature: HashMap<Labels, &VectorElement> = HashMap::new();
    for element in &right {
        let key = signature(&element.labels, matching);
        if let Some(existing) = right_by_signature.get(&key) {
            return Err(execution(format!(
                "found duplicate series for the match group {key} on the right hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                existing.labels, element.labels
            )));
        }
        right_by_signature.insert(key, element);
    }
    let mut matched = HashSet::new();
    let mut result = Vec::new();
    for element in left {
        let key = signature(&element.labels, matching);
        let Some(partner) = right_by_signature.get(&key) else {
            continue;
        };
        let (mut value, keep) = operator.apply(element.value, partner.value)?;
        if operator.is_comparison() {
            if return_bool {
                value = bool_value(keep);
            } else if !keep {
                continue;
            }
        }
        if !matched.insert(key) {
            return Err(execution(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
            ));
        }
        let mut labels = if operator.is_comparison() && !return_bool {
            element.labels
        } else {
            element.labels.without_metric_name()
        };
        match matching {
            Some(LabelModifier::Include(on)) => {
                labels = labels.keep_only(on.labels.iter().map(String::as_str));
            }
            Some(LabelModifier::Exclude(ignoring)) => {
                for name in &ignoring.labels {
                    labels.remove(name);
                }
            }
            None => {}
        }
        result.push(VectorElement { labels, value });
    }
    Ok(result)
}

/// `and`, `or` and `unless`: elements pass or not by their signature; values
/// and labels stay as they are.
fn set_operation(
    operator: Operator,
    left: Vec<VectorElement>,
    right: Vec<VectorElement>,
    matching: Option<&LabelModifier>,
) -> Vec<VectorElement> {
    let right_signatures: HashSet<Labels> = right
        .iter()
        .map(|element| signature(&element.labels, matching))
        .collect();
    match operator {
        Operator::And => left
            .into_iter()
            .filter(|element| right_signatures.contains(&signature(&element.labels, matching)))
            .collect(),
        Operator::Unless => left
            .into_iter()
            .filter(|element| !right_signatures.contains(&signature(&element.labels, matching)))
            .collect(),
        _ => {
            let left_signatures: HashSet<Labels> = left
                .iter()
                .map(|element| signature(&element.labels, matching))
                .collect();
            let mut result = left;
            result.extend(right.into_iter().filter(|element| {
                !left_signatures.contains(&signature(&element.labels, matching))
            }));
            result
        }
    }
}
