#!/usr/bin/env bash
# Deletes the kind cluster of weir's e2e tests, and the overlay install.sh
# generated. The downloaded istioctl stays in e2e/.work for the next run.
set -euo pipefail

# shellcheck source=e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kind

log "deleting kind cluster $CLUSTER_NAME"
kind delete cluster --name "$CLUSTER_NAME"
rm -rf "$WORK_DIR/overlay" "$WORK_DIR/controller.yaml"
