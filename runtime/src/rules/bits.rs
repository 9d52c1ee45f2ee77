//! A rule's value on every bar as bits, 64 bars to a word: an eighth of the memory a
//! `Vec<bool>` takes, `and`/`or`/`not` a word at a time, and the next bar a rule fires on
//! found by counting zeros rather than testing bar by bar.

use super::Compare;
use wide::f64x4;

/// One flag per bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// `value` on each of `len` bars.
    pub fn filled(len: usize, value: bool) -> Bits {
        let mut bits = Bits { words: vec![if value { u64::MAX } else { 0 }; len.div_ceil(64)], len };
        bits.clear_tail();
        bits
    }

    /// `x[i] OP y[i]` on each bar (the shorter length); false where either is undefined,
    /// but for `!=`, as Rust's (and Python's) comparisons are.
    pub fn compare(x: &[f64], y: &[f64], op: Compare) -> Bits {
        // One loop per operator: the compare is four lanes a vector instruction (SSE2 pairs
        // on baseline x86-64), each lane's result a bit of the mask.
        match op {
            Compare::Lt => pack(x, y, |a, b| a.simd_lt(b).to_bitmask(), |a, b| a < b),
            Compare::Le => pack(x, y, |a, b| a.simd_le(b).to_bitmask(), |a, b| a <= b),
            Compare::Gt => pack(x, y, |a, b| a.simd_gt(b).to_bitmask(), |a, b| a > b),
            Compare::Ge => pack(x, y, |a, b| a.simd_ge(b).to_bitmask(), |a, b| a >= b),
            Compare::Eq => pack(x, y, |a, b| a.simd_eq(b).to_bitmask(), |a, b| a == b),
            Compare::Ne => pack(x, y, |a, b| a.simd_ne(b).to_bitmask(), |a, b| a != b),
        }
    }

    /// `x[i] OP y` on each bar.
    pub fn compare_to(x: &[f64], y: f64, op: Compare) -> Bits {
        match op {
            Compare::Lt => pack_scalar(x, y, |a, b| a.simd_lt(b).to_bitmask(), |a, b| a < b),
            Compare::Le => pack_scalar(x, y, |a, b| a.simd_le(b).to_bitmask(), |a, b| a <= b),
            Compare::Gt => pack_scalar(x, y, |a, b| a.simd_gt(b).to_bitmask(), |a, b| a > b),
            Compare::Ge => pack_scalar(x, y, |a, b| a.simd_ge(b).to_bitmask(), |a, b| a >= b),
            Compare::Eq => pack_scalar(x, y, |a, b| a.simd_eq(b).to_bitmask(), |a, b| a == b),
            Compare::Ne => pack_scalar(x, y, |a, b| a.simd_ne(b).to_bitmask(), |a, b| a != b),
        }
    }

    /// The flag of bar `i` (false past the end).
    #[inline(always)]
    pub fn get(&self, i: usize) -> bool {
        self.words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// The first bar at or after `from` whose flag is set.
    #[inline]
    pub fn next_set(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut word = self.words.get(w)? & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                return (i < self.len).then_some(i);
            }
            w += 1;
            word = *self.words.get(w)?;
        }
    }

    /// Each flag and `other`'s.
    pub fn and(&mut self, other: &Bits) {
        self.words.iter_mut().zip(&other.words).for_each(|(a, b)| *a &= b);
        self.words.truncate(other.words.len());
        self.len = self.len.min(other.len);
    }

    /// Each flag or `other`'s.
    pub fn or(&mut self, other: &Bits) {
        self.words.iter_mut().zip(&other.words).for_each(|(a, b)| *a |= b);
        self.words.truncate(other.words.len());
        self.len = self.len.min(other.len);
    }

    /// Each flag negated.
    pub fn not(&mut self) {
        self.words.iter_mut().for_each(|w| *w = !*w);
        self.clear_tail();
    }

    /// Bar `i`'s flag is `before[i - 1] & self[i]`, and bar 0's false: a rule that needs
    /// one test on the bar before and another on this one (a crossing).
    pub fn and_after(&mut self, before: &Bits) {
        let mut carry = 0u64;
        for (w, b) in self.words.iter_mut().zip(&before.words) {
            *w &= (b << 1) | carry;
            carry = b >> 63;
        }
        self.words.truncate(before.words.len());
        self.len = self.len.min(before.len);
    }

    /// No flag past the last bar (a `not` would set them).
    fn clear_tail(&mut self) {
        let tail = self.len % 64;
        if tail != 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << tail) - 1;
            }
        }
    }
}

fn lanes(v: &[f64]) -> f64x4 {
    f64x4::new([v[0], v[1], v[2], v[3]])
}

/// The bits of `x[i] test y[i]`: four lanes a compare (`simd`), the last few one by one
/// (`scalar`, the same test).
#[inline(always)]
fn pack(x: &[f64], y: &[f64], simd: impl Fn(f64x4, f64x4) -> u32, scalar: impl Fn(f64, f64) -> bool) -> Bits {
    let len = x.len().min(y.len());
    pack_with(len, |i| simd(lanes(&x[i..i + 4]), lanes(&y[i..i + 4])), |i| scalar(x[i], y[i]))
}

/// The bits of `x[i] test y`.
#[inline(always)]
fn pack_scalar(
    x: &[f64],
    y: f64,
    simd: impl Fn(f64x4, f64x4) -> u32,
    scalar: impl Fn(f64, f64) -> bool,
) -> Bits {
    let ys = f64x4::splat(y);
    pack_with(x.len(), |i| simd(lanes(&x[i..i + 4]), ys), |i| scalar(x[i], y))
}

/// `len` bits, four at a time from `four(i)` (bars `i..i + 4`), the rest from `one(i)`.
#[inline(always)]
fn pack_with(len: usize, four: impl Fn(usize) -> u32, one: impl Fn(usize) -> bool) -> Bits {
    let mut words = Vec::with_capacity(len.div_ceil(64));
    let whole = len / 4 * 4;
    let mut word = 0u64;
    let mut i = 0;
    while i < whole {
        word |= u64::from(four(i)) << (i % 64);
        i += 4;
        if i.is_multiple_of(64) {
            words.push(word);
            word = 0;
        }
    }
    while i < len {
        word |= u64::from(one(i)) << (i % 64);
        i += 1;
        if i.is_multiple_of(64) {
            words.push(word);
            word = 0;
        }
    }
    if !len.is_multiple_of(64) {
        words.push(word);
    }
    Bits { words, len }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bits of `flags`, one at a time.
    fn from_flags(flags: &[bool]) -> Bits {
        let mut words = vec![0u64; flags.len().div_ceil(64)];
        for (i, &f) in flags.iter().enumerate() {
            words[i / 64] |= u64::from(f) << (i % 64);
        }
        Bits { words, len: flags.len() }
    }

    #[test]
    fn bits_are_the_flags_they_were_made_from() {
        for len in [0, 1, 63, 64, 65, 130, 200] {
            let flags: Vec<bool> = (0..len).map(|i| (i * 7 + i / 5) % 3 == 0).collect();
            let other: Vec<bool> = (0..len).map(|i| i % 4 != 1).collect();
            let mut bits = from_flags(&flags);
            let x: Vec<f64> = flags.iter().map(|&f| if f { 1.0 } else { 0.0 }).collect();
            assert_eq!(Bits::compare(&x, &vec![0.5; len], Compare::Gt), bits);
            assert_eq!(Bits::compare_to(&x, 0.5, Compare::Gt), bits);
            assert!((0..len + 3).all(|i| bits.get(i) == flags.get(i).copied().unwrap_or(false)));
            for from in 0..len + 2 {
                assert_eq!(bits.next_set(from), (from..len).find(|&i| flags[i]), "len {len} from {from}");
            }
            let o = from_flags(&other);
            let mut and = bits.clone();
            and.and(&o);
            let mut or = bits.clone();
            or.or(&o);
            let mut after = o.clone();
            after.and_after(&bits);
            for i in 0..len {
                assert_eq!(and.get(i), flags[i] & other[i]);
                assert_eq!(or.get(i), flags[i] | other[i]);
                assert_eq!(after.get(i), i > 0 && flags[i - 1] && other[i], "len {len} bar {i}");
            }
            bits.not();
            assert!((0..len).all(|i| bits.get(i) != flags[i]));
            assert_eq!(bits.next_set(len), None, "nothing past the end after a not");
            assert_eq!(Bits::filled(len, true).next_set(0), (len > 0).then_some(0));
        }
    }

    #[test]
    fn each_comparison_is_rusts_undefined_values_included() {
        let values = [1.0, 2.0, f64::NAN, 2.0, f64::INFINITY, -0.0, 0.0, 3.0, f64::NAN];
        let x: Vec<f64> = (0..70).map(|i| values[i % values.len()]).collect();
        let y: Vec<f64> = (0..70).map(|i| values[(i * 5 + 2) % values.len()]).collect();
        for op in [Compare::Lt, Compare::Le, Compare::Gt, Compare::Ge, Compare::Eq, Compare::Ne] {
            let bits = Bits::compare(&x, &y, op);
            let to = Bits::compare_to(&x, 2.0, op);
            for i in 0..70 {
                assert_eq!(bits.get(i), op.test(x[i], y[i]), "{op:?} bar {i}");
                assert_eq!(to.get(i), op.test(x[i], 2.0), "{op:?} bar {i}");
            }
        }
    }
}
