//! Python's `random` module, as far as `--lora-modules` needs it: `random.seed(s)` for an integer
//! seed, then `random.choice(names)` once per request.
//!
//! The reference picks each request's LoRA adapter with `random.choice` from a generator seeded
//! with `--seed` and used for nothing else, so reproducing Python's stream (MT19937 seeded with
//! `init_by_array`, `_randbelow` by rejection on `getrandbits(bit_length(n))`) sends the same
//! adapter names in the same order as the reference. It owns nothing else (no floats, no shuffle).

use super::numpy_rng::NumpyRng;

/// `random.Random(seed)` for a seed below 2^32.
pub struct PyRandom {
    mt: NumpyRng,
}

impl PyRandom {
    pub fn new(seed: u32) -> Self {
        // CPython seeds with the absolute value's 32-bit words, least significant first; 0 is [0].
        PyRandom { mt: NumpyRng::from_key(&[seed]) }
    }

    /// `getrandbits(k)` for `1 <= k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u32 {
        self.mt.next_u32() >> (32 - k)
    }

    /// `_randbelow(n)`: uniform on `[0, n)`; 0 when `n` is 0 (where Python would raise).
    pub fn randbelow(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }
}

/// The index of `random.choice(names)` for each of `n_requests` requests, as the reference draws
/// them (`random.seed(seed)` first, nothing else drawn from that generator).
pub fn choices(seed: u32, n_names: usize, n_requests: usize) -> Vec<usize> {
    let mut random = PyRandom::new(seed);
    let n_names = u32::try_from(n_names).unwrap_or(u32::MAX);
    (0..n_requests).map(|_| random.randbelow(n_names) as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3: `random.seed(s); [random.choice(range(n)) for _ in …]`.
    #[test]
    fn matches_python_choice() {
        assert_eq!(choices(0, 3, 20), [1, 1, 0, 1, 2, 1, 1, 1, 1, 1, 2, 0, 2, 0, 1, 0, 0, 2, 1, 2]);
        assert_eq!(choices(7, 5, 20), [2, 1, 3, 0, 0, 4, 0, 2, 4, 0, 4, 1, 0, 0, 3, 3, 0, 1, 0, 4]);
        assert_eq!(choices(4_294_967_295, 1000, 8), [650, 634, 208, 220, 621, 534, 298, 617]);
    }

    #[test]
    fn a_single_name_still_consumes_draws_as_python_does() {
        let mut random = PyRandom::new(12345);
        assert_eq!([random.randbelow(1), random.randbelow(1), random.randbelow(1)], [0, 0, 0]);
        assert_eq!(random.getrandbits(32), 3_672_791_226);
    }
}
