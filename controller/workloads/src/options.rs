//! The controller flags that shape generated objects: `-selector-labels`,
//! `-include-label-prefix` and `-enable-config-tracking`.

use std::collections::BTreeMap;

use crate::error::WorkloadError;
use crate::metadata::without_toolkit_keys;

/// Flagger's default `-selector-labels`, in order of preference.
pub const DEFAULT_SELECTOR_LABELS: [&str; 3] = ["app", "name", "app.kubernetes.io/name"];

/// The include prefix that copies every label and annotation.
pub const INCLUDE_ALL: &str = "*";

/// How generated objects are derived, from the controller's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Candidate pod selector labels; the first present in the target's
    /// `spec.selector.matchLabels` is the selector label.
    pub selector_labels: Vec<String>,
    /// Prefixes of target labels and annotations copied to primary objects
    /// (`*` copies all). Empty copies none.
    pub include_label_prefixes: Vec<String>,
    /// Whether referenced ConfigMaps and Secrets are tracked and copied.
    /// When false the caller uses `TrackedConfigs::none()` for the primary
    /// (which then shares the target's configs) and passes no tracked
    /// configs to the revision, as Flagger's `NopTracker` does.
    pub config_tracking: bool,
}

impl Default for Options {
    /// Flagger's defaults: `app,name,app.kubernetes.io/name`, no prefixes,
    /// config tracking on.
    fn default() -> Options {
        Options {
            selector_labels: DEFAULT_SELECTOR_LABELS.map(str::to_owned).to_vec(),
            include_label_prefixes: Vec::new(),
            config_tracking: true,
        }
    }
}

/// The label that tells a workload's pods apart, e.g. `app: podinfo`.
/// The primary's pods carry `app: podinfo-primary`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorLabel {
    pub key: String,
    /// The target's value; the primary's is [`SelectorLabel::primary_value`].
    pub value: String,
}

impl SelectorLabel {
    /// `<value>-primary`.
    pub fn primary_value(&self) -> String {
        format!("{}-primary", self.value)
    }
}

impl Options {
    /// Options from the flag values as Flagger spells them: comma lists,
    /// blanks around entries ignored, empty entries dropped (an empty
    /// `-include-label-prefix` copies nothing, as since Flagger 1.30).
    pub fn from_flags(
        selector_labels: &str,
        include_label_prefix: &str,
        enable_config_tracking: bool,
    ) -> Result<Options, WorkloadError> {
        let selector_labels = comma_list(selector_labels);
        if selector_labels.is_empty() {
            return Err(WorkloadError::NoSelectorLabels);
        }
        Ok(Options {
            selector_labels,
            include_label_prefixes: comma_list(include_label_prefix),
            config_tracking: enable_config_tracking,
        })
    }

    /// The first selector label present in `match_labels` (Flagger's
    /// `getSelectorLabel`). `kind` (`deployment`, `daemonset`), `name` and
    /// `namespace` only name the workload in the error.
    pub fn selector_label(
        &self,
        match_labels: Option<&BTreeMap<String, String>>,
        kind: &'static str,
        name: &str,
        namespace: &str,
    ) -> Result<SelectorLabel, WorkloadError> {
        let found = match_labels.and_then(|labels| {
            self.selector_labels
                .iter()
                .find_map(|key| labels.get(key).map(|value| (key, value)))
        });
        match found {
            Some((key, value)) => Ok(SelectorLabel {
                key: key.clone(),
                value: value.clone(),
            }),
            None => Err(WorkloadError::MissingSelectorLabel {
                kind,
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                candidates: self.selector_labels.clone(),
            }),
        }
    }

    /// The entries whose key starts with an include prefix (all with `*`;
    /// an empty prefix matches nothing), never Flux's `*toolkit.fluxcd.io*`
    /// keys (Flagger's `includeLabelsByPrefix`).
    pub fn include_by_prefix(
        &self,
        entries: Option<&BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        let included = |key: &str| {
            self.include_label_prefixes.iter().any(|prefix| {
                prefix == INCLUDE_ALL || (!prefix.is_empty() && key.starts_with(prefix.as_str()))
            })
        };
        without_toolkit_keys(entries)
            .into_iter()
            .filter(|(key, _)| included(key))
            .collect()
    }
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn the_first_selector_label_in_flag_order_wins() {
        let options = Options::default();
        let match_labels = labels(&[("app.kubernetes.io/name", "web"), ("name", "podinfo")]);
        let label = options
            .selector_label(Some(&match_labels), "deployment", "podinfo", "test")
            .expect("name is a default selector label");
        assert_eq!(
            label,
            SelectorLabel {
                key: "name".into(),
                value: "podinfo".into()
            }
        );
        assert_eq!(label.primary_value(), "podinfo-primary");
    }

    #[test]
    fn a_selector_without_any_selector_label_is_an_error_naming_the_candidates() {
        let options = Options::default();
        let error = options
            .selector_label(
                Some(&labels(&[("tier", "web")])),
                "deployment",
                "podinfo",
                "test",
            )
            .expect_err("tier is not a selector label");
        assert_eq!(
            error.to_string(),
            "deployment podinfo.test spec.selector.matchLabels must contain one of [app name app.kubernetes.io/name]"
        );
        assert!(
            options
                .selector_label(None, "daemonset", "agent", "test")
                .is_err(),
            "no matchLabels at all"
        );
    }

    #[test]
    fn custom_selector_labels_come_from_the_flag() {
        let options = Options::from_flags(" my-app , ,app", "", true).expect("valid flags");
        assert_eq!(options.selector_labels, ["my-app", "app"]);
        let label = options
            .selector_label(
                Some(&labels(&[("app", "a"), ("my-app", "b")])),
                "deployment",
                "x",
                "y",
            )
            .expect("my-app present");
        assert_eq!(label.key, "my-app");
        assert_eq!(
            Options::from_flags(" , ", "", true),
            Err(WorkloadError::NoSelectorLabels)
        );
    }

    #[test]
    fn include_prefixes_copy_matching_keys_and_never_flux_keys() {
        let options = Options::from_flags("app", "app.kubernetes.io,team", false).expect("valid");
        let target = labels(&[
            ("app.kubernetes.io/managed-by", "test-label-prefix"),
            ("team/owner", "payments"),
            ("tier", "web"),
            ("kustomize.toolkit.fluxcd.io/name", "apps"),
        ]);
        assert_eq!(
            options.include_by_prefix(Some(&target)),
            labels(&[
                ("app.kubernetes.io/managed-by", "test-label-prefix"),
                ("team/owner", "payments"),
            ])
        );
    }

    #[test]
    fn no_include_prefix_copies_nothing_and_star_copies_everything_but_flux_keys() {
        let target = labels(&[("tier", "web"), ("helm.toolkit.fluxcd.io/name", "x")]);
        let none = Options::from_flags("app", "", true).expect("valid");
        assert!(none.include_by_prefix(Some(&target)).is_empty());
        let all = Options::from_flags("app", "*", true).expect("valid");
        assert_eq!(
            all.include_by_prefix(Some(&target)),
            labels(&[("tier", "web")])
        );
    }
}
