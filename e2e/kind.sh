#!/usr/bin/env bash
# Creates the kind cluster of weir's e2e tests (or reuses it), builds the
# controller image (deploy/Dockerfile) and the loadtester image
# (e2e/loadtester.Dockerfile), and loads them and the podinfo images into
# the cluster. Then run e2e/install.sh <provider>.
#
# Needs docker, kind and kubectl. WEIR_E2E_SKIP_BUILD=1 loads the images
# already built instead of building them.
set -euo pipefail

# shellcheck source=e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require docker kind kubectl

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "reusing kind cluster $CLUSTER_NAME"
else
  log "creating kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --config "$E2E_DIR/kind.yaml" \
    --image "$KIND_NODE_IMAGE" --wait 180s
fi
kubectl config use-context "$KIND_CONTEXT" >/dev/null

if [[ ${WEIR_E2E_SKIP_BUILD:-0} != 1 ]]; then
  log "building $CONTROLLER_IMAGE from deploy/Dockerfile"
  docker build --file "$REPO_ROOT/deploy/Dockerfile" --tag "$CONTROLLER_IMAGE" "$REPO_ROOT"
  log "building $LOADTESTER_IMAGE from e2e/loadtester.Dockerfile"
  docker build --file "$E2E_DIR/loadtester.Dockerfile" --tag "$LOADTESTER_IMAGE" "$REPO_ROOT"
fi

for image in "${PODINFO_IMAGES[@]}"; do
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "pulling $image"
    docker pull --quiet "$image" >/dev/null
  fi
done

log "loading the images into $CLUSTER_NAME"
kind load docker-image --name "$CLUSTER_NAME" \
  "$CONTROLLER_IMAGE" "$LOADTESTER_IMAGE" "${PODINFO_IMAGES[@]}"

log "kind cluster $CLUSTER_NAME is ready (context $KIND_CONTEXT); next: e2e/install.sh kubernetes|gatewayapi"
