//! How a call ended, as metrics, log lines and `/api/stats` count it: one
//! enum, so the three can never disagree on a label.

use crate::sandbox::SandboxError;

/// The outcome of one call through the invocation pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// The guest returned output.
    Ok,
    /// The guest refused the input through the ABI's error channel.
    GuestError,
    /// The guest crashed, exited or broke the ABI.
    Trap,
    /// Cut at its deadline.
    Deadline,
    /// Hit its memory cap.
    MemoryLimit,
    /// Used its CPU budget.
    CpuBudget,
    /// Never ran: over the tenant's limits, or no free instance slot.
    Rejected,
}

impl Outcome {
    /// Every outcome, in label order.
    pub const ALL: [Self; 7] = [
        Self::Ok,
        Self::GuestError,
        Self::Trap,
        Self::Deadline,
        Self::MemoryLimit,
        Self::CpuBudget,
        Self::Rejected,
    ];

    /// The label: `ok`, `guest_error`, `trap`, `deadline`, `memory_limit`,
    /// `cpu_budget`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::GuestError => "guest_error",
            Self::Trap => "trap",
            Self::Deadline => "deadline",
            Self::MemoryLimit => "memory_limit",
            Self::CpuBudget => "cpu_budget",
            Self::Rejected => "rejected",
        }
    }

    /// The outcome of a call that ran (or was refused by the sandbox).
    pub fn of<T>(result: &Result<T, SandboxError>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(e) => match e {
                SandboxError::GuestError { .. } => Self::GuestError,
                SandboxError::Deadline { .. } => Self::Deadline,
                SandboxError::MemoryLimit { .. } => Self::MemoryLimit,
                SandboxError::CpuBudget { .. } => Self::CpuBudget,
                SandboxError::Trap { .. }
                | SandboxError::Exit { .. }
                | SandboxError::AbiViolation { .. } => Self::Trap,
                SandboxError::Busy { .. }
                | SandboxError::InvalidInput { .. }
                | SandboxError::UnknownGuest { .. } => Self::Rejected,
            },
        }
    }

    /// Whether the guest ran (a rejection is counted, not timed).
    pub fn ran(self) -> bool {
        self != Self::Rejected
    }

    /// Whether it is the guest's failure worth a warning in the log (never
    /// an error: a client must not be able to flood the error log).
    pub fn is_guest_failure(self) -> bool {
        matches!(
            self,
            Self::Trap | Self::Deadline | Self::MemoryLimit | Self::CpuBudget
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_every_sandbox_error_has_an_outcome() {
        let labels: std::collections::BTreeSet<_> =
            Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(labels.len(), Outcome::ALL.len());
        let busy: Result<(), _> = Err(SandboxError::Busy { slots: 1 });
        assert_eq!(Outcome::of(&busy), Outcome::Rejected);
        let exit: Result<(), _> = Err(SandboxError::Exit { code: 3 });
        assert_eq!(Outcome::of(&exit), Outcome::Trap);
        assert_eq!(Outcome::of(&Ok::<(), SandboxError>(())), Outcome::Ok);
    }
}
