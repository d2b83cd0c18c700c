//! The memory cap: a `ResourceLimiter` that refuses growth past the cap and
//! remembers that it did, because a Go guest reports a refused
//! `memory.grow` as its own "out of memory" exit rather than a trap.

use wasmtime::ResourceLimiter;

/// Bytes in a wasm page.
pub const PAGE_BYTES: u64 = 64 * 1024;

/// Per-instance memory cap that records when it was hit.
#[derive(Debug, Clone)]
pub struct MemoryCap {
    max_bytes: usize,
    hit: bool,
    peak_bytes: usize,
}

impl MemoryCap {
    /// A cap of `pages` 64 KiB pages.
    pub fn new(pages: u64) -> Self {
        Self {
            max_bytes: (pages * PAGE_BYTES) as usize,
            hit: false,
            peak_bytes: 0,
        }
    }

    /// Whether the guest asked for more than the cap.
    pub fn was_hit(&self) -> bool {
        self.hit
    }

    /// Largest memory size granted, in pages.
    pub fn peak_pages(&self) -> u64 {
        self.peak_bytes as u64 / PAGE_BYTES
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Go's tables are fixed-size; a guest growing one past this is hostile.
        Ok(desired <= 1 << 20)
    }
}
