//! The Wasm in Production browser app (Leptos, client-side rendered).
//!
//! `main.rs` only mounts [`App`]; its pages (one per tier) live in
//! [`pages`], their components in [`components`], the catalogue of seed
//! tasks the app demonstrates in [`tasks`].

pub mod api;
pub mod app;
pub mod components;
pub mod go_wasm;
pub mod inspection;
pub mod once;
pub mod pages;
pub mod progress;
pub mod tasks;

pub use app::App;
