//! The digest-keyed plugin registry (seed task 12): validation at upload,
//! idempotence, activation and rollback (also under load), persistence.

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use server::registry::{PluginDigest, Registry, RegistryError};
use server::sandbox::{Sandbox, SandboxLimits};

fn sandbox() -> Arc<Sandbox> {
    Arc::new(
        Sandbox::new(SandboxLimits {
            memory_pages: 256,
            deadline: Duration::from_millis(500),
            slots: 8,
            max_input_bytes: 1 << 20,
            pooling: true,
        })
        .unwrap(),
    )
}

fn version_of(registry: &Registry, name: &str) -> String {
    let (_, out) = registry.invoke(name, "t", b"k\nv\n").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.unwrap().bytes).unwrap();
    json["version"].as_str().unwrap().to_owned()
}

fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("modules"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn upload_stores_the_module_under_its_sha256_and_activates_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let bytes = guest("process");
    let (meta, created) = registry.upload("csv", "1.0.0", &bytes).unwrap();
    assert!(created);
    assert_eq!(meta.digest, PluginDigest::of(&bytes));
    assert!(
        dir.path()
            .join(format!("modules/{}.wasm", meta.digest))
            .is_file()
    );
    assert_eq!(registry.resolve("csv").unwrap(), meta.digest);
    assert_eq!(version_of(&registry, "csv"), "csv2json/1");
}

#[test]
fn uploading_the_same_bytes_twice_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (first, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let (second, created) = registry.upload("csv", "1", &guest("process")).unwrap();
    assert!(!created);
    assert_eq!(first, second);
    assert_eq!(registry.plugins().len(), 1);
}

#[test]
fn invalid_uploads_are_rejected_with_a_reason_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(
        registry.upload("csv", "1", b"<html>"),
        Err(RegistryError::NotWasm)
    );
    let truncated = &guest("process")[..1000];
    assert!(matches!(
        registry.upload("csv", "1", truncated),
        Err(RegistryError::Rejected { .. })
    ));
    let no_abi = registry.upload("adder", "1", &guest("add")).unwrap_err();
    assert!(
        matches!(&no_abi, RegistryError::Rejected { reason } if reason.contains("missing export")),
        "{no_abi:?}"
    );
    let smoke = registry.upload("quitter", "1", &guest("exit")).unwrap_err();
    assert!(
        matches!(&smoke, RegistryError::Rejected { reason } if reason.contains("smoke call failed")),
        "{smoke:?}"
    );
    assert!(matches!(
        registry.upload("Bad Name", "1", &guest("process")),
        Err(RegistryError::BadName { .. })
    ));
    assert_eq!(stored_files(dir.path()), 0, "nothing stored");
    assert!(registry.plugins().is_empty());
    assert!(registry.activations().is_empty());
}

#[test]
fn activate_switches_versions_and_rollback_returns() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (v1, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let (v2, _) = registry.upload("csv", "2", &guest("process_v2")).unwrap();
    assert_eq!(
        version_of(&registry, "csv"),
        "csv2json/1",
        "upload does not switch"
    );
    let activation = registry.activate("csv", &v2.digest).unwrap();
    assert_eq!(activation.history, vec![v1.digest.clone()]);
    assert_eq!(version_of(&registry, "csv"), "csv2json/2");
    registry.rollback("csv").unwrap();
    assert_eq!(version_of(&registry, "csv"), "csv2json/1");
    assert_eq!(
        registry.rollback("csv"),
        Err(RegistryError::NoPrevious { name: "csv".into() })
    );
    // Exact digests always work, whichever is active.
    assert_eq!(version_of(&registry, v2.digest.as_str()), "csv2json/2");
}

#[test]
fn activating_an_unknown_or_foreign_digest_is_typed() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (v1, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let unknown = PluginDigest::of(b"nothing");
    assert!(matches!(
        registry.activate("csv", &unknown),
        Err(RegistryError::UnknownDigest { .. })
    ));
    assert!(matches!(
        registry.activate("other", &v1.digest),
        Err(RegistryError::WrongName { .. })
    ));
    assert!(matches!(
        registry.resolve("missing"),
        Err(RegistryError::UnknownName { .. })
    ));
}

#[test]
fn active_digest_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = {
        let registry = Registry::open(dir.path(), sandbox()).unwrap();
        registry.upload("csv", "1", &guest("process")).unwrap();
        let (v2, _) = registry.upload("csv", "2", &guest("process_v2")).unwrap();
        registry.activate("csv", &v2.digest).unwrap();
        v2
    };
    let reopened = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(reopened.resolve("csv").unwrap(), v2.digest);
    assert_eq!(version_of(&reopened, "csv"), "csv2json/2");
    assert_eq!(reopened.plugins().len(), 2);
}

fn meta_file(dir: &std::path::Path, digest: &PluginDigest) -> std::path::PathBuf {
    dir.join(format!("modules/{digest}.json"))
}

#[test]
fn a_restart_loads_the_stored_precompiled_artifact_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (meta, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let artifact = meta
        .artifact
        .clone()
        .expect("an artifact is stored at upload");
    let code = std::fs::read(registry.artifact_path(&meta.digest)).unwrap();
    assert_eq!(artifact.size, code.len());
    assert_eq!(artifact.sha256, server::sandbox::artifact::digest(&code));
    drop(registry);

    let reopened = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(
        (reopened.opened().precompiled, reopened.opened().compiled),
        (1, 0)
    );
    assert_eq!(version_of(&reopened, "csv"), "csv2json/1");
}

#[test]
fn a_damaged_artifact_is_never_loaded_the_module_is_recompiled_and_the_artifact_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (meta, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let path = registry.artifact_path(&meta.digest);
    drop(registry);
    let mut code = std::fs::read(&path).unwrap();
    let middle = code.len() / 2;
    code[middle] ^= 0xff;
    std::fs::write(&path, &code).unwrap();

    let reopened = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(
        (reopened.opened().precompiled, reopened.opened().compiled),
        (0, 1)
    );
    assert_eq!(version_of(&reopened, "csv"), "csv2json/1");
    let repaired = std::fs::read(&path).unwrap();
    let recorded = reopened.plugin(&meta.digest).unwrap().artifact.unwrap();
    assert_eq!(
        recorded.sha256,
        server::sandbox::artifact::digest(&repaired)
    );
    drop(reopened);
    let third = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(third.opened().precompiled, 1, "the replacement is used");
}

#[test]
fn an_artifact_of_another_engine_is_recompiled_for_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), sandbox()).unwrap();
    let (meta, _) = registry.upload("csv", "1", &guest("process")).unwrap();
    let fingerprint = meta.artifact.as_ref().unwrap().engine.clone();
    drop(registry);
    let file = meta_file(dir.path(), &meta.digest);
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    stored["artifact"]["engine"] = "an-older-wasmtime".into();
    std::fs::write(&file, serde_json::to_vec(&stored).unwrap()).unwrap();

    let reopened = Registry::open(dir.path(), sandbox()).unwrap();
    assert_eq!(reopened.opened().compiled, 1);
    let recorded = reopened.plugin(&meta.digest).unwrap().artifact.unwrap();
    assert_eq!(recorded.engine, fingerprint);
    assert_eq!(version_of(&reopened, "csv"), "csv2json/1");
}

#[test]
fn switching_and_rolling_back_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open(dir.path(), sandbox()).unwrap());
    registry.upload("csv", "1", &guest("process")).unwrap();
    let (v2, _) = registry.upload("csv", "2", &guest("process_v2")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (registry, stop, ok, failed) = (
                Arc::clone(&registry),
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&failed),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match registry.invoke("csv", "t", b"a\n1\n") {
                        Ok((_, Ok(_))) => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for _ in 0..20 {
        registry.activate("csv", &v2.digest).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        registry.rollback("csv").unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20, "the load really ran");
}
