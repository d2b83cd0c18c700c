//! The digest-keyed plugin registry (seed task 12): validation at upload,
//! idempotence, concurrency, activation and rollback (also under load),
//! persistence.

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use server::registry::{
    PluginDigest, PluginMeta, Registry, RegistryError, Upload, ValidationLimits,
};
use server::sandbox::{GuestKey, Sandbox, SandboxLimits};

const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_millis(500),
    slots: 8,
    max_input_bytes: 1 << 20,
    pooling: true,
};

const VALIDATION: ValidationLimits = ValidationLimits {
    smoke_budget: Duration::from_secs(20),
    retry_after_secs: 1,
};

fn sandbox() -> Arc<Sandbox> {
    Arc::new(Sandbox::new(LIMITS).unwrap())
}

/// A registry in `dir` on its own sandbox.
struct Fixture {
    sandbox: Arc<Sandbox>,
    registry: Arc<Registry>,
}

fn open(dir: &std::path::Path) -> Fixture {
    open_with(dir, sandbox(), VALIDATION)
}

fn open_with(
    dir: &std::path::Path,
    sandbox: Arc<Sandbox>,
    validation: ValidationLimits,
) -> Fixture {
    let registry = Arc::new(Registry::open(dir, Arc::clone(&sandbox), validation).unwrap());
    Fixture { sandbox, registry }
}

impl Fixture {
    async fn upload_bytes(
        &self,
        name: &str,
        bytes: Vec<u8>,
        smoke_input: Option<&str>,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        self.registry
            .upload(Upload {
                name: name.to_owned(),
                version: "1".to_owned(),
                bytes: Bytes::from(bytes),
                smoke_input: smoke_input.map(|s| Bytes::from(s.to_owned())),
            })
            .await
    }

    async fn upload(&self, name: &str, module: &str) -> Result<(PluginMeta, bool), RegistryError> {
        self.upload_bytes(name, guest(module), None).await
    }

    async fn version_of(&self, name_or_digest: &str) -> String {
        let digest = self.registry.resolve(name_or_digest).unwrap();
        let call = self
            .sandbox
            .invoke(
                &GuestKey::Plugin(digest),
                "t",
                Bytes::from_static(b"k\nv\n"),
                self.sandbox.default_options(),
            )
            .await;
        let json: serde_json::Value = serde_json::from_slice(&call.result.unwrap().bytes).unwrap();
        json["version"].as_str().unwrap().to_owned()
    }
}

fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("modules"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A module importing `env.evil`: refused before any code runs.
const FORBIDDEN_IMPORT: &[u8] = b"\0asm\x01\0\0\0\
    \x01\x04\x01\x60\x00\x00\
    \x02\x0c\x01\x03env\x04evil\x00\x00";

/// A module exporting a memory of at least 300 pages (over the 256 cap).
const HUGE_MEMORY: &[u8] = b"\0asm\x01\0\0\0\
    \x05\x04\x01\x00\xac\x02\
    \x07\x0a\x01\x06memory\x02\x00";

#[tokio::test]
async fn upload_stores_the_module_under_its_sha256_and_activates_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let bytes = guest("process");
    let (meta, created) = f.upload_bytes("csv", bytes.clone(), None).await.unwrap();
    assert!(created);
    assert_eq!(meta.digest, PluginDigest::of(&bytes));
    assert!(
        dir.path()
            .join(format!("modules/{}.wasm", meta.digest))
            .is_file()
    );
    assert_eq!(f.registry.resolve("csv").unwrap(), meta.digest);
    assert_eq!(f.version_of("csv").await, "csv2json/1");
}

#[tokio::test]
async fn uploading_the_same_bytes_twice_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (first, _) = f.upload("csv", "process").await.unwrap();
    let (second, created) = f.upload("csv", "process").await.unwrap();
    assert!(!created);
    assert_eq!(first, second);
    assert_eq!(f.registry.plugins().len(), 1);
}

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

#[tokio::test]
async fn the_uploader_chooses_the_smoke_input() {
    let dir = tempfile::tempdir().unwrap();
    let quick = ValidationLimits {
        smoke_budget: Duration::from_millis(300),
        ..VALIDATION
    };
    let f = open_with(dir.path(), sandbox(), quick);
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
    let quick = ValidationLimits {
        smoke_budget: Duration::from_millis(300),
        ..VALIDATION
    };
    let f = open_with(dir.path(), sandbox(), quick);
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
        let options = server::sandbox::CallOptions {
            limits: server::sandbox::CallLimits {
                memory_pages: 256,
                deadline: Duration::from_secs(20),
            },
            cpu: server::sandbox::CpuClass::Normal,
        };
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

#[tokio::test]
async fn activate_switches_versions_and_rollback_returns() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (v1, _) = f.upload("csv", "process").await.unwrap();
    let (v2, _) = f.upload("csv", "process_v2").await.unwrap();
    assert_eq!(
        f.version_of("csv").await,
        "csv2json/1",
        "upload does not switch"
    );
    let activation = f.registry.activate("csv", &v2.digest).unwrap();
    assert_eq!(activation.history, vec![v1.digest.clone()]);
    assert_eq!(f.version_of("csv").await, "csv2json/2");
    f.registry.rollback("csv").unwrap();
    assert_eq!(f.version_of("csv").await, "csv2json/1");
    assert_eq!(
        f.registry.rollback("csv"),
        Err(RegistryError::NoPrevious { name: "csv".into() })
    );
    // Exact digests always work, whichever is active.
    assert_eq!(f.version_of(v2.digest.as_str()).await, "csv2json/2");
}

#[tokio::test]
async fn activating_an_unknown_or_foreign_digest_is_typed() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (v1, _) = f.upload("csv", "process").await.unwrap();
    let unknown = PluginDigest::of(b"nothing");
    assert!(matches!(
        f.registry.activate("csv", &unknown),
        Err(RegistryError::UnknownDigest { .. })
    ));
    assert!(matches!(
        f.registry.activate("other", &v1.digest),
        Err(RegistryError::WrongName { .. })
    ));
    assert!(matches!(
        f.registry.resolve("missing"),
        Err(RegistryError::UnknownName { .. })
    ));
}

#[tokio::test]
async fn active_digest_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = {
        let f = open(dir.path());
        f.upload("csv", "process").await.unwrap();
        let (v2, _) = f.upload("csv", "process_v2").await.unwrap();
        f.registry.activate("csv", &v2.digest).unwrap();
        v2
    };
    let reopened = open(dir.path());
    assert_eq!(reopened.registry.resolve("csv").unwrap(), v2.digest);
    assert_eq!(reopened.version_of("csv").await, "csv2json/2");
    assert_eq!(reopened.registry.plugins().len(), 2);
}

fn meta_file(dir: &std::path::Path, digest: &PluginDigest) -> std::path::PathBuf {
    dir.join(format!("modules/{digest}.json"))
}

#[tokio::test]
async fn a_restart_loads_the_stored_precompiled_artifact_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (meta, _) = f.upload("csv", "process").await.unwrap();
    let artifact = meta
        .artifact
        .clone()
        .expect("an artifact is stored at upload");
    let code = std::fs::read(f.registry.artifact_path(&meta.digest)).unwrap();
    assert_eq!(artifact.size, code.len());
    assert_eq!(artifact.sha256, server::sandbox::artifact::digest(&code));
    drop(f);

    let reopened = open(dir.path());
    assert_eq!(
        (
            reopened.registry.opened().precompiled,
            reopened.registry.opened().compiled
        ),
        (1, 0)
    );
    assert_eq!(reopened.version_of("csv").await, "csv2json/1");
}

#[tokio::test]
async fn a_damaged_artifact_is_never_loaded_the_module_is_recompiled_and_the_artifact_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (meta, _) = f.upload("csv", "process").await.unwrap();
    let path = f.registry.artifact_path(&meta.digest);
    drop(f);
    let mut code = std::fs::read(&path).unwrap();
    let middle = code.len() / 2;
    code[middle] ^= 0xff;
    std::fs::write(&path, &code).unwrap();

    let reopened = open(dir.path());
    assert_eq!(
        (
            reopened.registry.opened().precompiled,
            reopened.registry.opened().compiled
        ),
        (0, 1)
    );
    assert_eq!(reopened.version_of("csv").await, "csv2json/1");
    let repaired = std::fs::read(&path).unwrap();
    let recorded = reopened
        .registry
        .plugin(&meta.digest)
        .unwrap()
        .artifact
        .unwrap();
    assert_eq!(
        recorded.sha256,
        server::sandbox::artifact::digest(&repaired)
    );
    drop(reopened);
    let third = open(dir.path());
    assert_eq!(
        third.registry.opened().precompiled,
        1,
        "the replacement is used"
    );
}

#[tokio::test]
async fn an_artifact_of_another_engine_is_recompiled_for_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let (meta, _) = f.upload("csv", "process").await.unwrap();
    let fingerprint = meta.artifact.as_ref().unwrap().engine.clone();
    drop(f);
    let file = meta_file(dir.path(), &meta.digest);
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    stored["artifact"]["engine"] = "an-older-wasmtime".into();
    std::fs::write(&file, serde_json::to_vec(&stored).unwrap()).unwrap();

    let reopened = open(dir.path());
    assert_eq!(reopened.registry.opened().compiled, 1);
    let recorded = reopened
        .registry
        .plugin(&meta.digest)
        .unwrap()
        .artifact
        .unwrap();
    assert_eq!(recorded.engine, fingerprint);
    assert_eq!(reopened.version_of("csv").await, "csv2json/1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_and_rolling_back_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(open(dir.path()));
    f.upload("csv", "process").await.unwrap();
    let (v2, _) = f.upload("csv", "process_v2").await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (f, stop, ok, failed) = (
                Arc::clone(&f),
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&failed),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let digest = f.registry.resolve("csv").unwrap();
                    let call = f
                        .sandbox
                        .invoke(
                            &GuestKey::Plugin(digest),
                            "t",
                            Bytes::from_static(b"a\n1\n"),
                            f.sandbox.default_options(),
                        )
                        .await;
                    match call.result {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for _ in 0..20 {
        f.registry.activate("csv", &v2.digest).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        f.registry.rollback("csv").unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20, "the load really ran");
}
