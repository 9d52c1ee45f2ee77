//! A scanner for the common body, `[[t, o, h, l, c, v], ...]` with `t` a whole number or a
//! plain string: each token checked against JSON's grammar, then read exactly (prices like
//! `695.37` by one exact division) or by std's correctly rounded `f64` parser, bit for bit
//! as serde_json reads them. A date is read where it lies in the body (no string per bar);
//! only the last bar's is kept as written, for the answer. Anything else (objects, escapes,
//! a number serde would read otherwise or refuse, a date the loader would refuse) is
//! `None`, and serde parses the body, which also words the errors.

use super::{Bar, Time};
use gaform_runtime::data::parse_timestamp;

/// The bars, when the body is plainly in the common form (each time in seconds), and the
/// last bar's time as written.
pub(super) fn bars(body: &[u8]) -> Option<(Vec<Bar>, Time)> {
    let mut s = Scanner { s: body, i: 0, last_text: None };
    let mut out = Vec::with_capacity(body.len() / 48);
    s.expect(b'[')?;
    if s.peek()? == b']' {
        s.i += 1;
    } else {
        loop {
            out.push(s.bar()?);
            match s.next()? {
                b',' => continue,
                b']' => break,
                _ => return None,
            }
        }
    }
    s.skip_space();
    if s.i != body.len() {
        return None;
    }
    let last = match (out.last(), s.last_text) {
        (Some(_), Some(text)) => Time::Text(text.to_string()),
        (Some(bar), None) => bar.time.clone(),
        (None, _) => Time::Seconds(0),
    };
    Some((out, last))
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    /// The last bar's time, when it was written as a string.
    last_text: Option<&'a str>,
}

impl<'a> Scanner<'a> {
    fn skip_space(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    fn bar(&mut self) -> Option<Bar> {
        self.expect(b'[')?;
        let time = match self.peek()? {
            b'"' => {
                let text = self.string()?;
                self.last_text = Some(text);
                Time::Seconds(parse_timestamp(text).ok()?)
            }
            _ => {
                self.last_text = None;
                let (token, integer, fast) = self.number()?;
                if !integer {
                    return None;
                }
                // A whole number the fast path read is below 2^53: exact as an i64 too.
                match fast {
                    Some(seconds) => Time::Seconds(seconds as i64),
                    None => Time::Seconds(token.parse().ok()?),
                }
            }
        };
        let mut values = [0.0; 5];
        for (k, slot) in values.iter_mut().enumerate() {
            match self.next()? {
                b',' => {}
                // The volume may be left out.
                b']' if k == 4 => return Some(Bar { time, values }),
                _ => return None,
            }
            let value = match self.number()? {
                (_, _, Some(value)) => value,
                (token, _, None) => token.parse().ok()?,
            };
            // serde refuses a number past f64's range; leave that to it.
            if !value.is_finite() {
                return None;
            }
            *slot = value;
        }
        self.expect(b']')?;
        Some(Bar { time, values })
    }

    /// A string with no escape and no control character, where it lies in the body.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let (s, start) = (self.s, self.i);
        loop {
            match *s.get(self.i)? {
                b'"' => break,
                b'\\' => return None,
                b if b < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let text = std::str::from_utf8(s.get(start..self.i)?).ok()?;
        self.i += 1;
        Some(text)
    }

    /// A JSON number token, whether it is a whole number (no fraction, no exponent), and its
    /// value when the exact fast path gives it. (Locals, not `self`, in the loops: the
    /// hottest code of a request.)
    fn number(&mut self) -> Option<(&str, bool, Option<f64>)> {
        self.skip_space();
        let (s, start) = (self.s, self.i);
        let mut i = start;
        // The digits as one integer (exact while `significant` stays small), and how many
        // came after the point.
        let (mut mantissa, mut significant, mut fraction) = (0u64, 0u32, 0i32);
        let negative = s.get(i) == Some(&b'-');
        i += usize::from(negative);
        let first = i;
        match s.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while let Some(&b) = s.get(i).filter(|b| b.is_ascii_digit()) {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                    i += 1;
                }
                significant = (i - first) as u32;
            }
            _ => return None,
        }
        let mut integer = true;
        if s.get(i) == Some(&b'.') {
            i += 1;
            integer = false;
            let from = i;
            while let Some(&b) = s.get(i).filter(|b| b.is_ascii_digit()) {
                if mantissa != 0 || b != b'0' {
                    significant += 1;
                }
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                i += 1;
            }
            if i == from {
                return None;
            }
            fraction = (i - from) as i32;
        }
        let mut exponent: i32 = 0;
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            integer = false;
            let sign = match s.get(i) {
                Some(b'-') => -1,
                _ => 1,
            };
            i += usize::from(matches!(s.get(i), Some(b'+' | b'-')));
            let from = i;
            while let Some(&b) = s.get(i).filter(|b| b.is_ascii_digit()) {
                exponent = exponent.saturating_mul(10).saturating_add(i32::from(b - b'0'));
                i += 1;
            }
            if i == from {
                return None;
            }
            exponent *= sign;
        }
        self.i = i;
        let token = s.get(start..i)?;
        // serde reads `-0` as a float and whole numbers past 64 bits as floats: leave both to it.
        if integer && (token == b"-0" || token.len() > 18) {
            return None;
        }
        let fast = exact(negative, mantissa, significant, exponent.saturating_sub(fraction));
        // Only ASCII digits, signs, points and exponents got here: the check is for the type.
        let token = if fast.is_some() { "" } else { std::str::from_utf8(token).ok()? };
        Some((token, integer, fast))
    }
}

/// Powers of ten that f64 holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// `±mantissa × 10^exponent` when one correctly rounded operation on exact operands gives it
/// (Clinger's fast path: the mantissa below 2^53, the power at most 10^22), which is then
/// the correctly rounded value, bit for bit what std's parser and serde_json's (with
/// `float_roundtrip`) read. `None` for anything else, which goes to std's parser.
fn exact(negative: bool, mantissa: u64, significant: u32, exponent: i32) -> Option<f64> {
    if significant > 19 || mantissa >= 1 << 53 {
        return None;
    }
    let power = *EXACT_POWERS.get(exponent.unsigned_abs() as usize)?;
    let magnitude = mantissa as f64;
    let value = if exponent >= 0 { magnitude * power } else { magnitude / power };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::Scanner;

    /// The fast path is std's correctly rounded parse, bit for bit, on every number it takes:
    /// random tokens of 1 to 21 digits, a point anywhere, signs and exponents.
    #[test]
    fn the_exact_path_reads_numbers_bit_for_bit_as_std() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.random::<u64>();
        let mut taken = 0;
        for _ in 0..300_000 {
            let len = 1 + next() as usize % 21;
            let mut digits: String = (0..len).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            if digits.len() > 1 && digits.starts_with('0') {
                digits.replace_range(0..1, "1");
            }
            let mut token = String::new();
            if next() % 4 == 0 {
                token.push('-');
            }
            let point = next() as usize % (len + 1);
            if point > 0 && point < len {
                token.push_str(&digits[..point]);
                token.push('.');
                token.push_str(&digits[point..]);
            } else {
                token.push_str(&digits);
            }
            if next() % 3 == 0 {
                token.push_str(&format!("e{}", next() as i64 % 40 - 20));
            }
            let mut scanner = Scanner { s: token.as_bytes(), i: 0, last_text: None };
            let Some((_, _, fast)) = scanner.number() else { continue };
            let std: f64 = token.parse().unwrap();
            if let Some(fast) = fast {
                taken += 1;
                assert_eq!(fast.to_bits(), std.to_bits(), "{token}: {fast} against std's {std}");
            }
        }
        assert!(taken > 100_000, "the fast path takes most numbers: {taken}");
    }
}
