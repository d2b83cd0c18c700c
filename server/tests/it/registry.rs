//! The digest-keyed plugin registry (seed task 12): idempotence,
//! activation and rollback (also under load), persistence and the
//! precompiled-artifact cache. Upload validation: `uploads.rs`.

use crate::common;
use crate::registry_fixture;
use common::*;
use registry_fixture::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use server::registry::{PluginDigest, RegistryError};
use server::sandbox::GuestKey;

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
    let activation = f.registry.activate("csv", &v2.digest).await.unwrap();
    assert_eq!(activation.history, vec![v1.digest.clone()]);
    assert_eq!(f.version_of("csv").await, "csv2json/2");
    f.registry.rollback("csv").await.unwrap();
    assert_eq!(f.version_of("csv").await, "csv2json/1");
    assert_eq!(
        f.registry.rollback("csv").await,
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
        f.registry.activate("csv", &unknown).await,
        Err(RegistryError::UnknownDigest { .. })
    ));
    assert!(matches!(
        f.registry.activate("other", &v1.digest).await,
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
        f.registry.activate("csv", &v2.digest).await.unwrap();
        v2
    };
    let reopened = open(dir.path());
    assert_eq!(reopened.registry.resolve("csv").unwrap(), v2.digest);
    assert_eq!(reopened.version_of("csv").await, "csv2json/2");
    assert_eq!(reopened.registry.plugins().len(), 2);
}

#[tokio::test]
async fn a_crash_between_a_modules_bytes_and_its_metadata_leaves_an_ignored_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = {
        let f = open(dir.path());
        f.upload("csv", "process").await.unwrap().0
    };
    // An upload of v2 that stopped after its bytes (and its artifact),
    // before the metadata that makes it stored.
    let orphan = guest("process_v2");
    let digest = PluginDigest::of(&orphan);
    std::fs::write(dir.path().join(format!("modules/{digest}.wasm")), &orphan).unwrap();
    std::fs::write(dir.path().join(format!("modules/{digest}.cwasm")), b"half").unwrap();

    let reopened = open(dir.path());
    assert_eq!(reopened.registry.plugins().len(), 1);
    assert_eq!(reopened.registry.resolve("csv").unwrap(), v1.digest);
    assert!(matches!(
        reopened.registry.activate("csv", &digest).await,
        Err(RegistryError::UnknownDigest { .. })
    ));
    // The upload, tried again, goes through.
    let (v2, created) = reopened.upload("csv", "process_v2").await.unwrap();
    assert!(created);
    assert_eq!(v2.digest, digest);
    reopened.registry.activate("csv", &digest).await.unwrap();
    assert_eq!(reopened.version_of("csv").await, "csv2json/2");
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
    let recorded = reopened.artifact_of(&meta.digest);
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
    let recorded = reopened.artifact_of(&meta.digest);
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
    // At least 20 switches, and on until the load has run enough calls to
    // have met them: on a busy machine 20 switches (about 200 ms) can pass
    // before the callers get a core.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    let mut switches = 0;
    while switches < 20 || (ok.load(Ordering::Relaxed) <= 20 && std::time::Instant::now() < give_up)
    {
        f.registry.activate("csv", &v2.digest).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        f.registry.rollback("csv").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        switches += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20, "the load really ran");
}
