# shellcheck shell=bash
# Sourced by the e2e scripts: the names and versions they share, and small
# helpers. Each variable can be overridden from the environment.
#
# Variables are used by the scripts that source this file, which shellcheck
# cannot see when it checks this file alone.
# shellcheck disable=SC2034

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_DIR="$REPO_ROOT/e2e"
# Generated files and downloads; ignored by git (e2e/.gitignore) and by the
# image builds (*.dockerignore).
WORK_DIR="$E2E_DIR/.work"

CLUSTER_NAME=${WEIR_E2E_CLUSTER:-weir-e2e}
KIND_CONTEXT="kind-$CLUSTER_NAME"
# kind v0.29's default node: Kubernetes 1.33, the API version weir is built
# against (k8s-openapi feature v1_33).
KIND_NODE_IMAGE=${WEIR_E2E_NODE_IMAGE:-kindest/node:v1.33.1}

# Tags that are not `latest`, so that Kubernetes uses the images kind
# loaded (imagePullPolicy defaults to IfNotPresent) instead of pulling.
CONTROLLER_IMAGE=weir/controller:e2e
LOADTESTER_IMAGE=weir/loadtester:e2e
# The controller image deploy/kustomize/base names; install.sh swaps it for
# CONTROLLER_IMAGE.
UPSTREAM_CONTROLLER_IMAGE=${WEIR_E2E_UPSTREAM_IMAGE:-ghcr.io/weir-dev/weir-controller}

# Every podinfo version the tests deploy (weir_e2e::INITIAL_VERSION and the
# versions the scenarios release), loaded into kind up front so that no
# rollout waits on a registry.
PODINFO_IMAGES=(
  ghcr.io/stefanprodan/podinfo:6.0.0
  ghcr.io/stefanprodan/podinfo:6.0.1
  ghcr.io/stefanprodan/podinfo:6.0.2
  ghcr.io/stefanprodan/podinfo:6.0.3
)

# The Gateway API implementation of the gatewayapi tests, as Flagger's
# test/gatewayapi uses it: Istio's, on the standard-channel CRDs.
GATEWAY_API_VERSION=${WEIR_E2E_GATEWAY_API_VERSION:-v1.3.0}
ISTIO_VERSION=${WEIR_E2E_ISTIO_VERSION:-1.26.2}

# The ConfigMap install.sh writes once everything is ready; the Rust tests
# read it (weir_e2e::cluster::INSTALL_MARKER_*).
MARKER_NAMESPACE=default
MARKER_NAME=weir-e2e

log() {
  printf '>>> %s\n' "$*" >&2
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Fails unless every named command is on PATH.
require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$tool is not installed; e2e/README.md lists what the e2e tests need"
  done
}

# Fails unless kubectl points at a kind cluster: these scripts install
# cluster-wide objects and must never touch anything else.
require_kind_context() {
  local context
  context=$(kubectl config current-context 2>/dev/null || true)
  [[ $context == kind-* ]] ||
    die "the current kubectl context is '${context:-(none)}', not a kind cluster's: run e2e/kind.sh first"
}

# Waits until `kubectl get "$@"` finds the object: `kubectl wait` fails at
# once on an object that does not exist yet.
wait_for_object() {
  local attempt
  for attempt in $(seq 1 60); do
    if kubectl get "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 2
  done
  die "$* did not appear within $((attempt * 2))s"
}
