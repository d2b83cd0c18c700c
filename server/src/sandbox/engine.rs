//! The wasmtime `Engine`: Cranelift, the pooling instance allocator with
//! copy-on-write memory images (instantiation is a few page-table updates,
//! not a copy of the Go runtime's data segment), and epoch interruption
//! driven by a ticker thread: at every tick a running guest yields to the
//! executor (see `call.rs`), so a deadline cuts any guest code, including
//! loops without calls.
//!
//! Where the kernel has the `PAGEMAP_SCAN` ioctl (Linux 6.7+), a slot keeps
//! the pages its last instance wrote (up to the memory cap), reset in place
//! to the module's image or to zeros, instead of giving them back with
//! `madvise`. Without it, every call took a copy-on-write fault for each
//! page of the Go runtime it wrote, and each such fault flushes the TLB of
//! every core running another guest of this process (an IPI, costly under a
//! hypervisor): a small call's guest time fell from 2.5 to 1.5 ms (p50) with
//! the pages kept. Without the ioctl the reset would `memset` the whole cap
//! at every call, so nothing is kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use super::limits::EPOCH_TICK;

/// Builds the engine for `limits.slots` concurrent instances of at most
/// `limits.memory_pages` and `limits.table_elements` (on-demand allocation
/// instead of the pool when `limits.pooling` is false).
pub(super) fn build(limits: &super::SandboxLimits) -> wasmtime::Result<Engine> {
    let slots = limits.slots;
    let cap_bytes = (limits.memory_pages * super::limits::PAGE_BYTES) as usize;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        // Async calls run on fiber stacks, one per instance in flight.
        .total_stacks(slots)
        .max_memory_size(cap_bytes)
        .table_elements(limits.table_elements as usize);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.linear_memory_keep_resident(cap_bytes)
            .pagemap_scan(Enabled::Yes);
    }
    let mut config = Config::new();
    config.epoch_interruption(true).memory_init_cow(true);
    if limits.pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
/// The ticks the ticker made, as opposed to the epoch, which the fair
/// scheduler also advances to preempt at once: CPU accounting counts only
/// these, so a forced tick costs nobody CPU time.
#[derive(Debug, Clone, Default)]
pub(super) struct Ticks(Arc<AtomicU64>);

impl Ticks {
    /// Ticks so far.
    pub(super) fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(super) fn start(engine: Engine, counted: Ticks) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                // Ticks follow the wall clock, not a count of sleeps: each
                // sleep overshoots (timer slack, scheduling), and 50 sleeps
                // of "1 ms" add up to ~54 ms. A late wake-up catches up.
                let started = Instant::now();
                let mut ticks: u64 = 0;
                while !flag.load(Ordering::Relaxed) {
                    let due = ticks_due(started.elapsed());
                    while ticks < due {
                        counted.0.fetch_add(1, Ordering::Relaxed);
                        engine.increment_epoch();
                        ticks += 1;
                    }
                    let next = started + tick_time(ticks + 1);
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
            .expect("spawning the epoch ticker thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

/// Whole ticks in `elapsed` (u64: a server runs longer than 2^32 ms).
fn ticks_due(elapsed: Duration) -> u64 {
    (elapsed.as_micros() / EPOCH_TICK.as_micros()) as u64
}

/// When tick `n` is due, from the ticker's start.
fn tick_time(n: u64) -> Duration {
    Duration::from_micros(n.saturating_mul(EPOCH_TICK.as_micros() as u64))
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (memory (export "memory") 1) (data (i32.const 0) "\2a")
    /// (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)
    /// (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8))`,
    /// binary (the `wat` feature is off).
    const PEEK_POKE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00, // types
        0x03, 0x03, 0x02, 0x00, 0x01, // functions
        0x05, 0x03, 0x01, 0x00, 0x01, // memory: 1 page
        0x07, 0x18, 0x03, // exports
        0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, //
        0x04, b'p', b'e', b'e', b'k', 0x00, 0x00, //
        0x04, b'p', b'o', b'k', b'e', 0x00, 0x01, //
        0x0a, 0x13, 0x02, // code
        0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b, // peek
        0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x3a, 0x00, 0x00, 0x0b, // poke
        0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x2a, // data: byte 0 = 42
    ];

    /// Writes `writes` in a fresh instance of `module`, then reads `reads`.
    async fn call(
        engine: &Engine,
        module: &wasmtime::Module,
        writes: &[(i32, i32)],
        reads: &[i32],
    ) -> Vec<i32> {
        let mut store = wasmtime::Store::new(engine, ());
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = wasmtime::Instance::new_async(&mut store, module, &[])
            .await
            .unwrap();
        let poke = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
            .unwrap();
        let peek = instance
            .get_typed_func::<i32, i32>(&mut store, "peek")
            .unwrap();
        for &write in writes {
            poke.call_async(&mut store, write).await.unwrap();
        }
        let mut read = Vec::new();
        for &at in reads {
            read.push(peek.call_async(&mut store, at).await.unwrap());
        }
        read
    }

    #[tokio::test]
    async fn a_reused_slot_gives_the_next_call_the_modules_image_not_the_last_calls_writes() {
        // One slot, so the second instance reuses the first one's memory
        // (kept resident where the kernel can scan it, see the module doc).
        let limits = crate::sandbox::SandboxLimits {
            slots: 1,
            memory_pages: 1,
            pooling: true,
            ..crate::config::SANDBOX_DEFAULTS
        };
        let engine = build(&limits).unwrap();
        let module = wasmtime::Module::new(&engine, PEEK_POKE).unwrap();
        let (image_byte, zero_page) = (0, 3 * 4096);
        let first = call(
            &engine,
            &module,
            &[(image_byte, 7), (zero_page, 9)],
            &[image_byte, zero_page],
        )
        .await;
        assert_eq!(first, [7, 9], "the first call's writes");
        for _ in 0..3 {
            let next = call(&engine, &module, &[], &[image_byte, zero_page]).await;
            assert_eq!(
                next,
                [42, 0],
                "the next call sees the image, not the last call's secret"
            );
            call(&engine, &module, &[(image_byte, 7), (zero_page, 9)], &[]).await;
        }
    }

    #[test]
    fn ticks_due_counts_whole_ticks_of_wall_time() {
        assert_eq!(ticks_due(Duration::ZERO), 0);
        assert_eq!(ticks_due(EPOCH_TICK - Duration::from_nanos(1)), 0);
        assert_eq!(ticks_due(EPOCH_TICK * 50), 50);
        assert_eq!(ticks_due(EPOCH_TICK * 50 + EPOCH_TICK / 2), 50);
        // Past 2^32 ticks (~50 days at 1 ms) nothing wraps.
        let later = 1u64 << 33;
        assert_eq!(ticks_due(tick_time(later)), later);
    }
}
