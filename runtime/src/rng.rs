//! The only source of randomness in a run. Every draw comes from a stream named by
//! (seed, island, generation, index), so what an individual becomes never depends on which
//! thread, process or machine computed it, nor on what was computed before it.

/// The generator behind every stream: PCG-64 (MCG), whose output is fixed by its
/// algorithm, so a seed gives the same run on every platform and every rand release.
pub type Prng = rand_pcg::Pcg64Mcg;

/// The stream of individual `index` of `generation` on `island`, for a run seeded `seed`.
pub fn stream(seed: u64, island: u64, generation: u64, index: u64) -> Prng {
    // SplitMix64's finaliser between coordinates: neighbouring coordinates give unrelated
    // streams (a plain sum or xor would make (1, 0) and (0, 1) collide).
    let mut state = mix(seed ^ 0x6761_666f_726d_0001);
    for coordinate in [island, generation, index] {
        state = mix(state ^ mix(coordinate.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    }
    let high = u128::from(mix(state ^ 0x5851_f42d_4c95_7f2d));
    Prng::new((high << 64) | u128::from(state))
}

/// SplitMix64's output function (Steele, Lea & Flood 2014).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_coordinates_same_stream_and_neighbours_differ() {
        let draw = |s: u64, i: u64, g: u64, k: u64| stream(s, i, g, k).random::<u64>();
        assert_eq!(draw(7, 1, 2, 3), draw(7, 1, 2, 3));
        let all = [draw(7, 1, 2, 3), draw(7, 2, 1, 3), draw(7, 1, 3, 2), draw(8, 1, 2, 3), draw(7, 0, 0, 0)];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    /// Pins the generator: if a dependency update changed the stream, every seeded run
    /// users have recorded would change with it.
    #[test]
    fn stream_is_pinned() {
        let mut rng = stream(42, 0, 0, 0);
        let first: [u64; 2] = [rng.random(), rng.random()];
        assert_eq!(first, PINNED);
    }
    const PINNED: [u64; 2] = [5_576_691_611_043_330_951, 6_671_595_724_773_458_316];
}
