//! A request's bars: JSON arrays `[[t, o, h, l, c, v], ...]` or objects
//! `[{"t": ..., "o": ..., "h": ..., "l": ..., "c": ..., "v": ...}, ...]`, oldest first. `t` is
//! seconds since 1970-01-01 (a number) or a date as the data files write them
//! (`"2024-01-02"`, `"2024-01-02 15:30:00"`); `v` may be left out. Checked before any
//! backtest: a window the backtester would misread is refused with what is wrong, never
//! answered.

use gaform_runtime::data::{check_bar, parse_timestamp, Ohlcv};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Why a body is refused: an HTTP status and a message.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
    /// The bar at fault (0-based), when one is.
    pub bar: Option<usize>,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>, bar: Option<usize>) -> Refusal {
        Refusal { status, message: message.into(), bar }
    }
}

/// One bar as sent: the time as written and its open, high, low, close and volume.
#[derive(Debug, PartialEq)]
struct Bar {
    time: Time,
    values: [f64; 5],
}

mod fast;

/// A bar's time as the client wrote it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Time {
    Seconds(i64),
    Text(String),
}

impl Time {
    fn seconds(&self) -> Result<i64, String> {
        match self {
            Time::Seconds(s) => Ok(*s),
            Time::Text(t) => parse_timestamp(t),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a time: whole seconds since 1970-01-01 or a date string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                Ok(Time::Seconds(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                i64::try_from(v).map(Time::Seconds).map_err(|_| E::custom("a time past the year 292 billion"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Time::Seconds(v as i64))
                } else {
                    Err(E::custom(format!("a time in whole seconds, found {v}")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
                Ok(Time::Text(v.to_string()))
            }
        }
        d.deserialize_any(TimeVisitor)
    }
}

impl<'de> Deserialize<'de> for Bar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bar, D::Error> {
        struct BarVisitor;
        impl<'de> Visitor<'de> for BarVisitor {
            type Value = Bar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a bar: [t, o, h, l, c, v] or {\"t\", \"o\", \"h\", \"l\", \"c\", \"v\"}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bar, A::Error> {
                let time: Time = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mut values = [0.0; 5];
                for (i, slot) in values.iter_mut().enumerate() {
                    match seq.next_element::<f64>()? {
                        Some(v) => *slot = v,
                        // The volume may be left out.
                        None if i == 4 => {}
                        None => return Err(de::Error::invalid_length(i + 1, &self)),
                    }
                }
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("a bar has at most six values: [t, o, h, l, c, v]"));
                }
                Ok(Bar { time, values })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bar, A::Error> {
                let mut time = None;
                let mut values = [None; 5];
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let slot = match key.as_ref() {
                        "t" => {
                            time = Some(map.next_value::<Time>()?);
                            continue;
                        }
                        "o" => 0,
                        "h" => 1,
                        "l" => 2,
                        "c" => 3,
                        "v" => 4,
                        other => {
                            return Err(de::Error::unknown_field(other, &["t", "o", "h", "l", "c", "v"]))
                        }
                    };
                    values[slot] = Some(map.next_value::<f64>()?);
                }
                let time = time.ok_or_else(|| de::Error::missing_field("t"))?;
                let mut out = [0.0; 5];
                for (i, (slot, name)) in values.iter().zip(["o", "h", "l", "c"]).enumerate() {
                    out[i] = slot.ok_or_else(|| de::Error::missing_field(name))?;
                }
                out[4] = values[4].unwrap_or(0.0);
                Ok(Bar { time, values: out })
            }
        }
        d.deserialize_any(BarVisitor)
    }
}

/// The bars of a body, as the backtester's series, and the last bar's time as written.
pub fn parse(body: &[u8], needed: usize) -> Result<(Ohlcv, Time), Refusal> {
    // The common form goes through a scanner of its own (a third of serde's time); anything
    // it is not sure of goes to serde, which also words the errors.
    let (bars, last) = match fast::bars(body) {
        Some(read) => read,
        None => {
            let bars = from_serde(body)?;
            let last = bars.last().map_or(Time::Seconds(0), |b| b.time.clone());
            (bars, last)
        }
    };
    if bars.len() < needed {
        return Err(Refusal::new(
            422,
            format!(
                "{} bar(s) sent; the strategy needs at least {needed} to decide on the last one",
                bars.len()
            ),
            None,
        ));
    }
    let mut data = Ohlcv {
        name: "request".into(),
        time: Vec::with_capacity(bars.len()),
        open: Vec::with_capacity(bars.len()),
        high: Vec::with_capacity(bars.len()),
        low: Vec::with_capacity(bars.len()),
        close: Vec::with_capacity(bars.len()),
        volume: Vec::with_capacity(bars.len()),
    };
    for (i, bar) in bars.iter().enumerate() {
        let t = bar.time.seconds().map_err(|e| Refusal::new(422, format!("bar {i}: {e}"), Some(i)))?;
        if data.time.last().is_some_and(|&previous| t <= previous) {
            return Err(Refusal::new(422, format!("bar {i}: times must increase, bar by bar"), Some(i)));
        }
        let [o, h, l, c, v] = bar.values;
        // The loader's own rules: a window it would refuse as a file is refused here too.
        if let Err((_, message)) = check_bar(o, h, l, c) {
            return Err(Refusal::new(422, format!("bar {i}: {message}"), Some(i)));
        }
        if !(v.is_finite() && v >= 0.0) {
            return Err(Refusal::new(422, format!("bar {i}: volume must be 0 or more, found {v}"), Some(i)));
        }
        data.push(t, bar.values);
    }
    Ok((data, last))
}

fn from_serde(body: &[u8]) -> Result<Vec<Bar>, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        Refusal::new(
            400,
            format!("the body is not a JSON list of bars ([[t, o, h, l, c, v], ...]): {e}"),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_objects_give_the_same_series() {
        let arrays = br#"[[1, 10, 11, 9, 10.5, 100], ["1970-01-01 00:00:02", 10.5, 12, 10, 11]]"#;
        let objects = br#"[{"t": 1, "o": 10, "h": 11, "l": 9, "c": 10.5, "v": 100},
                          {"c": 11, "t": "1970-01-01 00:00:02", "o": 10.5, "h": 12, "l": 10}]"#;
        let (a, last_a) = parse(arrays, 2).unwrap();
        let (b, last_b) = parse(objects, 2).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.time, [1, 2]);
        assert_eq!(a.volume, [100.0, 0.0]);
        assert_eq!(last_a, Time::Text("1970-01-01 00:00:02".into()));
        assert_eq!(last_a, last_b);
    }

    #[test]
    fn what_the_backtester_would_misread_is_refused_with_the_bar() {
        let refused = |body: &str| parse(body.as_bytes(), 2).unwrap_err();
        assert_eq!(refused("[[1,1,1,1,1]]").status, 422);
        assert_eq!(refused("[[2,1,1,1,1],[1,1,1,1,1]]").bar, Some(1));
        assert_eq!(refused("[[1,1,1,1,1],[2,1,1,1,-1]]").bar, Some(1));
        assert_eq!(
            refused("[[1,1,1,1,1],[2,1,1,2,1]]").message,
            "bar 1: Low 2 is above min(Open, Close) = 1"
        );
        assert_eq!(
            refused("[[1,1,1,1,1],[2,1,2,1,3]]").message,
            "bar 1: High 2 is below max(Open, Close) = 3"
        );
        assert_eq!(refused("[[1,1,1,1,1],[\"June\",1,1,1,1]]").status, 422);
        assert_eq!(refused("[[1,1,1,1,1],[2,1,1,1]]").status, 400);
        assert_eq!(refused("[[1,1,1,1,1,1,1]]").status, 400);
        assert_eq!(refused("{\"bars\": []}").status, 400);
        assert_eq!(refused("[{\"t\":1,\"o\":1,\"h\":1,\"l\":1}]").status, 400);
        // JSON has no NaN: a NaN is a malformed body.
        assert_eq!(refused("[[1,NaN,1,1,1],[2,1,1,1,1]]").status, 400);
    }
}

#[cfg(test)]
mod differential {
    use super::*;

    /// The scanner takes only what serde reads the same: on bodies of the common form and on
    /// random edits of them, whenever the scanner gives bars they are serde's.
    #[test]
    fn the_scanner_agrees_with_serde_wherever_it_answers() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces = [
            "[",
            "]",
            ",",
            " ",
            "\n",
            "\"",
            "1",
            "-",
            "0",
            ".",
            "e",
            "E",
            "+",
            "5",
            "9",
            "\\",
            "\"2024-01-02\"",
            "1e400",
            "-0",
            "00",
            "1.",
            ".5",
            "NaN",
            "null",
            "{",
            "}",
            "\t",
            "\u{e9}",
            "12345678901234567890",
        ];
        let (mut answered, mut compared) = (0, 0);
        for round in 0..20_000 {
            let bars = 1 + next() as usize % 5;
            let mut body = String::from("[");
            for b in 0..bars {
                if b > 0 {
                    body.push(',');
                }
                let t = if next() % 2 == 0 {
                    format!("{}", next() % 2_000_000_000)
                } else {
                    "\"2024-01-02\"".into()
                };
                let n = |x: u64| format!("{}.{}", x % 1000, x % 97);
                let (o, h, l, c) = (n(next()), n(next()), n(next()), n(next()));
                body.push_str(&format!("[{t}, {o}, {h}, {l}, {c}, {}]", next() % 9999));
            }
            body.push(']');
            let mut bytes = body.into_bytes();
            for _ in 0..(round % 4) {
                let at = next() as usize % (bytes.len() + 1);
                let piece = pieces[next() as usize % pieces.len()];
                if next() % 3 == 0 && at < bytes.len() {
                    bytes.remove(at);
                } else {
                    bytes.splice(at..at, piece.bytes());
                }
            }
            if let Some((fast, last)) = fast::bars(&bytes) {
                answered += 1;
                let slow = from_serde(&bytes).map_err(|r| r.message);
                // The scanner gives each time in seconds, and the last as written.
                let seconds = |bars: Vec<Bar>| -> Vec<(Result<i64, String>, [f64; 5])> {
                    bars.into_iter().map(|b| (b.time.seconds(), b.values)).collect()
                };
                let written = slow.as_ref().ok().and_then(|b| b.last().map(|b| b.time.clone()));
                assert_eq!(Ok(seconds(fast)), slow.map(seconds), "on {:?}", String::from_utf8_lossy(&bytes));
                assert_eq!(last, written.unwrap_or(Time::Seconds(0)), "the last time as written");
            }
            compared += 1;
        }
        assert!(answered > compared / 4, "the scanner answers most bodies: {answered} of {compared}");
    }
}
