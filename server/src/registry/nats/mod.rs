//! The registry shared by replicas on NATS JetStream (`--registry
//! nats://…`):
//!
//! ```text
//! Object Store  wip-modules    <digest>          module bytes (checked against the key on every read)
//! KV            wip-registry   plugin.<digest>   PluginMeta (JSON, no artifact: artifacts are per replica)
//!                              active.<name>     Activation (JSON); the key's history is the activation log
//! KV            wip-windows    <name>.<started>.<replica>   a replica's window of a running rollout
//! ```
//!
//! Writes are idempotent by digest (modules) or a compare-and-set on the
//! key's revision (activations). Every replica watches the KV bucket
//! (`super::sync`) and applies what changed. Until it is connected and
//! caught up, [`Nats::health`](Backend::health) is degraded: the replica
//! serves what it has loaded and refuses writes with a typed 503.

mod buckets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::kv;
pub(super) use buckets::Buckets;
use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::io::AsyncReadExt as _;

use super::activation::Names;
use super::backend::{Backend, Health};
use super::types::{PluginMeta, RegistryError};
use crate::digest::PluginDigest;

/// The KV bucket of metadata and activations.
pub const KV_BUCKET: &str = "wip-registry";
/// The Object Store bucket of module bytes.
pub const OBJECT_BUCKET: &str = "wip-modules";
/// The KV bucket of the replicas' rollout windows (`cluster_windows`).
pub const WINDOWS_BUCKET: &str = "wip-windows";
pub use super::limits::HISTORY;
use super::limits::{WRITE_RETRY_FIRST_PAUSE, WRITE_RETRY_MAX_PAUSE};

/// Key of a module's metadata.
pub fn plugin_key(digest: &PluginDigest) -> String {
    format!("plugin.{digest}")
}

/// Key of a name's activation.
pub fn active_key(name: &str) -> String {
    format!("active.{name}")
}

/// The JetStream backend of one replica.
#[derive(Debug)]
pub struct Nats {
    /// One server, or a cluster's nodes, comma-separated.
    url: String,
    /// How long one write may wait for JetStream before it answers 503.
    write_timeout: Duration,
    /// Copies of each stream, when this replica creates them.
    replicas: usize,
    buckets: tokio::sync::OnceCell<Buckets>,
    /// The watch has applied everything the bucket held when it started.
    pub(super) synced: AtomicBool,
    /// Counts the connections made, so the watch starts over after one.
    pub(super) reconnects: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Nats {
    /// A backend for the server at `url` (or the cluster whose nodes it
    /// lists, comma-separated) whose writes wait at most `write_timeout`,
    /// and whose streams, if it creates them, keep `replicas` copies.
    /// Nothing is contacted before [`super::sync::spawn`].
    pub fn new(url: &str, write_timeout: Duration, replicas: usize) -> Self {
        Self {
            url: url.to_owned(),
            write_timeout,
            replicas,
            buckets: tokio::sync::OnceCell::new(),
            synced: AtomicBool::new(false),
            reconnects: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn ready(&self) -> Result<&Buckets, RegistryError> {
        match self.buckets.get() {
            Some(b) if self.health() == Health::Ok => Ok(b),
            _ => Err(RegistryError::Unavailable {
                message: format!("NATS at {} is unreachable or not caught up", self.url),
            }),
        }
    }

    /// A module's bytes, refused unless they hash to `digest`.
    async fn module(buckets: &Buckets, digest: &PluginDigest) -> Result<Bytes, RegistryError> {
        let mut object = buckets
            .objects
            .get(digest.as_str())
            .await
            .map_err(unavailable)?;
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await.map_err(unavailable)?;
        if PluginDigest::of(&bytes) != *digest {
            return Err(RegistryError::Storage(format!(
                "the stored object {digest} does not match its digest: refused"
            )));
        }
        Ok(Bytes::from(bytes))
    }
}

impl Backend for Nats {
    fn kind(&self) -> &'static str {
        "nats"
    }

    fn health(&self) -> Health {
        let connected = self.buckets.get().is_some_and(|b| {
            b.client.connection_state() == async_nats::connection::State::Connected
        });
        if connected && self.synced.load(Ordering::Acquire) {
            Health::Ok
        } else {
            Health::Degraded
        }
    }

    fn wait_healthy(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            // After a node's loss the client reconnects to another node and
            // the watch catches up again: usually well within a write's wait.
            let deadline = tokio::time::Instant::now() + self.write_timeout;
            while self.health() == Health::Degraded && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(WRITE_RETRY_FIRST_PAUSE).await;
            }
            self.health()
        })
    }

    fn put_module<'a>(
        &'a self,
        meta: &'a PluginMeta,
        bytes: &'a Bytes,
    ) -> BoxFuture<'a, Result<bool, RegistryError>> {
        Box::pin(async move {
            let buckets = self.ready()?;
            let write = |_| async {
                let name = meta.digest.as_str();
                if buckets.objects.info(name).await.is_err() {
                    let mut reader: &[u8] = bytes;
                    buckets
                        .objects
                        .put(name, &mut reader)
                        .await
                        .map_err(unavailable)?;
                }
                let shared = PluginMeta {
                    artifact: None,
                    ..meta.clone()
                };
                let json = serde_json::to_vec(&shared).expect("serialisable");
                match buckets
                    .kv
                    .create(plugin_key(&meta.digest), json.into())
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(unavailable(e)),
                }
            };
            self.retrying(write).await
        })
    }

    fn fetch<'a>(
        &'a self,
        digest: &'a PluginDigest,
    ) -> BoxFuture<'a, Result<Option<(PluginMeta, Bytes)>, RegistryError>> {
        Box::pin(async move {
            let Some(buckets) = self.buckets.get() else {
                return Err(unavailable("not connected yet"));
            };
            let Some(meta) = buckets
                .kv
                .get(plugin_key(digest))
                .await
                .map_err(unavailable)?
            else {
                return Ok(None);
            };
            let meta: PluginMeta = serde_json::from_slice(&meta)
                .map_err(|e| RegistryError::Storage(format!("metadata of {digest}: {e}")))?;
            if meta.digest != *digest {
                return Err(RegistryError::Storage(format!(
                    "metadata under {digest} names {}",
                    meta.digest
                )));
            }
            // A read that stalls (seen on a just-formed cluster) must not
            // hold the watch that asked for it: it fails, and the watch
            // starts over and asks again.
            let bytes = tokio::time::timeout(self.write_timeout, Self::module(buckets, digest))
                .await
                .map_err(|_| unavailable(format!("reading module {digest} timed out")))??;
            Ok(Some((meta, bytes)))
        })
    }

    fn commit<'a>(
        &'a self,
        name: &'a str,
        expected: Option<u64>,
        next: &'a Names,
    ) -> BoxFuture<'a, Result<u64, RegistryError>> {
        Box::pin(async move {
            let buckets = self.ready()?;
            let activation = next.get(name).expect("the committed name is in the table");
            let json: Bytes = serde_json::to_vec(activation).expect("serialisable").into();
            let conflict = || RegistryError::Conflict {
                name: name.to_owned(),
            };
            let write = |attempt: u32| {
                let json = json.clone();
                async move {
                    let written = match expected {
                        None => buckets
                            .kv
                            .create(active_key(name), json.clone())
                            .await
                            .map_err(|e| match e.kind() {
                                kv::CreateErrorKind::AlreadyExists => conflict(),
                                _ => unavailable(e),
                            }),
                        Some(revision) => buckets
                            .kv
                            .update(active_key(name), json.clone(), revision)
                            .await
                            .map_err(|e| match e.kind() {
                                kv::UpdateErrorKind::WrongLastRevision => conflict(),
                                _ => unavailable(e),
                            }),
                    };
                    match written {
                        // A retry's conflict may be the first attempt's
                        // write, stored although its answer was lost.
                        Err(RegistryError::Conflict { .. }) if attempt > 0 => {
                            match buckets.kv.entry(active_key(name)).await {
                                Ok(Some(entry)) if entry.value == json => Ok(entry.revision),
                                _ => Err(conflict()),
                            }
                        }
                        other => other,
                    }
                }
            };
            self.retrying(write).await
        })
    }
}

impl Nats {
    /// Runs `write` (given its attempt number) until it succeeds, fails for
    /// a reason other than an unreachable NATS, or the write timeout
    /// passes. After a node's loss, a stream answers "no stream found" or
    /// not at all until it has elected a new leader (a few seconds); the
    /// caller should not see that as a 503.
    async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, RegistryError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let deadline = tokio::time::Instant::now() + self.write_timeout;
        let mut pause = WRITE_RETRY_FIRST_PAUSE;
        for attempt in 0.. {
            let result = tokio::time::timeout_at(deadline, write(attempt))
                .await
                .map_err(unavailable)
                .flatten();
            match result {
                Err(RegistryError::Unavailable { .. })
                    if tokio::time::Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(WRITE_RETRY_MAX_PAUSE);
                }
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unavailable {
        message: format!("NATS: {e}"),
    }
}
