//! How the registry changes: a name's next activation is computed by the
//! pure rules from this replica's copy, committed through the backend's
//! compare-and-set on the revision the copy was read at, then applied here
//! (a revision never goes back). Modules another replica shared are taken
//! (fetched, checked, compiled, stored) before anything refers to them.

use super::activation::Names;
use super::backend::Health;
use super::types::{Activation, RegistryError};
use super::{PluginDigest, Registry, State, store, validate};

impl Registry {
    /// Makes `digest` callable and listed here when another replica shared
    /// it and this one has not taken it yet: bytes checked against the
    /// digest, compiled with the preflight, stored locally, installed, then
    /// listed. Without a shared store, or an unknown digest, does nothing.
    pub(crate) async fn ensure(&self, digest: &PluginDigest) -> Result<(), RegistryError> {
        if self.plugin(digest).is_some() {
            return Ok(());
        }
        let Some((meta, bytes)) = self.backend.fetch(digest).await? else {
            return Ok(());
        };
        let compiled = {
            let _permit = self.compiles.acquire().await.expect("never closed");
            validate::compile(&self.sandbox, digest.to_string(), bytes.clone()).await?
        };
        self.store_locally(compiled, meta, bytes).await?;
        tracing::info!(%digest, backend = self.backend.kind(), "shared module taken");
        Ok(())
    }

    /// Commits the table `change` makes of the current state, in which only
    /// `name` differs (`None`: nothing to write), through the backend's
    /// compare-and-set, then applies it here.
    pub(super) async fn commit<T>(
        &self,
        name: &str,
        change: impl FnOnce(&State) -> Result<Option<(Names, T)>, RegistryError>,
    ) -> Result<Option<T>, RegistryError> {
        self.writable().await?;
        let _writer = self.writes.lock().await;
        let (next, out, expected) = {
            let state = self.read();
            let Some((next, out)) = change(&state)? else {
                return Ok(None);
            };
            if next.get(name) == state.names.get(name) {
                return Ok(Some(out)); // nothing changes
            }
            (next, out, state.revisions.get(name).copied())
        };
        let revision = self.backend.commit(name, expected, &next).await?;
        self.apply(name, next.get(name).cloned(), revision);
        Ok(Some(out))
    }

    /// Takes `name`'s activation at `revision`, unless this replica already
    /// has that revision or a later one. A shared backend's changes are also
    /// written to the local store, which a replica started while the shared
    /// one is down serves from.
    pub(super) fn apply(&self, name: &str, activation: Option<Activation>, revision: u64) -> bool {
        let mut state = self.write();
        if state.revisions.get(name).is_some_and(|r| *r >= revision) {
            return false;
        }
        state.revisions.insert(name.to_owned(), revision);
        match activation {
            Some(a) => state.names.insert(name.to_owned(), a),
            None => state.names.remove(name),
        };
        if self.backend.kind() != "local" {
            let json = serde_json::to_vec_pretty(&state.names).expect("serialisable");
            if let Err(e) = store::atomic_write(&self.dir.join("active.json"), &json) {
                tracing::warn!(error = %e, "local copy of the activations not written");
            }
        }
        true
    }

    pub(super) async fn writable(&self) -> Result<(), RegistryError> {
        match self.backend.wait_healthy().await {
            Health::Ok => Ok(()),
            Health::Degraded => Err(RegistryError::Unavailable {
                message: format!("the {} registry is unreachable", self.backend.kind()),
            }),
        }
    }
}
