//! Helpers for the golden-file tests: fixtures and the compare-or-rewrite
//! check from `weir_testkit::golden`.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use weir_api::Canary;

/// A file of Flagger's data (e.g. `test/workloads/deployment.yaml`), parsed.
/// The data is copied from Flagger's repository into `../shared/compat/flagger`
/// beside the checkout.
pub fn flagger_object<T: DeserializeOwned>(path: &str) -> T {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat/flagger")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; the compatibility corpus ../shared must sit beside the repository",
            full.display()
        )
    });
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

/// A YAML object, parsed.
pub fn object<T: DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).unwrap_or_else(|error| panic!("invalid object: {error}\n{yaml}"))
}

/// A Canary `podinfo` in `test` (with a uid, as read from the API server);
/// `spec` goes below `spec:` (two-space indent), `targetRef` included.
pub fn canary(spec: &str) -> Canary {
    object(&format!(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\n  uid: 7f3c2b1a-5d4e-4f60-9a8b-1c2d3e4f5a6b\nspec:\n{spec}"
    ))
}

pub use weir_testkit::golden::{Yaml, render, yaml};

/// Compares `actual` with this crate's `tests/golden/<name>.yaml`.
pub fn check(name: &str, actual: &str) {
    weir_testkit::golden::check(
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_PKG_NAME"),
        name,
        actual,
    );
}
