//! The controller's flags: Flagger's, spelled as Flagger spells them, so
//! that its Deployment and Helm values work unchanged.
//!
//! Every flag accepts Go's spellings (`-mesh-provider=linkerd`,
//! `-mesh-provider linkerd`, `--mesh-provider linkerd`; see
//! `weir_goflags`), and the environment variables Flagger reads win over
//! their flags when set (`SLACK_URL`, `MSTEAMS_URL`, `EVENT_WEBHOOK_URL`,
//! ...), as Flagger's `fromEnv` does.

use std::time::Duration;

use clap::{CommandFactory, Parser};
use weir_api::Provider;

/// Flagger's flags (cmd/flagger/main.go), with its defaults.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "weir-controller",
    version,
    about = "Progressive delivery for Kubernetes: a drop-in replacement for Flagger's controller",
    // Go's flag package lets the last of a repeated flag win; Flagger's
    // manifests rely on it (`-log-level` in the base, again in overlays).
    args_override_self = true
)]
pub struct Flags {
    /// Path to a kubeconfig. Only required if out-of-cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig: String,

    /// The address of the Kubernetes API server. Overrides any value in
    /// kubeconfig. Only required if out-of-cluster.
    #[arg(long, default_value = "")]
    pub master: String,

    /// Path to a kubeconfig for the service mesh control plane cluster:
    /// routing objects are written there (without owner references).
    #[arg(long, default_value = "")]
    pub kubeconfig_service_mesh: String,

    /// Requests per second to the Kubernetes API. Accepted for
    /// compatibility and not applied: weir's client does not throttle
    /// itself, the API server's priority and fairness does.
    #[arg(long, default_value_t = 100.0)]
    pub kubeconfig_qps: f32,

    /// Burst of requests to the Kubernetes API. Accepted for compatibility
    /// and not applied (see -kubeconfig-qps).
    #[arg(long, default_value_t = 250)]
    pub kubeconfig_burst: u32,

    /// Prometheus URL, for builtin metrics and inline queries.
    #[arg(long, default_value = weir_metrics::DEFAULT_METRICS_SERVER)]
    pub metrics_server: String,

    /// Kubernetes API sync interval (a Go duration).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub control_loop_interval: Duration,

    /// Log level: debug, info, warning, error.
    #[arg(long, default_value = "debug")]
    pub log_level: String,

    /// Port to listen on for /metrics and /healthz.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Slack hook URL (env SLACK_URL wins).
    #[arg(long, default_value = "")]
    pub slack_url: String,

    /// Slack bot token (env SLACK_TOKEN wins).
    #[arg(long, default_value = "")]
    pub slack_token: String,

    /// Slack proxy URL (env SLACK_PROXY_URL wins).
    #[arg(long, default_value = "")]
    pub slack_proxy_url: String,

    /// Slack user name.
    #[arg(long, default_value = "flagger")]
    pub slack_user: String,

    /// Slack channel.
    #[arg(long, default_value = "")]
    pub slack_channel: String,

    /// Microsoft Teams incoming webhook URL (env MSTEAMS_URL wins); wins
    /// over Slack.
    #[arg(long, default_value = "")]
    pub msteams_url: String,

    /// Microsoft Teams proxy URL (env MSTEAMS_PROXY_URL wins).
    #[arg(long, default_value = "")]
    pub msteams_proxy_url: String,

    /// Webhook for publishing events (env EVENT_WEBHOOK_URL wins).
    #[arg(long, default_value = "")]
    pub event_webhook: String,

    /// Worker concurrency: how many Canaries tick at once.
    #[arg(long, default_value_t = 2)]
    pub threadiness: usize,

    /// Accepted for compatibility; weir logs through `tracing`.
    #[arg(long, num_args = 0..=1, default_value = "false", default_missing_value = "true", value_parser = weir_goflags::bool_value)]
    pub zap_replace_globals: bool,

    /// Log encoding: json or console.
    #[arg(long, default_value = "json")]
    pub zap_encoding: String,

    /// Namespace that weir watches Canaries in (all namespaces if empty).
    #[arg(long, default_value = "")]
    pub namespace: String,

    /// Service mesh or ingress provider of Canaries without
    /// `spec.provider`.
    #[arg(long, default_value = "istio", value_parser = parse_provider)]
    pub mesh_provider: Provider,

    /// Pod labels weir may use to create pod selectors, first present wins.
    #[arg(long, default_value = "app,name,app.kubernetes.io/name")]
    pub selector_labels: String,

    /// Label and annotation prefixes copied from the target to the primary
    /// objects (comma-separated; `*` copies all).
    #[arg(long, default_value = "")]
    pub include_label_prefix: String,

    /// Annotations prefix for NGINX ingresses.
    #[arg(long, default_value = "nginx.ingress.kubernetes.io")]
    pub ingress_annotations_prefix: String,

    /// Ingress class of Contour HTTPProxies.
    #[arg(long, default_value = "")]
    pub ingress_class: String,

    /// Enable leader election (a Lease named `flagger-leader-election`).
    #[arg(long, num_args = 0..=1, default_value = "false", default_missing_value = "true", value_parser = weir_goflags::bool_value)]
    pub enable_leader_election: bool,

    /// Namespace of the leader election Lease (`-namespace` wins when set).
    #[arg(long, default_value = "kube-system")]
    pub leader_election_namespace: String,

    /// Track ConfigMaps and Secrets the target mounts: a change starts an
    /// analysis, and the primary gets copies.
    #[arg(long, num_args = 0..=1, default_value = "true", default_missing_value = "true", value_parser = weir_goflags::bool_value)]
    pub enable_config_tracking: bool,

    /// Cluster name, added to alerts.
    #[arg(long, default_value = "")]
    pub cluster_name: String,

    /// Refuse MetricTemplates, AlertProviders and upstreams in other
    /// namespaces than the Canary's.
    #[arg(long, num_args = 0..=1, default_value = "false", default_missing_value = "true", value_parser = weir_goflags::bool_value)]
    pub no_cross_namespace_refs: bool,
}

impl Flags {
    /// Parses `args` (the program name first), Go spellings included.
    pub fn parse_go<I, T>(args: I) -> Result<Flags, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        Flags::try_parse_from(weir_goflags::normalize(&Flags::command(), args))
    }

    /// The flags with Flagger's environment variables applied: a
    /// non-empty variable replaces its flag.
    pub fn with_environment(self, lookup: impl Fn(&str) -> Option<String>) -> Flags {
        let pick = |variable: &str, flag: String| {
            lookup(variable)
                .filter(|value| !value.is_empty())
                .unwrap_or(flag)
        };
        Flags {
            slack_url: pick("SLACK_URL", self.slack_url.clone()),
            slack_token: pick("SLACK_TOKEN", self.slack_token.clone()),
            slack_proxy_url: pick("SLACK_PROXY_URL", self.slack_proxy_url.clone()),
            msteams_url: pick("MSTEAMS_URL", self.msteams_url.clone()),
            msteams_proxy_url: pick("MSTEAMS_PROXY_URL", self.msteams_proxy_url.clone()),
            event_webhook: pick("EVENT_WEBHOOK_URL", self.event_webhook.clone()),
            ..self
        }
    }

    /// `-selector-labels` as a list.
    pub fn selector_labels(&self) -> Vec<String> {
        split_list(&self.selector_labels)
    }

    /// `-include-label-prefix` as a list.
    pub fn include_label_prefixes(&self) -> Vec<String> {
        split_list(&self.include_label_prefix)
    }

    /// The namespace to watch, if restricted.
    pub fn watched_namespace(&self) -> Option<&str> {
        Some(self.namespace.as_str()).filter(|namespace| !namespace.is_empty())
    }

    /// Where the leader election Lease lives.
    pub fn lease_namespace(&self) -> &str {
        self.watched_namespace()
            .unwrap_or(&self.leader_election_namespace)
    }

    /// The global notifier's configuration.
    pub fn notifier(&self) -> weir_alerts::GlobalNotifierConfig {
        let some = |value: &str| Some(value.to_owned()).filter(|value| !value.is_empty());
        weir_alerts::GlobalNotifierConfig {
            slack_url: some(&self.slack_url),
            slack_token: some(&self.slack_token),
            slack_proxy_url: some(&self.slack_proxy_url),
            slack_user: self.slack_user.clone(),
            slack_channel: some(&self.slack_channel),
            msteams_url: some(&self.msteams_url),
            msteams_proxy_url: some(&self.msteams_proxy_url),
        }
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    weir_api::duration::parse_go_duration(text).map_err(|error| error.to_string())
}

fn parse_provider(text: &str) -> Result<Provider, String> {
    text.parse::<Provider>().map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Flags {
        Flags::parse_go(std::iter::once("weir-controller").chain(args.iter().copied()))
            .expect("valid flags")
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value_as_in_go() {
        let flags = parse(&[
            "-log-level=info",
            "-mesh-provider=istio",
            "-log-level",
            "debug",
        ]);
        assert_eq!(flags.log_level, "debug");
        let flags = parse(&["-enable-leader-election", "-enable-leader-election=false"]);
        assert!(!flags.enable_leader_election);
    }

    #[test]
    fn defaults_are_flaggers() {
        let flags = parse(&[]);
        assert_eq!(flags.metrics_server, "http://prometheus:9090");
        assert_eq!(flags.control_loop_interval, Duration::from_secs(10));
        assert_eq!(flags.mesh_provider, Provider::Istio);
        assert_eq!(flags.port, 8080);
        assert_eq!(flags.threadiness, 2);
        assert!(flags.enable_config_tracking);
        assert!(!flags.enable_leader_election);
        assert_eq!(
            flags.selector_labels(),
            ["app", "name", "app.kubernetes.io/name"]
        );
        assert_eq!(flags.lease_namespace(), "kube-system");
    }

    #[test]
    fn the_flags_of_flaggers_deployment_parse() {
        // The args of Flagger's kustomize/base/flagger/deployment.yaml
        // and its Helm chart, as they are written there.
        let flags = parse(&[
            "-log-level=info",
            "-mesh-provider=linkerd",
            "-metrics-server=http://prometheus.linkerd:9090",
            "-include-label-prefix=app.kubernetes.io,team",
            "-enable-leader-election=true",
            "-leader-election-namespace=flagger-system",
            "-enable-config-tracking=false",
            "-namespace",
            "apps",
            "-slack-url=https://hooks.slack.com/x",
            "-slack-channel=alerts",
            "-cluster-name=prod",
        ]);
        assert_eq!(flags.mesh_provider, Provider::Linkerd);
        assert_eq!(
            flags.include_label_prefixes(),
            ["app.kubernetes.io", "team"]
        );
        assert!(flags.enable_leader_election);
        assert!(!flags.enable_config_tracking);
        assert_eq!(flags.lease_namespace(), "apps");
        assert_eq!(flags.notifier().slack_channel.as_deref(), Some("alerts"));
    }

    #[test]
    fn environment_variables_win_over_their_flags_when_set() {
        let flags = parse(&["-slack-url=https://flag", "-event-webhook=https://flag"])
            .with_environment(|name| match name {
                "SLACK_URL" => Some("https://env".to_owned()),
                "EVENT_WEBHOOK_URL" => Some(String::new()),
                _ => None,
            });
        assert_eq!(flags.slack_url, "https://env");
        assert_eq!(
            flags.event_webhook, "https://flag",
            "an empty variable does not count"
        );
    }

    #[test]
    fn an_unknown_provider_is_refused_with_the_known_ones() {
        let error = Flags::parse_go(["weir-controller", "-mesh-provider=istoi"])
            .expect_err("unknown provider");
        let text = error.to_string();
        assert!(text.contains("istoi") && text.contains("linkerd"), "{text}");
    }
}
