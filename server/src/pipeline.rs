//! The one road of every guest call the server makes, whichever route it
//! came by: admission (a gate), the tenant's limits and CPU class, the
//! sandbox call, metrics and one log line.
//!
//! `invoke.rs` puts the HTTP routes (`/api/run`, `/api/invoke`) on it; the
//! lessons (`add`, compile-once, the noisy-neighbour load) and the
//! registry's upload smoke call take it too. Nothing else in the server
//! calls into the sandbox (`xtask` tidy test
//! `only_the_pipeline_calls_guests`), so no call escapes a gate, the
//! metrics or the log line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::outcome::Outcome;
use crate::sandbox::{CallOptions, GuestRef, Output, Sandbox, SandboxError, Work};
use crate::tenants::{Refusal, TenantGate, TenantId, Tenants};

/// Why a call returned no output: its gate refused it, or the guest
/// failed. `error.rs` gives each its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Not admitted (a full gate is a 429).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Admitted, and the sandbox call failed (the guest's failure, or a
    /// busy sandbox).
    #[error(transparent)]
    Guest(#[from] SandboxError),
}

/// The route a call came by: the `route` label of its metrics and the
/// `route` field of its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/run/{guest}`: a built-in guest, the `demo` tenant.
    Run,
    /// `POST /api/invoke/{name-or-digest}`: a plugin, a tenant's key.
    Invoke,
    /// `POST /api/lessons/add` (task 4).
    LessonAdd,
    /// `POST /api/lessons/compile-once` (task 8): its compile-once calls.
    LessonCompileOnce,
    /// The same lesson's naive call: a module compiled for it alone.
    LessonCompileNaive,
    /// `POST /api/lessons/fairness` (task 13): the load of a run.
    LessonFairness,
    /// An upload's smoke call, before the module is stored.
    UploadSmoke,
}

impl Route {
    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Invoke => "invoke",
            Self::LessonAdd => "lesson-add",
            Self::LessonCompileOnce => "lesson-compile-once",
            Self::LessonCompileNaive => "lesson-compile-naive",
            Self::LessonFairness => "lesson-fairness",
            Self::UploadSmoke => "upload-smoke",
        }
    }
}

/// Which gate admits a call.
#[derive(Debug, Clone, Copy)]
pub enum Admission<'a> {
    /// The tenant's own gate (its tenants-file entry, or `demo`'s).
    Tenant,
    /// A gate the caller owns: the noisy-neighbour lesson switches its
    /// synthetic tenants' gates on and off per phase.
    Gate(&'a TenantGate),
    /// No gate: an upload's smoke call, which only the admin can cause,
    /// one per upload, after the registry's compile semaphore.
    Admin,
}

/// One call, as its caller describes it.
#[derive(Debug)]
pub struct Call<'a> {
    /// The route it came by.
    pub route: Route,
    /// The request it belongs to.
    pub request_id: &'a str,
    /// Who it is billed to.
    pub tenant: &'a TenantId,
    /// What the caller named (a guest, a plugin name or digest).
    pub requested: &'a str,
    /// The guest that runs.
    pub guest: GuestRef<'a>,
    /// Its digest, the metrics' `digest` label.
    pub digest: &'a str,
    /// What it runs.
    pub work: Work,
    /// Who admits it.
    pub admission: Admission<'a>,
    /// Limits other than the tenant's (an upload's smoke budget); `None`:
    /// the tenant's, never looser than the server's.
    pub options: Option<CallOptions>,
}

/// What became of a call.
#[derive(Debug)]
pub struct Called {
    /// The guest's output, or the typed error that stopped the call (a
    /// full gate is a 429, a guest's failure its own status).
    pub result: Result<Output, PipelineError>,
    /// Its outcome, as counted.
    pub outcome: Outcome,
    /// From admission to the end of the call.
    pub elapsed: Duration,
}

/// The parts every call needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    sandbox: Arc<Sandbox>,
    tenants: Arc<Tenants>,
    metrics: Arc<Metrics>,
}

impl Pipeline {
    /// The pipeline over these parts.
    pub fn new(sandbox: Arc<Sandbox>, tenants: Arc<Tenants>, metrics: Arc<Metrics>) -> Self {
        Self {
            sandbox,
            tenants,
            metrics,
        }
    }

    /// A pipeline of `sandbox` alone: no configured tenants (the `demo`
    /// tenant gets a tenants file's default gate), its own metrics (tests,
    /// examples, a registry used without a server).
    pub fn for_sandbox(sandbox: Arc<Sandbox>) -> Self {
        let tenants = Tenants::new(&[], crate::tenants::config::DEFAULT_CONCURRENCY);
        Self::new(sandbox, Arc::new(tenants), Arc::new(Metrics::new()))
    }

    /// The sandbox, for what is not a call (guest info, compiles, limits).
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Admits `call`, runs it, counts it and logs it.
    pub async fn call(&self, call: Call<'_>) -> Called {
        let record = CallRecord {
            request_id: call.request_id,
            route: call.route,
            tenant: call.tenant,
            requested: call.requested,
            digest: call.digest,
        };
        let started = Instant::now();
        let admitted = match call.admission {
            Admission::Tenant => self.tenants.admit(call.tenant).await.map(Some),
            Admission::Gate(gate) => gate.admit(call.tenant.as_str()).await.map(Some),
            Admission::Admin => Ok(None),
        };
        let permit = match admitted {
            Ok(permit) => permit,
            Err(e) => {
                let elapsed = started.elapsed();
                record.finish(self, Outcome::Rejected, elapsed, Usage::default(), Some(&e));
                return Called {
                    result: Err(e.into()),
                    outcome: Outcome::Rejected,
                    elapsed,
                };
            }
        };
        let options = call.options.unwrap_or_else(|| {
            self.tenants
                .call_options(call.tenant, self.sandbox.limits().per_call())
        });
        let invocation = self
            .sandbox
            .call(call.guest, call.tenant.as_str(), call.work, options)
            .await;
        drop(permit);
        let outcome = Outcome::of(&invocation.result);
        let usage = Usage {
            memory_pages: invocation.peak_memory_pages,
            cpu: crate::sandbox::engine::EPOCH_TICK * invocation.cpu_ticks as u32,
        };
        let elapsed = started.elapsed();
        let error = invocation.result.as_ref().err();
        record.finish(self, outcome, elapsed, usage, error);
        Called {
            result: invocation.result.map_err(PipelineError::from),
            outcome,
            elapsed,
        }
    }
}

/// What a call used.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    memory_pages: u64,
    cpu: Duration,
}

/// Who called what: one metrics record and one log line per call, the
/// same shape whichever route it came by.
struct CallRecord<'a> {
    request_id: &'a str,
    route: Route,
    tenant: &'a TenantId,
    requested: &'a str,
    digest: &'a str,
}

impl CallRecord<'_> {
    fn finish(
        &self,
        pipeline: &Pipeline,
        outcome: Outcome,
        duration: Duration,
        usage: Usage,
        error: Option<&impl std::fmt::Display>,
    ) {
        let (memory_pages, cpu_ms) = (usage.memory_pages, usage.cpu.as_secs_f64() * 1e3);
        pipeline.metrics.record(
            self.route.as_str(),
            self.digest,
            self.tenant.as_str(),
            outcome,
            duration,
            usage.cpu,
        );
        let error = error.map(ToString::to_string);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    request_id = self.request_id,
                    route = self.route.as_str(),
                    tenant = %self.tenant,
                    plugin = self.requested,
                    digest = self.digest,
                    outcome = outcome.as_str(),
                    duration_ms = duration.as_secs_f64() * 1e3,
                    memory_pages,
                    cpu_ms,
                    error,
                    "invocation"
                )
            };
        }
        if outcome.is_guest_failure() {
            line!(warn);
        } else {
            line!(info);
        }
    }
}
