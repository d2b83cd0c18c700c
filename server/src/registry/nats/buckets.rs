//! The connection to NATS and the buckets the registry keeps there,
//! created alike by whichever replica comes first.

use std::sync::Arc;

use async_nats::jetstream::{self, kv, object_store};

use super::super::limits::{
    CONNECT_TIMEOUT, HISTORY, RECONNECT_STEP, RECONNECT_STEPS, WINDOWS_MAX_AGE,
};
use super::super::types::RegistryError;
use super::{KV_BUCKET, Nats, OBJECT_BUCKET, WINDOWS_BUCKET, unavailable};

/// The connection and its buckets, once they exist.
#[derive(Clone)]
pub(in crate::registry) struct Buckets {
    pub(in crate::registry) client: async_nats::Client,
    pub(in crate::registry) kv: kv::Store,
    pub(in crate::registry) objects: object_store::ObjectStore,
    /// Each replica's window of each running rollout (`window_sync`).
    pub(in crate::registry) windows: kv::Store,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets")
            .field("kv", &self.kv.name)
            .finish_non_exhaustive()
    }
}

impl Nats {
    /// Connects (retrying in the background for as long as it takes) and
    /// opens or creates the buckets.
    pub(in crate::registry) async fn buckets(&self) -> Result<&Buckets, RegistryError> {
        self.buckets
            .get_or_try_init(|| async {
                let client = self.connect().await?;
                let js = jetstream::new(client.clone());
                let kv = self
                    .kv_bucket(
                        &js,
                        KV_BUCKET,
                        jetstream::stream::Config {
                            max_messages_per_subject: HISTORY,
                            deny_delete: true,
                            ..Default::default()
                        },
                    )
                    .await?;
                // Only the latest window per replica, dropped an hour after
                // its last publication (a running one is republished).
                let windows = self
                    .kv_bucket(
                        &js,
                        WINDOWS_BUCKET,
                        jetstream::stream::Config {
                            max_messages_per_subject: 1,
                            max_age: WINDOWS_MAX_AGE,
                            ..Default::default()
                        },
                    )
                    .await?;
                let objects = match js.get_object_store(OBJECT_BUCKET).await {
                    Ok(objects) => objects,
                    Err(_) => js
                        .create_object_store(object_store::Config {
                            bucket: OBJECT_BUCKET.into(),
                            storage: jetstream::stream::StorageType::File,
                            num_replicas: self.replicas,
                            ..Default::default()
                        })
                        .await
                        .map_err(unavailable)?,
                };
                Ok(Buckets {
                    client,
                    kv,
                    objects,
                    windows,
                })
            })
            .await
    }

    /// The client, counting each (re)connection for the watch.
    async fn connect(&self) -> Result<async_nats::Client, RegistryError> {
        let reconnects = Arc::clone(&self.reconnects);
        async_nats::ConnectOptions::new()
            .name("wip-server")
            .retry_on_initial_connect()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(self.write_timeout))
            .reconnect_delay_callback(|attempts| {
                RECONNECT_STEP * attempts.min(RECONNECT_STEPS as usize) as u32
            })
            .event_callback(move |event| {
                let reconnects = Arc::clone(&reconnects);
                async move {
                    tracing::info!(%event, "nats connection");
                    if matches!(event, async_nats::Event::Connected) {
                        reconnects.send_modify(|n| *n += 1);
                    }
                }
            })
            .connect(self.addrs()?)
            .await
            .map_err(unavailable)
    }

    /// KV bucket `bucket`, its stream made (with `config`'s limits) as
    /// `create_key_value` would: that call first reads the account info,
    /// whose 2.9 form async-nats 0.51 cannot parse (Debian 12 ships 2.9).
    async fn kv_bucket(
        &self,
        js: &jetstream::Context,
        bucket: &str,
        config: jetstream::stream::Config,
    ) -> Result<kv::Store, RegistryError> {
        js.get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            storage: jetstream::stream::StorageType::File,
            allow_rollup: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: self.replicas,
            ..config
        })
        .await
        .map_err(unavailable)?;
        js.get_key_value(bucket).await.map_err(unavailable)
    }

    /// The nodes to connect to (the client fails over between them).
    fn addrs(&self) -> Result<Vec<async_nats::ServerAddr>, RegistryError> {
        self.url
            .split(',')
            .map(|url| url.trim().parse().map_err(unavailable))
            .collect()
    }
}
