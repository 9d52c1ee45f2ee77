//! A scanner for the common body, `[[t, o, h, l, c, v], ...]` with `t` a whole number or a
//! plain string: numbers by std's correctly rounded `f64` parser, as serde_json reads them,
//! after checking each token against JSON's grammar. Anything else (objects, escapes, a
//! number serde would read otherwise or refuse) is `None`, and serde parses the body.

use super::{Bar, Time};

/// The bars, when the body is plainly in the common form.
pub(super) fn bars(body: &[u8]) -> Option<Vec<Bar>> {
    let mut s = Scanner { s: body, i: 0 };
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
    (s.i == body.len()).then_some(out)
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
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
            b'"' => Time::Text(self.string()?),
            _ => {
                let (token, integer) = self.number()?;
                if !integer {
                    return None;
                }
                Time::Seconds(token.parse().ok()?)
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
            let (token, _) = self.number()?;
            let value: f64 = token.parse().ok()?;
            // serde refuses a number past f64's range; leave that to it.
            if !value.is_finite() {
                return None;
            }
            *slot = value;
        }
        self.expect(b']')?;
        Some(Bar { time, values })
    }

    /// A string with no escape and no control character.
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match *self.s.get(self.i)? {
                b'"' => break,
                b'\\' => return None,
                b if b < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let text = std::str::from_utf8(self.s.get(start..self.i)?).ok()?.to_string();
        self.i += 1;
        Some(text)
    }

    /// A JSON number token, and whether it is a whole number (no fraction, no exponent).
    fn number(&mut self) -> Option<(&str, bool)> {
        self.skip_space();
        let start = self.i;
        let digits = |me: &mut Self| {
            let from = me.i;
            while me.s.get(me.i).is_some_and(u8::is_ascii_digit) {
                me.i += 1;
            }
            me.i > from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut integer = true;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            integer = false;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            integer = false;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        let token = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        // serde reads `-0` as a float and whole numbers past 64 bits as floats: leave both to it.
        if integer && (token == "-0" || token.len() > 18) {
            return None;
        }
        Some((token, integer))
    }
}
