//! The wasmtime `Engine`: Cranelift, the pooling instance allocator with
//! copy-on-write memory images (instantiation is a few page-table updates,
//! not a copy of the Go runtime's data segment), and epoch interruption
//! driven by a ticker thread: at every tick a running guest yields to the
//! executor (see `call.rs`), so a deadline cuts any guest code, including
//! loops without calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the deadline's resolution.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Builds the engine for `slots` concurrent instances of at most `cap_pages`
/// (on-demand allocation instead of the pool when `pooling` is false).
pub(super) fn build(slots: u32, cap_pages: u64, pooling: bool) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        // Async calls run on fiber stacks, one per instance in flight.
        .total_stacks(slots)
        .max_memory_size((cap_pages * super::limits::PAGE_BYTES) as usize)
        // Go modules carry one large funcref table.
        .table_elements(1 << 16);
    let mut config = Config::new();
    config.epoch_interruption(true).memory_init_cow(true);
    if pooling {
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
