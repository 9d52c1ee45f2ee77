//! Floats in checkpoints and results, written so they read back bit for bit: finite values
//! as JSON numbers (shortest round-trip form), infinities and NaN as the strings `"inf"`,
//! `"-inf"` and `"nan"`, which JSON numbers cannot hold.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// For `#[serde(with = "exact")]` on an `f64` field.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("nan")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Number(f64),
    Text(String),
}

/// For `#[serde(with = "exact")]` on an `f64` field.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Written::deserialize(d)? {
        Written::Number(v) => Ok(v),
        Written::Text(t) => match t.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            other => {
                Err(serde::de::Error::custom(format!("expected a number, inf, -inf or nan, found `{other}`")))
            }
        },
    }
}

/// A float that serialises exactly (see the module's doc).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exact(#[serde(with = "self")] pub f64);

#[cfg(test)]
mod tests {
    use super::Exact;

    #[test]
    fn every_float_round_trips_bit_for_bit() {
        // 0.9934310506393663 reads back one ulp off without serde_json's float_roundtrip.
        for v in [
            0.1,
            0.9934310506393663,
            -0.0,
            1e-310,
            f64::MAX,
            1.0 / 3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            let text = serde_json::to_string(&Exact(v)).unwrap();
            let back: Exact = serde_json::from_str(&text).unwrap();
            assert_eq!(back.0.to_bits(), v.to_bits(), "{v} via {text}");
        }
    }
}
