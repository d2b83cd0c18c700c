//! The registry's running rollouts, its rollout state machine: start one,
//! route each call of the name, count what each side's calls did, and
//! conclude (by the numbers, or by hand). The rules are the pure functions
//! of [`super::rollout_rules`]; this file persists what they return, keeps
//! the in-memory windows, and answers in `wire` bodies converted from the
//! stored records of [`super::rollout_record`]. The HTTP routes are
//! `crate::rollout_routes`; the metrics `crate::metrics::rollout_metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wire::{Decision, DecisionKind, RolloutRequest};

use super::cluster_windows::{ClusterWindows, Sides, WindowKey};
use super::rollout_record::{StoredDecisionKind, StoredWindow};
use super::rollout_rules::{self, Evidence, Plan, Role, Side, Tally, Verdict};
use super::{Health, PluginDigest, Registry, RegistryError};
use crate::outcome::Outcome;

/// The counts of a running rollout since it started or the server restarted.
#[derive(Debug)]
pub(super) struct Window {
    started_at_ms: u64,
    stable: Tally,
    candidate: Tally,
}

impl Window {
    fn new(started_at_ms: u64) -> Self {
        Self {
            started_at_ms,
            stable: Tally::default(),
            candidate: Tally::default(),
        }
    }

    /// This replica's sides, each summed with the other replicas' (empty
    /// on a single server).
    fn sides<'a>(&'a self, others: Option<&'a Sides>) -> (Side<'a>, Side<'a>) {
        (
            Side::with(&self.stable, others.map(|o| &o.0)),
            Side::with(&self.candidate, others.map(|o| &o.1)),
        )
    }

    fn evidence(&self, others: Option<&Sides>, reasons: Vec<String>) -> Evidence {
        let (stable, candidate) = self.sides(others);
        Evidence {
            stable: stable.stats(),
            candidate: candidate.stats(),
            reasons,
        }
    }
}

/// Name → the window of its running rollout.
pub(super) type Windows = BTreeMap<String, Window>;

/// Where a call goes.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The digest that runs it.
    pub digest: PluginDigest,
    /// Set when a rollout chose the digest.
    pub rollout: Option<RolloutCall>,
}

/// What counting a routed call found.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted {
    /// Its rollout had ended meanwhile: not in any window.
    Ended,
    /// Counted; the rollout runs on.
    Running,
    /// Counted, and this call settled the rollout (already persisted).
    Decided(Box<Decision>),
}

/// A call a rollout routed, to be counted when it ends.
#[derive(Debug, Clone)]
pub struct RolloutCall {
    /// The plugin name.
    pub name: String,
    /// The side it went to.
    pub role: Role,
    /// The share of calls that side receives.
    pub share: u8,
    /// The rollout.
    pub plan: Plan,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Registry {
    /// Starts a canary of `request.candidate` for `name`.
    pub async fn start_rollout(
        &self,
        name: &str,
        request: &RolloutRequest,
    ) -> Result<wire::Rollout, RegistryError> {
        let candidate =
            PluginDigest::parse(&request.candidate).ok_or_else(|| RegistryError::BadRollout {
                message: format!("{:?} is not a sha256 digest", request.candidate),
            })?;
        self.ensure(&candidate).await?;
        let salt = rollout_rules::new_salt();
        let plan = self
            .commit(name, |state| {
                let meta =
                    state
                        .plugins
                        .get(&candidate)
                        .ok_or_else(|| RegistryError::UnknownDigest {
                            digest: candidate.to_string(),
                        })?;
                rollout_rules::start(&state.names, name, meta, request, now_ms(), &salt).map(Some)
            })
            .await?
            .expect("a start always changes the name");
        let state = self.read();
        let stable = state.names[name].active.clone();
        drop(state);
        let window = Window::new(plan.started_at_ms);
        let view = view(&stable, &plan, &window, None);
        // A call routed since the write may have opened the window already.
        self.windows()
            .entry(name.to_owned())
            .and_modify(|w| {
                if w.started_at_ms < window.started_at_ms {
                    *w = Window::new(window.started_at_ms);
                }
            })
            .or_insert(window);
        Ok(view)
    }

    /// The digest a call of `name_or_digest` runs on: a digest runs itself;
    /// a name its active digest, or during a rollout the side its request
    /// id falls on.
    pub fn route(&self, name_or_digest: &str, request_id: &str) -> Result<Routed, RegistryError> {
        if PluginDigest::parse(name_or_digest).is_some() {
            return Ok(Routed {
                digest: self.resolve(name_or_digest)?,
                rollout: None,
            });
        }
        let state = self.read();
        let activation =
            state
                .names
                .get(name_or_digest)
                .ok_or_else(|| RegistryError::UnknownName {
                    name: name_or_digest.to_owned(),
                })?;
        let Some(plan) = &activation.rollout else {
            return Ok(Routed {
                digest: activation.active.clone(),
                rollout: None,
            });
        };
        let role = rollout_rules::route(name_or_digest, plan, request_id);
        let (digest, share) = match role {
            Role::Stable => (activation.active.clone(), 100 - plan.percent),
            Role::Candidate => (plan.candidate.clone(), plan.percent),
        };
        Ok(Routed {
            digest,
            rollout: Some(RolloutCall {
                name: name_or_digest.to_owned(),
                role,
                share,
                plan: plan.clone(),
            }),
        })
    }

    /// Counts a routed call's outcome in its rollout's window, and judges.
    pub async fn observe(
        &self,
        call: &RolloutCall,
        outcome: Outcome,
        latency: Duration,
    ) -> Counted {
        let started = call.plan.started_at_ms;
        let running = self
            .read()
            .names
            .get(&call.name)
            .and_then(|a| a.rollout.as_ref())
            .is_some_and(|plan| plan.started_at_ms == started);
        if !running {
            return Counted::Ended; // decided while this call was in flight
        }
        let key = (call.name.clone(), started);
        let others = self.others(&key);
        let (kind, evidence) = {
            let mut windows = self.windows();
            let window = windows
                .entry(call.name.clone())
                .or_insert_with(|| Window::new(started));
            if window.started_at_ms < started {
                *window = Window::new(started);
            } else if window.started_at_ms > started {
                return Counted::Ended;
            }
            match call.role {
                Role::Stable => window.stable.record(outcome, latency),
                Role::Candidate => window.candidate.record(outcome, latency),
            }
            if let Some(cluster) = &self.cluster {
                cluster.changed(&key);
            }
            let (stable, candidate) = window.sides(others.as_deref());
            match rollout_rules::judge_sides(&call.plan, stable, candidate) {
                None => return Counted::Running,
                Some(Verdict::Promote) => (
                    StoredDecisionKind::Promoted,
                    window.evidence(others.as_deref(), Vec::new()),
                ),
                Some(Verdict::RollBack(reasons)) => (
                    StoredDecisionKind::RolledBack,
                    window.evidence(others.as_deref(), reasons),
                ),
            }
        };
        // A call does not wait for the registry to come back: with NATS
        // unreachable, the next call judges again.
        if self.backend.health() != Health::Ok {
            return Counted::Running;
        }
        match self
            .conclude(&call.name, Some(started), kind, evidence)
            .await
        {
            Ok(decision) => Counted::Decided(Box::new(decision)),
            // Another call (or replica) settled it first.
            Err(RegistryError::NoRollout { .. } | RegistryError::Conflict { .. }) => Counted::Ended,
            Err(e) => {
                tracing::error!(plugin = %call.name, error = %e, "rollout decision not stored; retried on the next call");
                Counted::Running
            }
        }
    }

    /// An operator's decision: `PromotedManually` or `Aborted`.
    pub async fn decide(&self, name: &str, kind: DecisionKind) -> Result<Decision, RegistryError> {
        let started = self
            .read()
            .names
            .get(name)
            .and_then(|a| a.rollout.as_ref())
            .map(|plan| plan.started_at_ms);
        let others = started.and_then(|at| self.others(&(name.to_owned(), at)));
        let evidence = match self.windows().get(name) {
            Some(w) if Some(w.started_at_ms) == started => {
                w.evidence(others.as_deref(), Vec::new())
            }
            _ => Window::new(0).evidence(others.as_deref(), Vec::new()),
        };
        self.conclude(name, None, kind.into(), evidence).await
    }

    async fn conclude(
        &self,
        name: &str,
        started_at_ms: Option<u64>,
        kind: StoredDecisionKind,
        evidence: Evidence,
    ) -> Result<Decision, RegistryError> {
        let decision = self
            .commit(name, |state| {
                rollout_rules::conclude(&state.names, name, started_at_ms, kind, evidence, now_ms())
                    .map(Some)
            })
            .await?
            .expect("a decision always changes the name");
        let mut windows = self.windows();
        if windows
            .get(name)
            .is_some_and(|w| w.started_at_ms <= started_at_ms.unwrap_or(u64::MAX))
        {
            windows.remove(name);
        }
        Ok(Decision::from(&decision))
    }

    /// A name's activation, its rollout with live numbers, its decisions.
    pub fn status(&self, name: &str) -> Result<wire::PluginStatus, RegistryError> {
        let activation =
            self.read()
                .names
                .get(name)
                .cloned()
                .ok_or_else(|| RegistryError::UnknownName {
                    name: name.to_owned(),
                })?;
        let rollout = activation.rollout.as_ref().map(|plan| {
            let others = self.others(&(name.to_owned(), plan.started_at_ms));
            let windows = self.windows();
            let none = Window::new(plan.started_at_ms);
            let window = match windows.get(name) {
                Some(window) if window.started_at_ms == plan.started_at_ms => window,
                _ => &none,
            };
            view(&activation.active, plan, window, others.as_deref())
        });
        Ok(wire::PluginStatus {
            name: name.to_owned(),
            activation: wire::Activation::from(&activation),
            rollout,
            decisions: activation.decisions.iter().map(Decision::from).collect(),
        })
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows.lock().expect("rollout windows lock")
    }

    /// The other replicas' windows of `key`, summed (none on a single
    /// server, or before any was published).
    fn others(&self, key: &WindowKey) -> Option<Arc<Sides>> {
        self.cluster.as_ref()?.others(key)
    }

    /// What shares this replica's windows with the others', when the
    /// registry is shared.
    pub(super) fn cluster(&self) -> Option<&ClusterWindows> {
        self.cluster.as_ref()
    }

    /// Whether `key` is the rollout its name is running.
    pub(super) fn is_running(&self, key: &WindowKey) -> bool {
        self.read()
            .names
            .get(&key.0)
            .and_then(|a| a.rollout.as_ref())
            .is_some_and(|plan| plan.started_at_ms == key.1)
    }

    /// This replica's windows of the rollouts that are running.
    pub(super) fn running_windows(&self) -> Vec<WindowKey> {
        let keys: Vec<WindowKey> = self
            .windows()
            .iter()
            .map(|(name, w)| (name.clone(), w.started_at_ms))
            .collect();
        keys.into_iter()
            .filter(|key| self.is_running(key))
            .collect()
    }

    /// This replica's window of `key` as it is published.
    pub(super) fn window_record(&self, key: &WindowKey) -> Option<StoredWindow> {
        let windows = self.windows();
        let window = windows.get(&key.0).filter(|w| w.started_at_ms == key.1)?;
        Some(StoredWindow {
            stable: (&window.stable).into(),
            candidate: (&window.candidate).into(),
        })
    }
}

fn view(
    stable: &PluginDigest,
    plan: &Plan,
    window: &Window,
    others: Option<&Sides>,
) -> wire::Rollout {
    let (stable_side, candidate_side) = window.sides(others);
    wire::Rollout {
        stable: stable.to_string(),
        candidate: plan.candidate.to_string(),
        percent: plan.percent,
        min_calls: plan.min_calls,
        thresholds: plan.thresholds.into(),
        started_at_ms: plan.started_at_ms,
        stable_stats: stable_side.stats().into(),
        candidate_stats: candidate_side.stats().into(),
    }
}
