//! A replica in step with the shared registry: it watches the KV bucket
//! from the last value of every key (so a restart, or a reconnect after an
//! outage, replays the current state before the changes) and takes each
//! entry:
//!
//! - `plugin.<digest>`: fetch the bytes, refuse them unless they hash to the
//!   digest, compile with the preflight, store locally (artifact cache),
//!   install, then list;
//! - `active.<name>`: make sure its digests are installed, then take the
//!   activation if its revision is newer than this replica's.
//!
//! Taking an entry twice changes nothing, so starting over is always safe.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::jetstream::kv;
use futures::StreamExt as _;

use super::limits::{WATCH_RETRY_FIRST, WATCH_RETRY_MAX};
use super::nats::{Nats, unavailable};
use super::types::{Activation, RegistryError};
use super::{PluginDigest, Registry};

/// Keeps `registry` in step with `nats` for as long as the runtime runs:
/// connects, watches, and starts over after an error or a reconnect.
pub fn spawn(registry: Arc<Registry>, nats: Arc<Nats>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = WATCH_RETRY_FIRST;
        loop {
            let result = watch(&registry, &nats).await;
            nats.synced.store(false, Ordering::Release);
            match result {
                Ok(()) => {
                    tracing::info!(url = nats.url(), "nats reconnected: catching up");
                    pause = WATCH_RETRY_FIRST;
                }
                Err(e) => {
                    tracing::warn!(url = nats.url(), error = %e, "registry watch failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(WATCH_RETRY_MAX);
                }
            }
        }
    })
}

/// Watches until the connection comes back after a loss (`Ok`) or the
/// watch fails.
async fn watch(registry: &Registry, nats: &Nats) -> Result<(), RegistryError> {
    let mut reconnects = nats.reconnects.subscribe();
    reconnects.borrow_and_update();
    let buckets = nats.buckets().await?.clone();
    let last = buckets
        .kv
        .status()
        .await
        .map_err(unavailable)?
        .info
        .state
        .last_sequence;
    let mut entries = buckets
        .kv
        .watch_with_history(">")
        .await
        .map_err(unavailable)?;
    if last == 0 {
        nats.synced.store(true, Ordering::Release);
    }
    loop {
        let entry = tokio::select! {
            changed = reconnects.changed() => {
                return changed.map_err(unavailable);
            }
            entry = entries.next() => entry,
        };
        let entry = match entry {
            Some(entry) => entry.map_err(unavailable)?,
            None => return Err(unavailable("the watch ended")),
        };
        registry.take(&entry).await?;
        if entry.revision >= last && !nats.synced.swap(true, Ordering::AcqRel) {
            tracing::info!(revision = entry.revision, "registry caught up with nats");
        }
    }
}

impl Registry {
    /// Takes one entry of the shared bucket; what cannot be taken is logged
    /// and left out (a module that fails its digest check is never listed).
    /// A module NATS could not hand over (unreachable, or a read that timed
    /// out) fails the watch instead, which starts over and asks again.
    async fn take(&self, entry: &kv::Entry) -> Result<(), RegistryError> {
        if entry.operation != kv::Operation::Put {
            return Ok(());
        }
        if let Some(digest) = entry.key.strip_prefix("plugin.") {
            let Some(digest) = PluginDigest::parse(digest) else {
                tracing::warn!(key = %entry.key, "not a digest; ignored");
                return Ok(());
            };
            match self.ensure(&digest).await {
                Err(e @ RegistryError::Unavailable { .. }) => return Err(e),
                Err(e) => tracing::error!(%digest, error = %e, "shared module refused"),
                Ok(()) => {}
            }
        } else if let Some(name) = entry.key.strip_prefix("active.") {
            let activation: Activation = match serde_json::from_slice(&entry.value) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(plugin = name, error = %e, "unreadable activation; ignored");
                    return Ok(());
                }
            };
            let needed = std::iter::once(&activation.active)
                .chain(activation.rollout.as_ref().map(|plan| &plan.candidate));
            for digest in needed {
                match self.ensure(digest).await {
                    Err(e @ RegistryError::Unavailable { .. }) => return Err(e),
                    Err(e) => {
                        tracing::error!(plugin = name, %digest, error = %e, "activation not taken: its module cannot be loaded");
                        return Ok(());
                    }
                    Ok(()) => {}
                }
            }
            if self.apply(name, Some(activation.clone()), entry.revision) {
                tracing::info!(plugin = name, active = %activation.active, revision = entry.revision, "activation taken from nats");
            }
        }
        Ok(())
    }
}
