//! Keeps the `wip-windows` bucket and [`super::cluster_windows`] in step:
//! publishes this replica's changed rollout windows every
//! [`WINDOW_PUBLISH_EVERY`] (and all of them every
//! [`WINDOW_REFRESH_EVERY`], so the bucket's max age never drops a window
//! of a rollout that is still running), and takes the other replicas'.

use std::sync::Arc;

use async_nats::jetstream::kv;
use futures::StreamExt as _;

use super::Registry;
use super::cluster_windows::ClusterWindows;
use super::limits::{
    WATCH_RETRY_FIRST, WATCH_RETRY_MAX, WINDOW_PUBLISH_EVERY, WINDOW_REFRESH_EVERY,
};
use super::nats::{Nats, unavailable};
use super::rollout_record::StoredWindow;
use super::types::RegistryError;

/// Publishes and watches for as long as the runtime runs.
pub fn spawn(registry: Arc<Registry>, nats: Arc<Nats>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::join!(publish(&registry, &nats), watch_forever(&registry, &nats));
    })
}

async fn publish(registry: &Registry, nats: &Nats) {
    let Some(cluster) = registry.cluster() else {
        return;
    };
    let mut tick = tokio::time::interval(WINDOW_PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refreshed = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let mut keys = cluster.take_changed();
        if refreshed.elapsed() >= WINDOW_REFRESH_EVERY {
            keys.extend(registry.running_windows());
            refreshed = tokio::time::Instant::now();
        }
        cluster.retain(|key| registry.is_running(key));
        let Ok(buckets) = nats.buckets().await else {
            keys.iter().for_each(|key| cluster.changed(key));
            continue;
        };
        for key in keys {
            let Some(window) = registry.window_record(&key) else {
                continue; // ended meanwhile
            };
            let json = serde_json::to_vec(&window).expect("serialisable");
            let bucket_key = ClusterWindows::bucket_key(&key, cluster.replica());
            if let Err(e) = buckets.windows.put(bucket_key, json.into()).await {
                tracing::warn!(plugin = %key.0, error = %e, "rollout window not published; retried");
                cluster.changed(&key);
            }
        }
    }
}

async fn watch_forever(registry: &Registry, nats: &Nats) {
    if registry.cluster().is_none() {
        return;
    }
    let mut pause = WATCH_RETRY_FIRST;
    loop {
        let started = tokio::time::Instant::now();
        if let Err(e) = watch(registry, nats).await {
            tracing::warn!(error = %e, "rollout windows watch failed; retrying");
        }
        if started.elapsed() > WATCH_RETRY_MAX {
            pause = WATCH_RETRY_FIRST;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(WATCH_RETRY_MAX);
    }
}

/// Takes every window in the bucket, then each change, until the watch
/// fails.
async fn watch(registry: &Registry, nats: &Nats) -> Result<(), RegistryError> {
    let cluster = registry.cluster().expect("checked by the caller");
    let buckets = nats.buckets().await?.clone();
    let mut entries = buckets
        .windows
        .watch_with_history(">")
        .await
        .map_err(unavailable)?;
    while let Some(entry) = entries.next().await {
        let entry = entry.map_err(unavailable)?;
        let Some((key, replica)) = ClusterWindows::parse_bucket_key(&entry.key) else {
            continue;
        };
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<StoredWindow>(&entry.value) {
                Ok(window) => cluster.take(key, &replica, window.into()),
                Err(e) => {
                    tracing::warn!(key = %entry.key, error = %e, "unreadable rollout window; ignored")
                }
            },
            kv::Operation::Delete | kv::Operation::Purge => cluster.forget(&key, &replica),
        }
    }
    Err(unavailable("the rollout windows watch ended"))
}
