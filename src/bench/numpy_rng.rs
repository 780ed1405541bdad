//! NumPy's legacy global generator (`np.random.seed(s)` then `np.random.randint`), reproduced.
//!
//! The reference draws every random-dataset integer from it, so reproducing its stream lets `ix`
//! build the same prompts as the reference for the same seed. Only what the dataset uses is here:
//! MT19937 seeded with `init_genrand` (NumPy's legacy integer seeding) and bounded integers drawn
//! the legacy way (32-bit words masked to the next power of two, rejected while out of range).
//! Gamma/exponential draws for pacing are not reproduced (see `pacing.rs`). [`NumpyRng::from_key`]
//! is MT19937's `init_by_array` seeding, which Python's `random.seed` uses (see `py_random.rs`).

const N: usize = 624;
const M: usize = 397;

/// A Mersenne Twister in NumPy's legacy configuration.
#[derive(Clone)]
pub struct NumpyRng {
    state: Box<[u32; N]>,
    pos: usize,
}

impl NumpyRng {
    /// `np.random.seed(seed)` for an integer seed below 2^32.
    pub fn new(seed: u32) -> Self {
        let mut state = Box::new([0u32; N]);
        state[0] = seed;
        for idx in 1..N {
            let prev = state[idx - 1];
            state[idx] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(idx as u32);
        }
        NumpyRng { state, pos: N }
    }

    /// MT19937 seeded with `init_by_array(key)` (Python's `random.seed` for integers).
    pub fn from_key(key: &[u32]) -> Self {
        let mut rng = NumpyRng::new(19_650_218);
        let mt = &mut rng.state;
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1];
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        rng.pos = N;
        rng
    }

    fn refill(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX: u32 = 0x9908_b0df;
        let mt = &mut self.state;
        for idx in 0..N {
            let y = (mt[idx] & UPPER) | (mt[(idx + 1) % N] & LOWER);
            let mut next = mt[(idx + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= MATRIX;
            }
            mt[idx] = next;
        }
        self.pos = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.refill();
        }
        let mut y = self.state[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// One draw of `np.random.randint(low, high)`: uniform on `[low, high)`; `low` when empty.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        if high <= low + 1 {
            return low;
        }
        let range = (high - low - 1) as u64;
        low + self.bounded(range) as i64
    }

    /// `n` draws of `np.random.randint(low, high, size=n)`.
    pub fn randint_n(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.randint(low, high)).collect()
    }

    /// Uniform on `[0, range]` (inclusive), the legacy masked rejection method.
    fn bounded(&mut self, range: u64) -> u64 {
        if range == 0 {
            return 0;
        }
        if range <= u64::from(u32::MAX) {
            if range == u64::from(u32::MAX) {
                return u64::from(self.next_u32());
            }
            let mask = mask_for(range);
            loop {
                let value = u64::from(self.next_u32()) & mask;
                if value <= range {
                    return value;
                }
            }
        }
        if range == u64::MAX {
            return self.next_u64();
        }
        let mask = mask_for(range);
        loop {
            let value = self.next_u64() & mask;
            if value <= range {
                return value;
            }
        }
    }
}

fn mask_for(range: u64) -> u64 {
    let mut mask = range;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_mt19937_reference_stream() {
        // First outputs of genrand_int32 after init_genrand(5489), the canonical MT19937 check.
        let mut rng = NumpyRng::new(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
        assert_eq!(rng.next_u32(), 581_869_302);
        assert_eq!(rng.next_u32(), 3_890_346_734);
    }

    #[test]
    fn matches_numpy_randint_seed_0() {
        // np.random.seed(0); np.random.randint(0, 50257, size=5)
        let mut rng = NumpyRng::new(0);
        assert_eq!(rng.randint_n(0, 50257, 5), NUMPY_SEED0_50257.to_vec());
    }

    /// Recorded from NumPy 2.x (legacy `np.random`).
    const NUMPY_SEED0_50257: [i64; 5] = [2732, 43567, 42613, 45891, 21243];

    #[test]
    fn matches_numpy_consecutive_calls_seed_3() {
        // np.random.seed(3); randint(819, 1025, size=4); randint(0, 50257, size=3)
        let mut rng = NumpyRng::new(3);
        assert_eq!(rng.randint_n(819, 1025, 4), vec![925, 971, 950, 1003]);
        assert_eq!(rng.randint_n(0, 50257, 3), vec![25544, 39168, 25365]);
    }

    #[test]
    fn stays_in_range() {
        let mut rng = NumpyRng::new(42);
        for _ in 0..10_000 {
            let value = rng.randint(819, 1025);
            assert!((819..1025).contains(&value));
        }
        assert_eq!(rng.randint(7, 8), 7);
    }
}
