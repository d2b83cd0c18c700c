//! The memory cap: a `ResourceLimiter` that refuses growth past the cap and
//! remembers that it did, because a Go guest reports a refused
//! `memory.grow` as its own "out of memory" exit rather than a trap.
//!
//! And the sandbox's fixed numbers: the operator's limits come from
//! `Config` through [`super::SandboxLimits`]; these are not a choice.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Bytes in a wasm page: fixed by the WebAssembly specification.
pub const PAGE_BYTES: u64 = 64 * 1024;

/// How often the epoch advances: the deadline's resolution and the unit of
/// CPU accounting (`cpu_ms`, the fair scheduler's slices). Fixed, because
/// the scheduler's tuning (below) and the tenants' `cpu_ms` are counted in
/// it; a coarser tick would let a deadline overrun by that much.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// How long a guest parked in a host call (a sleep) keeps its fair slice
/// before the scheduler lends it: part of the scheduler's measured tuning
/// (docs/fair-cpu.md), not a limit an operator sizes.
pub const STALL: Duration = Duration::from_millis(4);

/// Guest threads when the number of cores cannot be read: the target
/// machine's two.
const FALLBACK_CORES: usize = 2;

/// The guest threads configured, or one per core.
pub fn guest_threads(configured: Option<usize>) -> usize {
    configured
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(FALLBACK_CORES, |n| n.get()))
}

/// Per-instance memory cap that records when it was hit.
#[derive(Debug, Clone)]
pub struct MemoryCap {
    max_bytes: usize,
    max_table_elements: usize,
    hit: bool,
    peak_bytes: usize,
}

impl MemoryCap {
    /// A cap of `pages` 64 KiB pages, and of `table_elements` per table.
    pub fn new(pages: u64, table_elements: u32) -> Self {
        Self {
            max_bytes: (pages * PAGE_BYTES) as usize,
            max_table_elements: table_elements as usize,
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
        // Go's tables are fixed-size; a guest growing one past the pool's
        // table size is hostile (this also bounds on-demand instances).
        Ok(desired <= self.max_table_elements)
    }
}
