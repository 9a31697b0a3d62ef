//! Told about long work, so a terminal can show a progress bar: the engine calls it from its
//! worker threads; the binary draws the bar.

pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}
