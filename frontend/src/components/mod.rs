//! UI components, one per file.

pub mod capabilities;
pub mod chart;
pub mod compile_once;
pub mod decision_memo;
pub mod go_module;
pub mod header_inspector;
pub mod hostile_guests;
pub mod inspector_view;
pub mod loading_modes;
pub mod minimal_host;
pub mod noisy_neighbour;
pub mod rollout_view;
pub mod sandbox_dashboard;
pub mod shim_pair;
pub mod size_table;
pub mod task_list;
pub mod wrong_mime;

/// The first 12 hex digits of a digest, as every panel shows one.
pub(crate) fn short(digest: &str) -> String {
    digest.chars().take(12).collect()
}
