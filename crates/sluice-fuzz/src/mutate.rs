//! A small coverage-blind mutator for the brief runs of `cargo test` (libFuzzer does the long,
//! coverage-guided ones): seeded, so a run is the same on every machine, and a failure names
//! the input that caused it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::Target;

/// xorshift64*: enough randomness for mutation, the same sequence for one seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Longest input a mutation makes.
const MAX_LEN: usize = 4096;

/// One to four mutations of `input`: byte flips, random or interesting bytes, dictionary
/// tokens inserted or overwritten, ranges deleted or duplicated, a splice of another input.
pub fn mutate(rng: &mut Rng, input: &[u8], dict: &[&str], others: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                const INTERESTING: &[u8] = b"\0\n\r\t /\\.%:;\"'()[]{}*?!-#@<>=,\xff\xc3\xa9";
                let b = INTERESTING[rng.below(INTERESTING.len())];
                out.insert(rng.below(len + 1), b);
            }
            2 | 3 if !dict.is_empty() => {
                let token = dict[rng.below(dict.len())].as_bytes();
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                out.drain(start..end);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let copy = out[start..end].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, copy);
            }
            6 if !others.is_empty() => {
                let other = &others[rng.below(others.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                let b = rng.next_u64() as u8;
                out.insert(rng.below(len + 1), b);
            }
        }
    }
    out.truncate(MAX_LEN);
    out
}

/// Runs `target` on every seed, then on `iterations` mutants of them. A failing input is
/// written to `$TMPDIR/sluice-fuzz-failed/` (to add to the corpus once fixed, or to replay
/// with `cargo fuzz run NAME FILE`) and the panic names it. Returns how many inputs ran.
pub fn run(target: &Target, seeds: &[Vec<u8>], iterations: usize, seed: u64) -> usize {
    let check = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| (target.check)(input))).is_err() {
            let dir = std::env::temp_dir().join("sluice-fuzz-failed");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{}-{:016x}", target.name, fxhash(input)));
            let _ = std::fs::write(&file, input);
            panic!(
                "{}: property failed on {:?} (saved as {})",
                target.name,
                String::from_utf8_lossy(input),
                file.display()
            );
        }
    };
    for s in seeds {
        check(s);
    }
    let mut rng = Rng::new(seed);
    let empty = [Vec::new()];
    let pool: &[Vec<u8>] = if seeds.is_empty() { &empty } else { seeds };
    for _ in 0..iterations {
        let base = &pool[rng.below(pool.len())];
        let input = mutate(&mut rng, base, target.dict, pool);
        check(&input);
    }
    seeds.len() + iterations
}

/// A stable name for a failing input.
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x1000_0000_01b3)
    })
}
