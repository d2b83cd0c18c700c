//! Download progress arithmetic, kept free of the DOM so it is tested on its own.
//!
//! The stream of a `fetch` body yields **decoded** bytes, while
//! `Content-Length` counts the **encoded** (e.g. brotli) bytes on the wire:
//! dividing one by the other overshoots 100% by 4x for a Go module. So the
//! total is the decoded size from the manifest; `Content-Length` is used only
//! when the response is not content-encoded; otherwise progress is
//! indeterminate.

/// Progress of one download.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Decoded bytes received so far.
    pub received: u64,
    /// Decoded bytes expected, when known.
    pub total: Option<u64>,
    /// Milliseconds since the fetch started.
    pub elapsed_ms: f64,
}

impl Progress {
    /// Fraction done in `0.0..=1.0`, `None` when indeterminate. Never above 1
    /// even if the server sends more than announced.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total.filter(|t| *t > 0)?;
        Some((self.received as f64 / total as f64).min(1.0))
    }

    /// Whole percent for display, `None` when indeterminate.
    pub fn percent(&self) -> Option<u32> {
        self.fraction().map(|f| (f * 100.0).floor() as u32)
    }

    /// Decoded megabytes per second so far.
    pub fn mb_per_s(&self) -> f64 {
        if self.elapsed_ms <= 0.0 {
            0.0
        } else {
            self.received as f64 / 1e6 / (self.elapsed_ms / 1e3)
        }
    }
}

/// The decoded total to measure progress against.
pub fn decoded_total(
    manifest_size: Option<u64>,
    content_length: Option<u64>,
    content_encoding: Option<&str>,
) -> Option<u64> {
    let encoded = content_encoding.is_some_and(|e| !e.is_empty() && e != "identity");
    manifest_size.or(if encoded { None } else { content_length })
}
