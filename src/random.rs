//! Randomness enters the crate only through [`Random`].
//!
//! Stream ids, SCRAM nonces and dialback secrets need unpredictable bytes.
//! Machines take a `Box<dyn Random>` (or a generic) so that tests can
//! inject a deterministic source and replay a whole negotiation byte for
//! byte; [`OsRandom`] is the default and reads the operating system's
//! generator.

/// A source of random bytes.
pub trait Random: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's cryptographically secure generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The OS generator failing is not something a protocol machine can
        // recover from; continuing with predictable nonces would be worse.
        getrandom::fill(buf).expect("the operating system's random generator failed");
    }
}

/// A deterministic generator for tests and reproducible runs
/// (xorshift64*, **not** cryptographically secure).
#[derive(Debug, Clone)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.state;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.state = x;
            let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

impl<R: Random + ?Sized> Random for Box<R> {
    fn fill(&mut self, buf: &mut [u8]) {
        (**self).fill(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (mut a, mut b, mut c) = (SeededRandom::new(1), SeededRandom::new(1), SeededRandom::new(2));
        let (mut x, mut y, mut z) = ([0u8; 21], [0u8; 21], [0u8; 21]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn os_random_fills() {
        let mut buf = [0u8; 32];
        OsRandom.fill(&mut buf);
        assert_ne!(buf, [0u8; 32]);
    }
}
