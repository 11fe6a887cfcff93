//! A deterministic random generator for tests, fuzzing and the bench's cue timing: xorshift64,
//! the same numbers from the same seed (so a failing input can be made again), no crate.

#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        Xorshift(seed | 1)
    }

    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.draw() % n.max(1) as u64) as usize
    }

    /// A number in 0..1.
    pub fn unit(&mut self) -> f64 {
        (self.draw() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One fuzzing mutation of `bytes`: a bit flipped, a byte set to one of `special` (a
    /// format's delimiters and edges), cut, a byte removed, a run repeated, or a size or
    /// count field made huge.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>, special: &[u8]) {
        if bytes.is_empty() {
            bytes.push(self.draw() as u8);
            return;
        }
        let at = self.below(bytes.len());
        match self.below(6) {
            0 => bytes[at] ^= 1 << self.below(8),
            1 => bytes[at] = *self.pick(special),
            2 => bytes.truncate(at),
            3 => {
                bytes.remove(at);
            }
            4 => {
                let chunk: Vec<u8> = bytes[at..].iter().take(8).copied().collect();
                bytes.splice(at..at, chunk);
            }
            _ => {
                let end = (at + 4).min(bytes.len());
                bytes[at..end].fill(0xff);
            }
        }
    }
}
