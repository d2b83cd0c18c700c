//! UI components, one per file.

pub mod task_list;
