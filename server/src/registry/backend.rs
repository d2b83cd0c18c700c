//! Where the registry's writes are decided. Every replica keeps a local
//! store (module bytes, precompiled artifacts, `active.json`) and serves
//! from memory; a [`Backend`] is the authority its writes go through:
//!
//! - [`Local`]: this process alone; `active.json` is the record (the
//!   embedded default, nothing else to run);
//! - [`super::nats::Nats`]: NATS JetStream, shared by every replica
//!   (module bytes in an Object Store, metadata and activations in a KV
//!   bucket whose per-key history is the activation log).
//!
//! A name's activation is written by compare-and-set on its revision, so two
//! writers of one name cannot interleave: the second gets
//! [`RegistryError::Conflict`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::activation::Names;
use super::store;
use super::types::{PluginMeta, RegistryError, storage};
use crate::digest::PluginDigest;

/// What `/healthz` says about the registry.
pub use wire::RegistryHealth as Health;

/// The authority behind a registry's writes.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// `"local"` or `"nats"`.
    fn kind(&self) -> &'static str;

    /// Whether writes can be accepted now.
    fn health(&self) -> Health;

    /// Whether writes can be accepted, waiting as long as one write may
    /// wait for a connection that is being re-established.
    fn wait_healthy(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move { self.health() })
    }

    /// Shares a validated module. Idempotent: the digest is the key, and
    /// storing it twice changes nothing. `false` when it was already shared
    /// (by another replica).
    fn put_module<'a>(
        &'a self,
        meta: &'a PluginMeta,
        bytes: &'a Bytes,
    ) -> BoxFuture<'a, Result<bool, RegistryError>>;

    /// A module shared by another replica: its metadata and its bytes,
    /// checked against the digest (`None`: no such module).
    fn fetch<'a>(
        &'a self,
        digest: &'a PluginDigest,
    ) -> BoxFuture<'a, Result<Option<(PluginMeta, Bytes)>, RegistryError>>;

    /// Commits `next[name]` if `name`'s revision is still `expected` (`None`:
    /// the name must not exist yet). Returns the new revision.
    fn commit<'a>(
        &'a self,
        name: &'a str,
        expected: Option<u64>,
        next: &'a Names,
    ) -> BoxFuture<'a, Result<u64, RegistryError>>;
}

/// One process is the authority: a name's revision counts its writes since
/// the process started, and `active.json` is rewritten atomically.
#[derive(Debug)]
pub struct Local {
    active_json: PathBuf,
    revisions: Mutex<BTreeMap<String, u64>>,
}

impl Local {
    /// The authority of the registry in `dir`, whose names start at
    /// revision 1 when `names` holds them.
    pub fn new(dir: &std::path::Path, names: &Names) -> Self {
        Self {
            active_json: dir.join("active.json"),
            revisions: Mutex::new(initial_revisions(names)),
        }
    }
}

/// The revisions [`Local::new`] starts a table's names at.
pub(super) fn initial_revisions(names: &Names) -> BTreeMap<String, u64> {
    names.keys().map(|n| (n.clone(), 1)).collect()
}

impl Backend for Local {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn health(&self) -> Health {
        Health::Ok
    }

    fn put_module<'a>(
        &'a self,
        _meta: &'a PluginMeta,
        _bytes: &'a Bytes,
    ) -> BoxFuture<'a, Result<bool, RegistryError>> {
        // The registry's own files are the store: nothing more to share.
        Box::pin(async { Ok(true) })
    }

    fn fetch<'a>(
        &'a self,
        _digest: &'a PluginDigest,
    ) -> BoxFuture<'a, Result<Option<(PluginMeta, Bytes)>, RegistryError>> {
        // Nobody else stores modules.
        Box::pin(async { Ok(None) })
    }

    fn commit<'a>(
        &'a self,
        name: &'a str,
        expected: Option<u64>,
        next: &'a Names,
    ) -> BoxFuture<'a, Result<u64, RegistryError>> {
        Box::pin(async move {
            let mut revisions = self.revisions.lock().expect("revisions lock");
            if revisions.get(name).copied() != expected {
                return Err(RegistryError::Conflict {
                    name: name.to_owned(),
                });
            }
            let json = serde_json::to_vec_pretty(next).expect("serialisable");
            store::atomic_write(&self.active_json, &json).map_err(storage)?;
            let revision = expected.unwrap_or(0) + 1;
            revisions.insert(name.to_owned(), revision);
            Ok(revision)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::types::Activation;
    use crate::registry::types::fixtures::digest;

    fn table(name: &str, d: char) -> Names {
        Names::from([(name.to_owned(), Activation::new(digest(d)))])
    }

    #[tokio::test]
    async fn a_local_commit_is_a_compare_and_set_on_the_names_revision() {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::new(dir.path(), &Names::new());
        assert_eq!(local.commit("csv", None, &table("csv", 'a')).await, Ok(1));
        assert_eq!(
            local.commit("csv", None, &table("csv", 'b')).await,
            Err(RegistryError::Conflict { name: "csv".into() }),
            "the name exists now"
        );
        assert_eq!(
            local.commit("csv", Some(1), &table("csv", 'b')).await,
            Ok(2)
        );
        assert!(matches!(
            local.commit("csv", Some(1), &table("csv", 'c')).await,
            Err(RegistryError::Conflict { .. })
        ));
        let stored: Names =
            serde_json::from_slice(&std::fs::read(dir.path().join("active.json")).unwrap())
                .unwrap();
        assert_eq!(stored, table("csv", 'b'), "the refused write left no trace");
    }
}
