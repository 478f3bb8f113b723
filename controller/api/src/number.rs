//! Whole numbers the way Flagger's CRD declares them.
//!
//! Flagger's CRD types almost every counter (`threshold`, `stepWeight`, `port`,
//! ...) as `type: number`, so the API server accepts `threshold: 5.0` and even
//! `threshold: 5.5`. Flagger's Go structs then decode them as `int`, which
//! accepts `5.0` and fails on `5.5`. We keep the CRD type (`number`) so that our
//! CRD accepts everything Flagger's accepts, accept integral floats when
//! decoding, and reject fractions with an error that names the value.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Schema for a Flagger counter: `type: number`.
pub(crate) fn number_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number" })
}

/// Schema for a Flagger integer field: `type: integer`.
pub(crate) fn integer_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// Schema for a list of Flagger counters: `type: array` of `type: number`.
pub(crate) fn number_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "number" } })
}

struct WholeVisitor<T>(PhantomData<T>);

impl<T: TryFrom<i64>> Visitor<'_> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number between {} and {}", i32::MIN, i32::MAX)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // 2^53 bounds the range in which every integral f64 is exact.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        if v.fract() == 0.0 && v.abs() <= EXACT {
            #[allow(clippy::cast_possible_truncation)]
            self.visit_i64(v as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

/// `#[serde(deserialize_with = "whole")]` for a required counter.
pub(crate) fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    deserializer.deserialize_any(WholeVisitor(PhantomData))
}

/// `#[serde(default, deserialize_with = "optional_whole")]` for an optional counter.
/// An explicit `null` reads as absent, like Go's pointer fields.
pub(crate) fn optional_whole<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    struct OptionVisitor<T>(PhantomData<T>);
    impl<'de, T: TryFrom<i64>> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            whole(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

/// `#[serde(default, deserialize_with = "whole_list")]` for `stepWeights`.
pub(crate) fn whole_list<'de, D>(deserializer: D) -> Result<Vec<i32>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i32);
    let list: Option<Vec<Whole>> = serde::Deserialize::deserialize(deserializer)?;
    Ok(list.unwrap_or_default().into_iter().map(|w| w.0).collect())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Sample {
        #[serde(deserialize_with = "super::whole")]
        required: i32,
        #[serde(default, deserialize_with = "super::optional_whole")]
        optional: Option<i32>,
    }

    fn parse(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integral_floats_are_accepted_like_go_does() {
        let sample = parse(r#"{"required": 5.0, "optional": 7}"#).expect("valid");
        assert_eq!(sample.required, 5);
        assert_eq!(sample.optional, Some(7));
    }

    #[test]
    fn fractions_are_rejected_with_the_value_in_the_message() {
        let error = parse(r#"{"required": 5.5}"#).expect_err("fraction");
        assert!(error.to_string().contains("5.5"), "{error}");
        assert!(error.to_string().contains("whole number"), "{error}");
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let error = parse(r#"{"required": 4294967296}"#).expect_err("too large");
        assert!(error.to_string().contains("4294967296"), "{error}");
    }

    #[test]
    fn null_and_absent_optional_counters_read_as_none() {
        assert_eq!(
            parse(r#"{"required": 1, "optional": null}"#)
                .expect("null")
                .optional,
            None
        );
        assert_eq!(parse(r#"{"required": 1}"#).expect("absent").optional, None);
    }
}
