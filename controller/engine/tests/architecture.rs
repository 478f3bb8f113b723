//! The engine must stay free of I/O: no Kubernetes client, no HTTP client,
//! no async runtime or timers. This test reads the dependency graph.

use std::process::Command;

#[test]
fn the_engine_depends_on_no_kube_client_http_client_or_tokio() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "weir-engine",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"weir-api"),
        "sanity: the tree lists dependencies\n{tree}"
    );
    for forbidden in [
        "kube-client",
        "kube-runtime",
        "hyper",
        "reqwest",
        "tokio",
        "tower",
        "h2",
        "rustls",
    ] {
        assert!(
            !crates.contains(&forbidden),
            "weir-engine depends on {forbidden}:\n{tree}"
        );
    }
}
