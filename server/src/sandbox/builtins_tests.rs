//! The built-in artifact cache: a second load maps instead of compiling,
//! and whatever is wrong with an entry makes a compile, never a load.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::sandbox::SandboxLimits;
use wasmtime::Module;

/// `(module (func (export "f")))`, binary (the `wat` feature is off).
const EXPORTS_F: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
    0x03, 0x02, 0x01, 0x00, // function 0: type 0
    0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00, // export "f" = func 0
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: no locals, end
];

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxLimits {
        memory_pages: 16,
        deadline: Duration::from_secs(1),
        slots: 2,
        max_input_bytes: 1024,
        pooling: false,
        ..crate::config::SANDBOX_DEFAULTS
    })
    .unwrap()
}

/// A guests directory holding `f.wasm`, and an empty cache directory.
fn dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    let guests = tempfile::tempdir().unwrap();
    std::fs::write(guests.path().join("f.wasm"), EXPORTS_F).unwrap();
    (guests, tempfile::tempdir().unwrap())
}

fn digest() -> String {
    hex::encode(Sha256::digest(EXPORTS_F))
}

/// Loads the guests into a fresh sandbox (a new engine, as after a restart),
/// checks `f` is installed under its module digest, returns the counts.
fn load(guests: &Path, cache: &Path) -> (usize, usize) {
    let sandbox = sandbox();
    let loaded = sandbox.load_builtins(guests, cache).unwrap();
    let info = sandbox
        .guest_info(&GuestKey::Builtin("f".into()))
        .expect("f installed");
    assert_eq!(info.digest, digest());
    assert_eq!(info.exports, ["f"]);
    (loaded.precompiled, loaded.compiled)
}

fn record(cache: &Path) -> ArtifactRecord {
    serde_json::from_slice(&std::fs::read(record_path(cache, &digest())).unwrap()).unwrap()
}

#[test]
fn a_second_load_maps_the_cached_artifact_instead_of_compiling() {
    let (guests, cache) = dirs();
    assert_eq!(load(guests.path(), cache.path()), (0, 1));
    assert!(artifact_path(cache.path(), &digest()).is_file());
    assert_eq!(record(cache.path()).engine, sandbox().engine_fingerprint());
    assert_eq!(load(guests.path(), cache.path()), (1, 0));
}

#[test]
fn a_corrupted_artifact_is_recompiled_not_trusted_and_the_entry_is_healed() {
    let (guests, cache) = dirs();
    load(guests.path(), cache.path());
    let path = artifact_path(cache.path(), &digest());
    let mut code = std::fs::read(&path).unwrap();
    let last = code.len() - 1;
    code[last] ^= 1;
    std::fs::write(&path, &code).unwrap();

    assert_eq!(load(guests.path(), cache.path()), (0, 1));
    assert_ne!(std::fs::read(&path).unwrap(), code, "rewritten");
    assert_eq!(load(guests.path(), cache.path()), (1, 0));
}

#[test]
fn an_artifact_of_another_engine_is_recompiled_even_with_a_matching_record() {
    let (guests, cache) = dirs();
    load(guests.path(), cache.path());
    // Made by another engine configuration, with a record whose digest
    // matches it: only wasmtime's own check stands in the way.
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(false);
    let other = wasmtime::Engine::new(&config).unwrap();
    let foreign = wasmtime::Module::new(&other, EXPORTS_F)
        .unwrap()
        .serialize()
        .unwrap();
    std::fs::write(artifact_path(cache.path(), &digest()), &foreign).unwrap();
    let forged = ArtifactRecord {
        sha256: crate::sandbox::artifact::digest(&foreign),
        ..record(cache.path())
    };
    std::fs::write(
        record_path(cache.path(), &digest()),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();

    assert_eq!(load(guests.path(), cache.path()), (0, 1));
    assert_eq!(load(guests.path(), cache.path()), (1, 0));
}

#[test]
fn an_entry_recorded_by_another_engine_is_recompiled() {
    let (guests, cache) = dirs();
    load(guests.path(), cache.path());
    let other = ArtifactRecord {
        engine: "another wasmtime".into(),
        ..record(cache.path())
    };
    std::fs::write(
        record_path(cache.path(), &digest()),
        serde_json::to_vec(&other).unwrap(),
    )
    .unwrap();
    assert_eq!(load(guests.path(), cache.path()), (0, 1));
    assert_eq!(record(cache.path()).engine, sandbox().engine_fingerprint());
}

#[test]
fn entries_of_guests_no_longer_shipped_are_removed_and_other_files_kept() {
    let (guests, cache) = dirs();
    let gone = "ab".repeat(32);
    std::fs::write(artifact_path(cache.path(), &gone), b"old").unwrap();
    std::fs::write(record_path(cache.path(), &gone), b"{}").unwrap();
    std::fs::write(cache.path().join("notes.json"), b"{}").unwrap();
    load(guests.path(), cache.path());
    assert!(!artifact_path(cache.path(), &gone).exists());
    assert!(!record_path(cache.path(), &gone).exists());
    assert!(cache.path().join("notes.json").exists());
    assert!(artifact_path(cache.path(), &digest()).exists());
}

#[test]
fn a_shared_cache_keeps_the_entries_of_other_guest_sets() {
    let (guests, cache) = dirs();
    let other = "cd".repeat(32);
    std::fs::write(artifact_path(cache.path(), &other), b"theirs").unwrap();
    std::fs::write(record_path(cache.path(), &other), b"{}").unwrap();
    let sandbox = sandbox();
    let loaded = sandbox
        .load_builtins_shared(guests.path(), cache.path())
        .unwrap();
    assert_eq!((loaded.precompiled, loaded.compiled), (0, 1));
    assert!(artifact_path(cache.path(), &other).exists());
    assert!(record_path(cache.path(), &other).exists());
    assert!(artifact_path(cache.path(), &digest()).exists());
}

#[test]
fn the_compile_cache_maps_a_module_compiled_before_and_recompiles_a_damaged_entry() {
    let cache = tempfile::tempdir().unwrap();
    let with_cache = || sandbox().with_compile_cache(Some(cache.path().to_owned()));
    let path = artifact_path(cache.path(), &digest());

    let first = with_cache().compile_shared("f", EXPORTS_F).unwrap();
    assert_eq!(first.info().exports, ["f"]);
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();

    // Another engine (a restart, another server): mapped, nothing rewritten.
    std::thread::sleep(Duration::from_millis(20));
    let second = with_cache().compile_shared("f", EXPORTS_F).unwrap();
    assert_eq!(second.info().digest, digest());
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        written
    );

    // A flipped byte is refused before wasmtime sees it: compiled again
    // and the entry replaced.
    let mut code = std::fs::read(&path).unwrap();
    let last = code.len() - 1;
    code[last] ^= 1;
    std::fs::write(&path, &code).unwrap();
    let healed = with_cache().compile_shared("f", EXPORTS_F).unwrap();
    assert_eq!(healed.info().exports, ["f"]);
    assert_ne!(std::fs::read(&path).unwrap(), code, "rewritten");
}

#[test]
fn without_a_compile_cache_nothing_is_written_and_the_preflight_still_refuses() {
    let cache = tempfile::tempdir().unwrap();
    sandbox().compile_shared("f", EXPORTS_F).unwrap();
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    let cached = sandbox().with_compile_cache(Some(cache.path().to_owned()));
    assert!(matches!(
        cached.compile_shared("junk", b"\0asm\x01\0\0\0\x05"),
        Err(LoadError::Preflight { .. } | LoadError::Invalid { .. })
    ));
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_cache_directory_other_users_may_write_to_is_neither_read_nor_written() {
    use std::os::unix::fs::PermissionsExt as _;
    let cache = tempfile::tempdir().unwrap();
    let with_cache = || sandbox().with_compile_cache(Some(cache.path().to_owned()));
    with_cache().compile_shared("f", EXPORTS_F).unwrap();
    let path = artifact_path(cache.path(), &digest());
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();

    // World-writable: anyone could have planted this entry. Compiled, and
    // the entry left as it is.
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let compiled = with_cache().compile_shared("f", EXPORTS_F).unwrap();
    assert_eq!(compiled.info().exports, ["f"]);
    assert!(private(cache.path()).is_err());
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        written
    );

    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(private(cache.path()).is_ok());
}

#[test]
fn an_upload_with_a_built_ins_bytes_shares_its_code_under_its_own_name() {
    let (guests, cache) = dirs();
    let sandbox = sandbox();
    sandbox.load_builtins(guests.path(), cache.path()).unwrap();
    let builtin = sandbox.guest(&GuestKey::Builtin("f".into())).unwrap();

    let plugin = sandbox.compile_shared(&digest(), EXPORTS_F).unwrap();
    assert!(Module::same(
        plugin.guest.pre.module(),
        builtin.pre.module()
    ));
    assert_eq!(
        (plugin.info().name.as_str(), plugin.info().digest.as_str()),
        (digest().as_str(), digest().as_str())
    );
    // Other bytes (the export renamed `g`) are compiled for themselves.
    let renamed: Vec<u8> = EXPORTS_F
        .iter()
        .map(|&b| if b == b'f' { b'g' } else { b })
        .collect();
    let other = sandbox.compile_shared("g", &renamed).unwrap();
    assert_eq!(other.info().exports, ["g"]);
    assert!(!Module::same(
        other.guest.pre.module(),
        builtin.pre.module()
    ));
}
