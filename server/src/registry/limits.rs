//! The registry's fixed numbers. The operator's limits (module size, the
//! refusal memo, the NATS write timeout) come from `Config`, through
//! [`super::ValidationLimits`] and [`super::nats::Nats::new`]; these are
//! not a choice: they pace retries or are part of a stored or wire format.

use std::time::Duration;

/// Revisions JetStream keeps per key: the activation log of a name. Part
/// of the bucket's stream configuration, which every replica creates
/// alike; changing it means recreating the stream.
pub const HISTORY: i64 = 64;

/// How long one attempt to reach nats-server waits: the client retries
/// for as long as it takes, so this only paces the attempts.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The pause before a reconnect grows by this per failed attempt...
pub const RECONNECT_STEP: Duration = Duration::from_millis(100);
/// ...for this many attempts, then stays (one second between attempts).
pub const RECONNECT_STEPS: u32 = 10;

/// The first pause before a failed registry watch starts over; it doubles
/// after each failure, up to [`WATCH_RETRY_MAX`].
pub const WATCH_RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to watch the registry again.
pub const WATCH_RETRY_MAX: Duration = Duration::from_millis(2_000);

/// Decisions kept per name: the stored record's history, which every
/// replica must cut alike.
pub const MAX_DECISIONS: usize = 50;

/// Largest `min_calls` a rollout request may ask for: the API's contract
/// (`docs/rollouts.md`), not a server's choice.
pub const MAX_MIN_CALLS: u64 = 1_000_000;

/// The first pause before a registry write that found NATS unreachable is
/// tried again (within `--nats-write-timeout-ms`); it doubles after each
/// failure, up to [`WRITE_RETRY_MAX_PAUSE`]. It only paces the attempts.
pub const WRITE_RETRY_FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause between two attempts of one registry write.
pub const WRITE_RETRY_MAX_PAUSE: Duration = Duration::from_millis(500);

/// How stale another replica's count of a rollout may be when this one
/// judges it: a replica publishes a changed window this often. It paces
/// the KV writes (at most one per rollout per period), nothing else.
pub const WINDOW_PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// Every window of a running rollout is published again this often, so
/// that [`WINDOWS_MAX_AGE`] only drops the windows of ended rollouts.
pub const WINDOW_REFRESH_EVERY: Duration = Duration::from_secs(600);
/// How long the `wip-windows` bucket keeps a window: the bucket's stream
/// configuration, which every replica creates alike.
pub const WINDOWS_MAX_AGE: Duration = Duration::from_secs(3600);
