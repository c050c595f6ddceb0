//! The job lifecycle: every allowed status change is listed here, once.
//!
//! ```text
//! CREATED ──► RUNNING ──► FINISHED
//!    │         ▲ │
//!    │         │ ├──► RESTARTING ──► FAILED | CANCELLING
//!    │         └─┘ (restarted)
//!    │           ├──► FAILING ──► FAILED
//!    │           └──► CANCELLING ──► CANCELED
//!    ├──► FAILED            (no slots, bad splits)
//!    └──► CANCELLING
//! ```

use crate::gateway::JobStatus;

/// The edges of the job state machine.
const TRANSITIONS: &[(JobStatus, JobStatus)] = &[
    (JobStatus::Created, JobStatus::Running),
    (JobStatus::Created, JobStatus::Failed),
    (JobStatus::Created, JobStatus::Cancelling),
    (JobStatus::Running, JobStatus::Finished),
    (JobStatus::Running, JobStatus::Failing),
    (JobStatus::Running, JobStatus::Cancelling),
    (JobStatus::Running, JobStatus::Restarting),
    (JobStatus::Restarting, JobStatus::Running),
    (JobStatus::Restarting, JobStatus::Failing),
    (JobStatus::Restarting, JobStatus::Failed),
    (JobStatus::Restarting, JobStatus::Cancelling),
    (JobStatus::Failing, JobStatus::Failed),
    (JobStatus::Cancelling, JobStatus::Canceled),
    // A task may fail while the others are being cancelled.
    (JobStatus::Cancelling, JobStatus::Failed),
];

/// Whether a job may go from `from` to `to`.
pub fn can_transition(from: JobStatus, to: JobStatus) -> bool {
    TRANSITIONS.contains(&(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for (from, _) in TRANSITIONS {
            assert!(!from.is_terminal());
        }
    }
}
