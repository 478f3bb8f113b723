//! MetricTemplate queries: the Go `text/template` actions Flagger users
//! write, rendered exactly, and everything else refused with a reason.
//!
//! Flagger executes a template's query with functions, not data, and
//! `missingkey=error`:
//!
//! ```text
//!   {{ name }}        the Canary's name          {{ service }}  service.name, or the target
//!   {{ namespace }}   its namespace              {{ ingress }}  ingressRef.name, or the target
//!   {{ target }}      targetRef.name             {{ route }}    routeRef.name, or the target
//!   {{ interval }}    the metric's interval      {{ variables.key }}  templateVariables[key]
//! ```
//!
//! Trim markers (`{{- name -}}`) and comments (`{{/* why */}}`) work as in
//! Go. A key missing from `templateVariables` is an error naming it, as
//! `missingkey=error` makes it in Flagger: a silently broken query would
//! read as "no data" and fail checks for the wrong reason. Pipelines,
//! conditionals and `.field` data access are refused with a clear error
//! rather than rendered differently from Go.
//!
//! One difference from Flagger: the caller passes the metric's interval
//! with the `1m` default applied, which Flagger forgets for template
//! metrics (semantics §18 #8), rendering `[]` into PromQL.

use std::collections::BTreeMap;

use weir_api::{Canary, CanaryMetric};

/// What a query can refer to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryModel {
    pub name: String,
    pub namespace: String,
    pub target: String,
    pub service: String,
    pub ingress: String,
    pub route: String,
    pub interval: String,
    pub variables: BTreeMap<String, String>,
}

impl QueryModel {
    /// Flagger's `toMetricModel`: what `metric` of `canary` may refer to.
    /// A missing service, ingress or route name falls back to the target's.
    pub fn for_metric(canary: &Canary, metric: &CanaryMetric) -> QueryModel {
        let spec = &canary.spec;
        let target = spec.target_ref.name.clone();
        let or_target = |name: Option<&String>| {
            name.filter(|name| !name.is_empty())
                .cloned()
                .unwrap_or_else(|| target.clone())
        };
        QueryModel {
            name: canary.name().to_owned(),
            namespace: canary.namespace().to_owned(),
            service: or_target(spec.service.name.as_ref()),
            ingress: or_target(spec.ingress_ref.as_ref().map(|reference| &reference.name)),
            route: or_target(spec.route_ref.as_ref().map(|reference| &reference.name)),
            interval: metric.interval_or_default().to_owned(),
            variables: metric.template_variables.clone(),
            target,
        }
    }
}

/// The functions a query may call, in the order errors list them.
const FUNCTIONS: [&str; 8] = [
    "name",
    "namespace",
    "target",
    "service",
    "ingress",
    "route",
    "interval",
    "variables",
];

/// Why a query cannot be rendered. Positions are 1-based line and column
/// within the query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("line {line}, column {column}: `{{{{` is never closed; close the action with `}}}}`")]
    Unclosed { line: usize, column: usize },
    #[error("line {line}, column {column}: `{action}` is not a function of Flagger's query templates{}; use one of {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), FUNCTIONS.join(", "))]
    UnknownFunction {
        line: usize,
        column: usize,
        action: String,
        suggestion: Option<String>,
    },
    #[error("line {line}, column {column}: templateVariables has no `{key}` (map has no entry for key \"{key}\"); {}", if known.is_empty() { "the metric sets no templateVariables".to_owned() } else { format!("it sets {}", known.join(", ")) })]
    MissingVariable {
        line: usize,
        column: usize,
        key: String,
        known: Vec<String>,
    },
    #[error("line {line}, column {column}: `{{{{ {action} }}}}`: {reason}")]
    Unsupported {
        line: usize,
        column: usize,
        action: String,
        reason: String,
    },
}

/// Renders `query` for `model`.
pub fn render(query: &str, model: &QueryModel) -> Result<String, TemplateError> {
    let mut output = String::with_capacity(query.len());
    let mut rest = query;
    // Whether the previous action ended with `-}}`: the text after it
    // loses its leading whitespace.
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after_open = &rest[open + 2..];
        // `{{-` trims only when followed by a space, as in Go (`{{-3}}` is
        // the number -3).
        let trim_before = after_open.starts_with("- ")
            || after_open.starts_with("-\t")
            || after_open.starts_with("-\n");
        if trim_before {
            text = text.trim_end();
        }
        output.push_str(text);
        let offset = query.len() - after_open.len() - 2;
        let (line, column) = position(query, offset);
        let Some(close) = after_open.find("}}") else {
            return Err(TemplateError::Unclosed { line, column });
        };
        let mut action = &after_open[..close];
        if trim_before {
            action = &action[1..];
        }
        trim_next = action.ends_with(" -") || action.ends_with("\t-") || action.ends_with("\n-");
        if trim_next {
            action = &action[..action.len() - 1];
        }
        output.push_str(&evaluate(action.trim(), model, line, column)?);
        rest = &after_open[close + 2..];
    }
    output.push_str(if trim_next { rest.trim_start() } else { rest });
    Ok(output)
}

fn evaluate(
    action: &str,
    model: &QueryModel,
    line: usize,
    column: usize,
) -> Result<String, TemplateError> {
    if action.starts_with("/*") && action.ends_with("*/") {
        return Ok(String::new());
    }
    let unsupported = |reason: &str| TemplateError::Unsupported {
        line,
        column,
        action: action.to_owned(),
        reason: reason.to_owned(),
    };
    if action.is_empty() {
        return Err(unsupported(
            "an empty action; write a function such as `{{ namespace }}`",
        ));
    }
    if let Some(field) = action.strip_prefix('.') {
        let hint = if FUNCTIONS.contains(&field) {
            format!("Flagger's templates have functions, not data: write `{{{{ {field} }}}}`")
        } else {
            "Flagger's templates have functions, not data".to_owned()
        };
        return Err(unsupported(&hint));
    }
    if action.contains(|c: char| c.is_whitespace() || c == '|' || c == '(' || c == '"') {
        return Err(unsupported(
            "weir renders single functions and `variables.key`, not pipelines, arguments or control structures; compute the value in the query language instead",
        ));
    }
    let (function, key) = match action.split_once('.') {
        Some((function, key)) => (function, Some(key)),
        None => (action, None),
    };
    let value = match (function, key) {
        ("name", None) => &model.name,
        ("namespace", None) => &model.namespace,
        ("target", None) => &model.target,
        ("service", None) => &model.service,
        ("ingress", None) => &model.ingress,
        ("route", None) => &model.route,
        ("interval", None) => &model.interval,
        ("variables", Some(key)) => {
            if key.is_empty() || key.contains('.') {
                return Err(unsupported("write `variables.<key>` with one key"));
            }
            return model.variables.get(key).cloned().ok_or_else(|| {
                TemplateError::MissingVariable {
                    line,
                    column,
                    key: key.to_owned(),
                    known: model.variables.keys().cloned().collect(),
                }
            });
        }
        ("variables", None) => {
            return Err(unsupported("`variables` is a map: write `variables.<key>`"));
        }
        (function, Some(_)) if FUNCTIONS.contains(&function) => {
            return Err(unsupported(&format!(
                "`{function}` is a string and has no fields"
            )));
        }
        (function, _) => {
            return Err(TemplateError::UnknownFunction {
                line,
                column,
                action: function.to_owned(),
                suggestion: closest(function),
            });
        }
    };
    Ok(value.clone())
}

/// The known function closest to a misspelt one.
fn closest(function: &str) -> Option<String> {
    weir_validate::suggest::closest(function, FUNCTIONS).map(str::to_owned)
}

/// 1-based line and column of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |newline| {
            before[newline + 1..].chars().count()
        })
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> QueryModel {
        QueryModel {
            name: "podinfo".into(),
            namespace: "test".into(),
            target: "podinfo".into(),
            service: "podinfo-svc".into(),
            ingress: "podinfo-ingress".into(),
            route: "podinfo-route".into(),
            interval: "1m".into(),
            variables: BTreeMap::from([("reporter".into(), "destination".into())]),
        }
    }

    #[test]
    fn flaggers_documented_istio_template_renders_as_in_go() {
        let query = r#"100 - sum(
    rate(
        istio_requests_total{
          reporter="{{ variables.reporter }}",
          destination_workload_namespace="{{ namespace }}",
          destination_workload="{{ target }}",
          response_code!~"5.*"
        }[{{ interval }}]
    )
)"#;
        let rendered = render(query, &model()).expect("renders");
        assert!(rendered.contains(r#"reporter="destination","#));
        assert!(rendered.contains(r#"destination_workload_namespace="test","#));
        assert!(rendered.contains("}[1m]"));
        assert!(!rendered.contains("{{"));
    }

    #[test]
    fn every_function_renders_its_field_with_or_without_spaces() {
        let rendered = render(
            "{{name}} {{ namespace }} {{target}} {{ service }} {{ingress}} {{ route }} {{interval}}",
            &model(),
        )
        .expect("renders");
        assert_eq!(
            rendered,
            "podinfo test podinfo podinfo-svc podinfo-ingress podinfo-route 1m"
        );
    }

    #[test]
    fn trim_markers_and_comments_behave_as_in_go() {
        let rendered = render("a  {{- name -}}  b {{/* why */}}c", &model()).expect("renders");
        assert_eq!(rendered, "apodinfob c");
        assert_eq!(
            render("x {{- /* gone */ -}} y", &model()).expect("renders"),
            "xy"
        );
    }

    #[test]
    fn a_missing_template_variable_is_an_error_naming_it_and_the_known_ones() {
        let error = render("x\n  {{ variables.cluster }}", &model()).expect_err("missing key");
        assert_eq!(
            error,
            TemplateError::MissingVariable {
                line: 2,
                column: 3,
                key: "cluster".into(),
                known: vec!["reporter".into()],
            }
        );
        assert!(
            error
                .to_string()
                .contains("templateVariables has no `cluster`"),
            "{error}"
        );
        assert!(error.to_string().contains("it sets reporter"), "{error}");
    }

    #[test]
    fn a_misspelt_function_is_named_with_the_right_spelling() {
        let error = render("{{ namespce }}", &model()).expect_err("unknown");
        assert!(
            error.to_string().contains("did you mean `namespace`?"),
            "{error}"
        );
        let error = render("{{ bogus }}", &model()).expect_err("unknown");
        assert!(!error.to_string().contains("did you mean"), "{error}");
    }

    #[test]
    fn data_access_pipelines_and_unclosed_actions_are_refused_with_a_reason() {
        let error = render("{{ .namespace }}", &model()).expect_err("data");
        assert!(
            error.to_string().contains("write `{{ namespace }}`"),
            "{error}"
        );
        let error = render(r#"{{ name | printf "%q" }}"#, &model()).expect_err("pipeline");
        assert!(error.to_string().contains("not pipelines"), "{error}");
        let error = render("sum(x[{{ interval ]", &model()).expect_err("unclosed");
        assert_eq!(error, TemplateError::Unclosed { line: 1, column: 7 });
        assert!(render("{{ variables }}", &model()).is_err());
        assert!(render("{{ name.first }}", &model()).is_err());
    }

    #[test]
    fn the_model_falls_back_to_the_target_and_defaults_the_interval() {
        let text = include_str!("../../../scenarios/canaries/podinfo.yaml");
        let canary: Canary = serde_saphyr::from_str(text).expect("the podinfo Canary");
        let mut metric = canary.spec.analysis().metrics[0].clone();
        metric.interval = None;
        let model = QueryModel::for_metric(&canary, &metric);
        assert_eq!(
            (
                model.name.as_str(),
                model.namespace.as_str(),
                model.target.as_str()
            ),
            ("podinfo", "test", "podinfo")
        );
        assert_eq!(
            (
                model.service.as_str(),
                model.ingress.as_str(),
                model.route.as_str()
            ),
            ("podinfo", "podinfo", "podinfo")
        );
        assert_eq!(
            model.interval, "1m",
            "Flagger leaves it empty; weir defaults it"
        );
    }

    #[test]
    fn text_without_actions_is_unchanged() {
        let query = "sum(rate(http_requests_total[5m])) } {";
        assert_eq!(render(query, &model()).expect("renders"), query);
    }
}
