#!/usr/bin/env bash
# Prints what is needed to understand a failed e2e run: every Canary, the
# events, the pods, the Gateway API objects, and the logs of the controller
# and the loadtester. CI runs it when a step fails; it never fails itself,
# so that one missing piece does not hide the others.
set -euo pipefail

# shellcheck source=e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kubectl

# Runs a command under a heading, reporting instead of stopping on failure.
section() {
  local title=$1
  shift
  printf '\n===== %s =====\n' "$title"
  "$@" 2>&1 || printf '(failed: %s)\n' "$*"
}

has_resource() {
  kubectl api-resources --no-headers 2>/dev/null | awk '{ print $1 }' | grep -qx "$1"
}

marker() {
  kubectl -n "$MARKER_NAMESPACE" get configmap "$MARKER_NAME" -o "jsonpath={.data.$1}" 2>/dev/null || true
}

section "context" kubectl config current-context
section "install marker" kubectl -n "$MARKER_NAMESPACE" get configmap "$MARKER_NAME" -o yaml
section "nodes" kubectl get nodes -o wide
section "pods" kubectl get pods --all-namespaces -o wide
section "canaries" kubectl get canaries --all-namespaces -o wide
section "canaries (yaml)" kubectl get canaries --all-namespaces -o yaml
section "deployments" kubectl get deployments --all-namespaces -o wide
section "services" kubectl get services --all-namespaces -o wide
section "events (oldest first)" kubectl get events --all-namespaces --sort-by=.metadata.creationTimestamp
if has_resource httproutes; then
  section "gateways" kubectl get gateways --all-namespaces -o yaml
  section "httproutes" kubectl get httproutes --all-namespaces -o yaml
fi

controller_namespace=$(marker controllerNamespace)
controller_deployment=$(marker controllerDeployment)
if [[ -n $controller_namespace && -n $controller_deployment ]]; then
  section "controller log" kubectl -n "$controller_namespace" logs "deployment/$controller_deployment" --all-containers --tail=-1
  section "controller log (previous container)" kubectl -n "$controller_namespace" logs "deployment/$controller_deployment" --all-containers --previous --tail=200
else
  printf '\n(no install marker: the controller was not recorded, so its log is not shown)\n'
fi
section "loadtester log" kubectl -n test logs deployment/flagger-loadtester --tail=500
if kubectl get namespace istio-system >/dev/null 2>&1; then
  section "istiod log" kubectl -n istio-system logs deployment/istiod --tail=200
fi
