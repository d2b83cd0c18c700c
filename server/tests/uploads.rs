//! What an upload must pass (seed task 12), and how uploads behave under
//! concurrency and a busy pool: typed reasons, the uploader's smoke input,
//! the validation budget, one entry from twenty parallel uploads.

mod common;
mod registry_fixture;
use common::*;
use registry_fixture::*;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use server::registry::{PluginMeta, RegistryError, ValidationLimits};
use server::sandbox::{GuestKey, Sandbox, SandboxLimits};

#[tokio::test]
async fn invalid_uploads_are_rejected_with_a_typed_reason_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let reason = |r: Result<(PluginMeta, bool), RegistryError>| match r {
        Err(RegistryError::Rejected { reason, .. }) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert_eq!(
        f.upload_bytes("csv", b"<html>".to_vec(), None).await,
        Err(RegistryError::NotWasm)
    );
    let truncated = guest("process")[..1000].to_vec();
    assert_eq!(
        reason(f.upload_bytes("csv", truncated, None).await),
        "compile_failed"
    );
    assert_eq!(
        reason(
            f.upload_bytes("evil", FORBIDDEN_IMPORT.to_vec(), None)
                .await
        ),
        "forbidden_import"
    );
    assert_eq!(
        reason(f.upload_bytes("huge", HUGE_MEMORY.to_vec(), None).await),
        "memory_too_large"
    );
    assert_eq!(reason(f.upload("adder", "add").await), "missing_export");
    assert_eq!(reason(f.upload("quitter", "exit").await), "smoke_failed");
    assert!(matches!(
        f.upload("Bad Name", "process").await,
        Err(RegistryError::BadName { .. })
    ));
    assert_eq!(stored_files(dir.path()), 0, "nothing stored");
    assert!(f.registry.plugins().is_empty());
    assert!(f.registry.activations().is_empty());
}

/// A registry whose smoke calls get 300 ms.
fn quick(dir: &tempfile::TempDir) -> Fixture {
    let quick = ValidationLimits {
        smoke_budget: Duration::from_millis(300),
        ..VALIDATION
    };
    open_with(dir.path(), sandbox(), quick)
}

#[tokio::test]
async fn the_uploader_chooses_the_smoke_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = quick(&dir);
    // The sleeper reads its input as a duration; CSV makes it sleep 30 s.
    let started = Instant::now();
    let refused = f.upload("sleepy", "sleeper").await.unwrap_err();
    assert_eq!(refused.reason(), Some("smoke_failed"), "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut at the budget"
    );
    let (meta, created) = f
        .upload_bytes("sleepy", guest("sleeper"), Some("1ms"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(f.registry.resolve("sleepy").unwrap(), meta.digest);
}

#[tokio::test]
async fn a_module_that_sleeps_while_starting_is_refused_at_the_validation_budget() {
    let dir = tempfile::tempdir().unwrap();
    let f = quick(&dir);
    let started = Instant::now();
    let refused = f.upload("slow", "sleepinit").await.unwrap_err();
    assert_eq!(refused.reason(), Some("smoke_failed"), "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stored_files(dir.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_modules_sleeping_at_start_are_refused_within_5_s_of_their_compile_beside_a_valid_upload()
 {
    let dir = tempfile::tempdir().unwrap();
    let defaults = server::Config::with_assets_dir(dir.path()).validation_limits();
    let sandbox = sandbox();
    // What the compile alone costs here, so the bound is on the smoke call.
    let compiling = Instant::now();
    sandbox.compile("sleepinit", &guest("sleepinit")).unwrap();
    let compile = compiling.elapsed();
    let f = Arc::new(open_with(dir.path(), sandbox, defaults));
    let started = Instant::now();
    let sleepy: Vec<_> = (0..10)
        .map(|_| {
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                let refused = f.upload("slow", "sleepinit").await;
                (refused, Instant::now())
            })
        })
        .collect();
    let valid = f.upload("csv", "process").await;
    let valid_took = started.elapsed();
    assert!(valid.is_ok(), "{valid:?}");
    let mut last = started;
    for task in sleepy {
        let (refused, at) = task.await.unwrap();
        assert_eq!(
            refused.unwrap_err().reason(),
            Some("smoke_failed"),
            "a typed refusal"
        );
        last = last.max(at);
    }
    eprintln!(
        "compile {compile:?}; valid upload {valid_took:?}; ten sleepy uploads refused by {:?}",
        last - started
    );
    // One compile and one smoke budget, not the module's 30 s sleep; the
    // other nine wait for that one (one upload per digest at a time) and
    // get its refusal without a compile. The valid upload's compile
    // shares the cores meanwhile (generous: a shared CI machine; here
    // 7.7 s with a 1.7 s compile).
    assert!(
        last - started < 3 * compile + defaults.smoke_budget + Duration::from_secs(5),
        "{:?}",
        last - started
    );
    // The valid upload did not queue behind them: its compile and smoke
    // call, with at most one sleepy compile and budget beside it.
    assert!(
        valid_took < 3 * compile + defaults.smoke_budget + Duration::from_secs(5),
        "valid upload {valid_took:?} (compile {compile:?})"
    );
    assert_eq!(f.registry.plugins().len(), 1);
}

#[tokio::test]
async fn a_busy_pool_makes_an_upload_retryable_not_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let one_slot = Arc::new(Sandbox::new(SandboxLimits { slots: 1, ..LIMITS }).unwrap());
    for name in ["sleeper", "add"] {
        one_slot
            .load(GuestKey::Builtin(name.into()), &guest(name))
            .unwrap();
    }
    let f = open_with(dir.path(), Arc::clone(&one_slot), VALIDATION);
    // A sleeper holds the only slot (for 20 s: far longer than the upload's
    // compile, however busy the machine).
    let holder = Arc::clone(&one_slot);
    tokio::spawn(async move {
        let options = server::sandbox::CallOptions::with_limits(server::sandbox::CallLimits {
            memory_pages: 256,
            deadline: Duration::from_secs(20),
        });
        // Our knocks below may hold the slot for an instant: retry until in.
        loop {
            let input = Bytes::from_static(b"20s");
            let call = holder
                .invoke(&GuestKey::Builtin("sleeper".into()), "t", input, options)
                .await;
            if !matches!(call.result, Err(server::sandbox::SandboxError::Busy { .. })) {
                return call;
            }
            tokio::task::yield_now().await;
        }
    });
    let waited = Instant::now();
    while one_slot.call_add("add", 1, 1).await.is_ok() {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the sleeper never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let busy = f.upload("csv", "process").await.unwrap_err();
    assert_eq!(
        busy,
        RegistryError::Busy {
            retry_after_secs: 1
        }
    );
    assert!(f.registry.plugins().is_empty());
    assert_eq!(stored_files(dir.path()), 0, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_uploads_of_one_module_end_with_one_callable_entry() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(open(dir.path()));
    let uploads: Vec<_> = (0..20)
        .map(|_| {
            let f = Arc::clone(&f);
            tokio::spawn(async move { f.upload("csv", "process").await })
        })
        .collect();
    let mut created = 0;
    for upload in uploads {
        let (_, new) = upload.await.unwrap().expect("every upload succeeds");
        created += usize::from(new);
    }
    assert_eq!(created, 1, "stored once, found stored 19 times");
    assert_eq!(f.registry.plugins().len(), 1);
    assert_eq!(stored_files(dir.path()), 3, ".wasm, .cwasm, .json");
    assert_eq!(f.version_of("csv").await, "csv2json/1");
    drop(f);
    let reopened = open(dir.path());
    assert_eq!(reopened.version_of("csv").await, "csv2json/1");
}
