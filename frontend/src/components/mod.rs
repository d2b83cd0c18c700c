//! UI components, one per file.

pub mod go_module;
pub mod inspector_view;
pub mod rollout_view;
pub mod sandbox_dashboard;
pub mod size_table;
pub mod task_list;
pub mod wrong_mime;
