//! Helpers shared by the golden-file tests of every router.

#![allow(dead_code, unreachable_pub)]

use weir_api::Canary;
use weir_routers::Routes;

/// A Canary `podinfo` in `test`, with `spec` below `spec:` (two-space indent)
/// and `status` below `status:`.
pub fn canary(spec: &str, status: &str) -> Canary {
    let yaml = format!(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: podinfo\n{spec}status:\n{status}"
    );
    serde_saphyr::from_str(&yaml).unwrap_or_else(|error| panic!("invalid canary: {error}\n{yaml}"))
}

pub fn routes(primary: i32, canary: i32, mirrored: bool) -> Routes {
    Routes {
        primary,
        canary,
        mirrored,
    }
}

pub use weir_testkit::golden::{render, yaml};

/// Compares `actual` with this crate's `tests/golden/<name>.yaml`.
pub fn check(name: &str, actual: &str) {
    weir_testkit::golden::check(
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_PKG_NAME"),
        name,
        actual,
    );
}
