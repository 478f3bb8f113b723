//! SMI `split.smi-spec.io` TrafficSplit (`v1alpha1`, `v1alpha2`, `v1alpha3`),
//! as far as Flagger writes and reads it.
//!
//! One Rust type serves the three versions: they differ only in how a
//! backend's weight is written. Field names, order and optionality follow
//! Flagger's Go types (`pkg/apis/smi/v1alpha{1,2,3}`):
//!
//! | version  | `weight`                       | written when |
//! |----------|--------------------------------|--------------|
//! | v1alpha1 | `resource.Quantity`, `"100"`   | always       |
//! | v1alpha2 | integer, `omitempty`           | non-zero     |
//! | v1alpha3 | integer                        | always       |

use k8s_openapi::api::core::v1::TypedLocalObjectReference;
use serde::{Deserialize, Serialize};

use crate::metadata::ObjectMetadata;

/// A TrafficSplit: clients address `spec.service`, the mesh spreads their
/// requests over `spec.backends` in proportion to the weights.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSplit {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: TrafficSplitSpec,
}

/// The apex service and its weighted backends.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TrafficSplitSpec {
    /// The Service (or, for Linkerd, the authority) clients address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<TrafficSplitBackend>,
    /// `v1alpha3` only: HTTPRouteGroups the split applies to. Flagger never
    /// writes them; `set_routes` keeps them, `reconcile` removes them as
    /// Flagger's update does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<TypedLocalObjectReference>,
}

/// One Service and its share of the traffic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TrafficSplitBackend {
    pub service: String,
    /// Absent in `v1alpha2` when 0 (Go's `omitempty`); readers take it as 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
}

/// A backend weight as the versions write it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum Weight {
    /// `v1alpha2` and `v1alpha3`: a plain integer.
    Integer(i64),
    /// `v1alpha1`: a Kubernetes quantity such as `"100"`, `"1k"` or `"500m"`.
    Quantity(String),
}

impl Weight {
    /// The weight as a whole number, or `None` for a quantity that is not a
    /// whole number (`"500m"`) or not a quantity at all.
    pub fn whole(&self) -> Option<i64> {
        match self {
            Weight::Integer(value) => Some(*value),
            Weight::Quantity(text) => quantity_as_whole(text),
        }
    }
}

/// The value of a Kubernetes quantity (`<sign><digits>[.<digits>]<suffix>`)
/// if it is a whole number, as Go's `Quantity.AsInt64` reads it.
///
/// Suffixes: none, the decimal SI `m k M G T P E`, the binary `Ki Mi Gi Ti Pi
/// Ei`, or a decimal exponent `e<n>`/`E<n>`. Computed exactly in integers.
fn quantity_as_whole(text: &str) -> Option<i64> {
    /// Larger exponents cannot give a weight anyway and would overflow.
    const MAX_EXPONENT: u32 = 18;

    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = unsigned
        .find(|character: char| !character.is_ascii_digit() && character != '.')
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_end);
    let (whole_digits, fraction_digits) = number.split_once('.').unwrap_or((number, ""));
    if whole_digits.is_empty() && fraction_digits.is_empty() {
        return None;
    }
    let digits = format!("{whole_digits}{fraction_digits}");
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let fraction_length = u32::try_from(fraction_digits.len()).ok()?;

    // value = mantissa × 10^decimal × 2^binary / 10^fraction_length
    let (decimal, binary): (i32, u32) = match suffix {
        "" => (0, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exponent if exponent.starts_with(['e', 'E']) => (exponent[1..].parse().ok()?, 0),
        _ => return None,
    };
    let scale_up = decimal.max(0).unsigned_abs();
    let scale_down = fraction_length.checked_add(decimal.min(0).unsigned_abs())?;
    if scale_up > MAX_EXPONENT || scale_down > MAX_EXPONENT {
        return None;
    }
    let numerator = mantissa
        .checked_mul(10_i128.checked_pow(scale_up)?)?
        .checked_mul(2_i128.checked_pow(binary)?)?;
    let denominator = 10_i128.checked_pow(scale_down)?;
    if numerator % denominator != 0 {
        return None;
    }
    let magnitude = i64::try_from(numerator / denominator).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_quantities_read_as_go_reads_them() {
        for (text, expected) in [
            ("100", Some(100)),
            ("0", Some(0)),
            ("+7", Some(7)),
            ("-3", Some(-3)),
            ("1k", Some(1000)),
            ("1Ki", Some(1024)),
            ("2000m", Some(2)),
            ("1.5k", Some(1500)),
            ("1e2", Some(100)),
            ("100.0", Some(100)),
        ] {
            assert_eq!(quantity_as_whole(text), expected, "{text}");
        }
    }

    #[test]
    fn fractions_and_garbage_are_not_whole_numbers() {
        for text in ["500m", "0.5", "", "m", "abc", "1x", "1.2.3", "1e99", "."] {
            assert_eq!(quantity_as_whole(text), None, "{text}");
        }
    }

    #[test]
    fn integer_and_quantity_weights_deserialize_from_json() {
        let backends: Vec<TrafficSplitBackend> = serde_json::from_str(
            r#"[{"service":"a","weight":"50"},{"service":"b","weight":50},{"service":"c"}]"#,
        )
        .expect("backends");
        assert_eq!(
            backends
                .iter()
                .map(|backend| backend.weight.as_ref().and_then(Weight::whole))
                .collect::<Vec<_>>(),
            [Some(50), Some(50), None]
        );
    }
}
