//! The generated CRDs are committed, up to date, and accept every manifest
//! Flagger's CRDs accept.

use std::path::PathBuf;

use serde_json::Value;
use weir_api::crd;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn flagger_crds() -> Vec<Value> {
    let path = repo_root().join("../shared/compat/flagger/artifacts/flagger/crd.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read Flagger's CRD at {}: {error}; the compatibility corpus ../shared must sit beside the repository",
            path.display()
        )
    });
    serde_saphyr::from_multiple::<Value>(&text).expect("Flagger's CRD is valid YAML")
}

fn flagger_schema(kind: &str) -> Value {
    flagger_crds()
        .into_iter()
        .find(|crd| crd["spec"]["names"]["kind"] == kind)
        .map(|crd| crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone())
        .unwrap_or_else(|| panic!("Flagger ships a {kind} CRD"))
}

fn our_schema(kind: &str) -> Value {
    crd::schema_of(&crd::for_kind(kind).expect("we generate the CRD"))
}

#[test]
fn committed_crds_are_up_to_date() {
    let path = repo_root().join(crd::COMMITTED_PATH);
    let generated = crd::to_yaml();
    if std::env::var_os("WEIR_UPDATE_CRDS").is_some() {
        std::fs::write(&path, &generated).expect("write CRDs");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: regenerate it with `cargo run -p weir-cli -- crds > {}` \
         (or WEIR_UPDATE_CRDS=1 cargo test -p weir-api --test crd) and commit the result",
        crd::COMMITTED_PATH,
        crd::COMMITTED_PATH
    );
}

/// Makes schema fragments comparable: numbers as floats, `required` lists sorted.
fn normalized(value: Value) -> Value {
    match value {
        Value::Number(number) => serde_json::json!(number.as_f64()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    let mut value = normalized(value);
                    if key == "required"
                        && let Value::Array(list) = &mut value
                    {
                        list.sort_by_key(ToString::to_string);
                    }
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Ways in which `ours` would reject or drop something `theirs` accepts and keeps.
fn narrower(ours: &Value, theirs: &Value, path: &str, problems: &mut Vec<String>) {
    let get = |schema: &Value, key: &str| schema.get(key).cloned();
    // Type: ours must be the same, absent, or `number` where theirs is `integer`.
    if let Some(their_type) = get(theirs, "type") {
        match get(ours, "type") {
            None => {}
            Some(our_type) if our_type == their_type => {}
            Some(our_type) if our_type == "number" && their_type == "integer" => {}
            Some(our_type) => problems.push(format!(
                "{path}: type {our_type} where Flagger has {their_type}"
            )),
        }
    }
    for flag in [
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "nullable",
    ] {
        if theirs.get(flag) == Some(&Value::Bool(true))
            && ours.get(flag) != Some(&Value::Bool(true))
        {
            problems.push(format!("{path}: Flagger sets {flag}"));
        }
    }
    if let Some(Value::Array(their_enum)) = get(theirs, "enum")
        && let Some(Value::Array(our_enum)) = get(ours, "enum")
    {
        for member in &their_enum {
            if !our_enum.contains(member) {
                problems.push(format!("{path}: enum lacks {member}"));
            }
        }
    }
    if let Some(Value::Array(our_required)) = get(ours, "required") {
        let their_required = get(theirs, "required").unwrap_or(Value::Array(vec![]));
        for field in our_required {
            if !their_required
                .as_array()
                .is_some_and(|list| list.contains(&field))
            {
                problems.push(format!("{path}: requires {field}, Flagger does not"));
            }
        }
    }
    // Value constraints: ours may only be absent or identical.
    for key in [
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "maxItems",
        "minItems",
        "oneOf",
        "anyOf",
        "allOf",
        "not",
        "x-kubernetes-validations",
        "default",
    ] {
        if let Some(our_value) = get(ours, key).map(normalized)
            && get(theirs, key).map(normalized).as_ref() != Some(&our_value)
        {
            problems.push(format!("{path}: {key} {our_value} differs from Flagger's"));
        }
    }
    if let Some(Value::Object(their_properties)) = get(theirs, "properties") {
        for (name, their_property) in &their_properties {
            match ours
                .get("properties")
                .and_then(|properties| properties.get(name))
            {
                Some(our_property) => narrower(
                    our_property,
                    their_property,
                    &format!("{path}.{name}"),
                    problems,
                ),
                None => problems.push(format!("{path}.{name}: unknown to us, would be pruned")),
            }
        }
    }
    if let Some(their_items) = get(theirs, "items") {
        match get(ours, "items") {
            Some(our_items) => narrower(&our_items, &their_items, &format!("{path}[]"), problems),
            None => problems.push(format!("{path}: no item schema")),
        }
    }
    if let Some(their_additional) = get(theirs, "additionalProperties") {
        match get(ours, "additionalProperties") {
            Some(our_additional) => narrower(
                &our_additional,
                &their_additional,
                &format!("{path}{{}}"),
                problems,
            ),
            None => problems.push(format!("{path}: drops additional properties")),
        }
    }
}

/// Property paths that exist in `ours` but not in `theirs`.
fn extensions(ours: &Value, theirs: &Value, path: &str, found: &mut Vec<String>) {
    if let Some(Value::Object(our_properties)) = ours.get("properties") {
        for (name, our_property) in our_properties {
            let child = format!("{path}.{name}");
            match theirs
                .get("properties")
                .and_then(|properties| properties.get(name))
            {
                Some(their_property) => extensions(our_property, their_property, &child, found),
                None => found.push(child),
            }
        }
    }
    if let (Some(our_items), Some(their_items)) = (ours.get("items"), theirs.get("items")) {
        extensions(our_items, their_items, &format!("{path}[]"), found);
    }
    if let (Some(ours), Some(theirs)) = (
        ours.get("additionalProperties"),
        theirs.get("additionalProperties"),
    ) {
        extensions(ours, theirs, &format!("{path}{{}}"), found);
    }
}

#[test]
fn our_crds_accept_and_keep_everything_flaggers_crds_accept() {
    for kind in ["Canary", "MetricTemplate", "AlertProvider"] {
        let mut problems = Vec::new();
        narrower(
            &our_schema(kind),
            &flagger_schema(kind),
            kind,
            &mut problems,
        );
        assert!(
            problems.is_empty(),
            "{kind} is narrower than Flagger's:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn our_crds_extend_flaggers_only_with_documented_status_fields() {
    let mut found = Vec::new();
    for kind in ["Canary", "MetricTemplate", "AlertProvider"] {
        extensions(&our_schema(kind), &flagger_schema(kind), kind, &mut found);
    }
    found.sort();
    assert_eq!(
        found,
        [
            "AlertProvider.status",
            "Canary.status.lastAnalysis",
            "Canary.status.workloadWait",
            "MetricTemplate.status",
        ]
    );
}

#[test]
fn printer_columns_and_metadata_match_flaggers() {
    for flagger in flagger_crds() {
        let kind = flagger["spec"]["names"]["kind"]
            .as_str()
            .expect("kind")
            .to_owned();
        let ours = serde_json::to_value(crd::for_kind(&kind).expect("generated")).expect("json");
        let version = |crd: &Value, key: &str| crd["spec"]["versions"][0][key].clone();
        assert_eq!(
            version(&ours, "additionalPrinterColumns"),
            version(&flagger, "additionalPrinterColumns"),
            "{kind} printer columns"
        );
        for key in ["served", "storage", "subresources", "name"] {
            assert_eq!(version(&ours, key), version(&flagger, key), "{kind} {key}");
        }
        assert_eq!(
            ours["spec"]["names"], flagger["spec"]["names"],
            "{kind} names"
        );
        assert_eq!(
            ours["spec"]["scope"], flagger["spec"]["scope"],
            "{kind} scope"
        );
        assert_eq!(ours["metadata"], flagger["metadata"], "{kind} metadata");
    }
}
