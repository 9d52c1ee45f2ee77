//! A genome: one integer per strategy parameter, held inline. A generation breeds, hashes,
//! compares and copies tens of thousands of them; as a `Vec<i64>` each one was a heap
//! allocation, a quarter of the GA loop's time outside its backtests.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// The most genes a job's strategy may have: a built-in has three at most
/// (`rsi_reversion`), a written strategy as many as this (the compiler says so, E0009).
pub const MAX_GENES: usize = 8;

/// One candidate: the strategy's parameters in declaration order. Reads and writes as a
/// slice; compares, hashes and serialises exactly as the `Vec<i64>` it replaced (a JSON
/// array), so checkpoints and results are unchanged.
#[derive(Clone, Copy, Default)]
pub struct Genome {
    len: u8,
    /// Invariant: zero past `len` (no constructor or slice view writes there).
    genes: [i64; MAX_GENES],
}

impl Genome {
    /// The genome of `genes`; `None` past `MAX_GENES`.
    pub fn from_slice(genes: &[i64]) -> Option<Genome> {
        let mut g = Genome { len: u8::try_from(genes.len()).ok()?, genes: [0; MAX_GENES] };
        g.genes.get_mut(..genes.len())?.copy_from_slice(genes);
        Some(g)
    }

    /// The genes.
    pub fn as_slice(&self) -> &[i64] {
        self.genes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl Deref for Genome {
    type Target = [i64];
    fn deref(&self) -> &[i64] {
        self.as_slice()
    }
}

impl DerefMut for Genome {
    fn deref_mut(&mut self) -> &mut [i64] {
        let len = usize::from(self.len);
        self.genes.get_mut(..len).unwrap_or_default()
    }
}

impl FromIterator<i64> for Genome {
    /// Collects at most `MAX_GENES` genes (a space never has more: `Space::ranges`).
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Genome {
        let mut g = Genome::default();
        for (slot, gene) in g.genes.iter_mut().zip(iter) {
            *slot = gene;
            g.len += 1;
        }
        g
    }
}

impl<'a> IntoIterator for &'a Genome {
    type Item = &'a i64;
    type IntoIter = std::slice::Iter<'a, i64>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<const N: usize> PartialEq<[i64; N]> for Genome {
    fn eq(&self, other: &[i64; N]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq for Genome {
    /// Genes past `len` are always zero, so whole arrays compare as the slices do
    /// (without the slice comparison's call to `memcmp`).
    fn eq(&self, other: &Genome) -> bool {
        self.len == other.len && self.genes == other.genes
    }
}

impl Eq for Genome {}

impl PartialOrd for Genome {
    fn partial_cmp(&self, other: &Genome) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Genome {
    /// Lexicographic, as slices and vectors compare.
    fn cmp(&self, other: &Genome) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Genome {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.len);
        for &gene in self.as_slice() {
            state.write_i64(gene);
        }
    }
}

impl std::fmt::Debug for Genome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl Serialize for Genome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Genome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Genome, D::Error> {
        let genes = Vec::<i64>::deserialize(d)?;
        Genome::from_slice(&genes).ok_or_else(|| {
            serde::de::Error::custom(format!("a genome has at most {MAX_GENES} genes, found {}", genes.len()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_the_vector_it_replaced() {
        let pairs = [(vec![1, 2], vec![1, 3]), (vec![5, 1], vec![4, 9]), (vec![2, 2, 7], vec![2, 2, 7])];
        for (a, b) in pairs {
            let (x, y) = (Genome::from_slice(&a).unwrap(), Genome::from_slice(&b).unwrap());
            assert_eq!(x.cmp(&y), a.cmp(&b));
            assert_eq!(x == y, a == b);
            assert_eq!(serde_json::to_string(&x).unwrap(), serde_json::to_string(&a).unwrap());
            let back: Genome = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            assert_eq!(back, x);
        }
        assert!(serde_json::from_str::<Genome>("[1,2,3,4,5,6,7,8,9]").is_err());
        assert!(Genome::from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]).is_none());
        assert_eq!(Genome::from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]).map(|g| g.len()), Some(MAX_GENES));
        let mut g: Genome = [7, 8].into_iter().collect();
        g[1] = 9;
        assert_eq!(&g[..], &[7, 9]);
    }
}
