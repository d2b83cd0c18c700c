//! The wasmtime `Engine`: Cranelift, the pooling instance allocator with
//! copy-on-write memory images (instantiation is a few page-table updates,
//! not a copy of the Go runtime's data segment), and epoch interruption
//! driven by a ticker thread so a deadline interrupts any guest code,
//! including loops without calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

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
#[derive(Debug)]
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(super) fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
