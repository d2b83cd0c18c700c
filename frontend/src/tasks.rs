//! The seed's 15 hands-on tasks and where this product demonstrates each.

/// Difficulty tier of a seed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Tasks 1–4.
    Easy,
    /// Tasks 5–9.
    Medium,
    /// Tasks 10–15.
    Hard,
}

impl Tier {
    /// Heading shown for the tier.
    pub fn label(self) -> &'static str {
        match self {
            Self::Easy => "Easy",
            Self::Medium => "Medium",
            Self::Hard => "Hard",
        }
    }
}

/// One seed task.
#[derive(Debug, Clone, Copy)]
pub struct SeedTask {
    /// Number in the seed (1–15).
    pub number: u8,
    /// Tier in the seed.
    pub tier: Tier,
    /// Short title.
    pub title: &'static str,
    /// Where a person can see it working.
    pub demonstrated_in: &'static str,
}

/// All seed tasks, in order.
pub const TASKS: [SeedTask; 15] = [
    task(
        1,
        Tier::Easy,
        "Serve .wasm as application/wasm, and watch the wrong MIME fail",
        "server: assets; curl -I",
    ),
    task(
        2,
        Tier::Easy,
        "Pre-compress and measure the ratio",
        "cargo xtask build size table",
    ),
    task(
        3,
        Tier::Easy,
        "Content-hashed names, immutable caching, HTML revalidates",
        "server: assets; DevTools Network",
    ),
    task(
        4,
        Tier::Easy,
        "A minimal sandbox host: add(2, 3) = 5, no filesystem",
        "server: sandbox",
    ),
    task(
        5,
        Tier::Medium,
        "br / gzip / identity negotiation with Vary",
        "server: assets",
    ),
    task(
        6,
        Tier::Medium,
        "Lazy-load the Go module on first click, exactly once",
        "this page",
    ),
    task(
        7,
        Tier::Medium,
        "Progress bar via streamed fetch",
        "this page",
    ),
    task(
        8,
        Tier::Medium,
        "Compile once, instantiate per request",
        "server: POST /api/run",
    ),
    task(
        9,
        Tier::Medium,
        "A build that pins the wasm_exec.js shim to its binary",
        "cargo xtask build",
    ),
    task(
        10,
        Tier::Hard,
        "Memory cap and interruptible deadline",
        "server: sandbox",
    ),
    task(
        11,
        Tier::Hard,
        "One host function as the only capability",
        "server: sandbox",
    ),
    task(
        12,
        Tier::Hard,
        "Digest-keyed plugin registry with rollback",
        "server: registry",
    ),
    task(
        13,
        Tier::Hard,
        "Multi-tenant fairness",
        "cargo xtask bench fairness",
    ),
    task(
        14,
        Tier::Hard,
        "Observability across the boundary",
        "server: /metrics",
    ),
    task(
        15,
        Tier::Hard,
        "An honest decision memo",
        "docs/decision-memo.md",
    ),
];

const fn task(
    number: u8,
    tier: Tier,
    title: &'static str,
    demonstrated_in: &'static str,
) -> SeedTask {
    SeedTask {
        number,
        tier,
        title,
        demonstrated_in,
    }
}
