//! Harness for end-to-end tests: the real server on a free loopback port, and
//! Debian's headless Chromium driven over the DevTools protocol, with every
//! network response the page receives recorded for assertions.

pub mod browser;
pub mod network;
pub mod site;

pub use browser::Chromium;
pub use network::{NetworkLog, Response};
pub use site::TestServer;
