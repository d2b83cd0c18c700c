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

impl Tier {
    /// The page (`wire::routes`) holding the tier's panels.
    pub fn page(self) -> &'static str {
        match self {
            Self::Easy => wire::routes::EASY,
            Self::Medium => wire::routes::MEDIUM,
            Self::Hard => wire::routes::HARD,
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
    /// Where a person can see it working: the panel, or the command.
    pub demonstrated_in: &'static str,
}

impl SeedTask {
    /// The page where its panel is: its tier's, the memo's for task 15.
    pub fn page(&self) -> &'static str {
        if self.number == 15 {
            wire::routes::MEMO
        } else {
            self.tier.page()
        }
    }
}

/// All seed tasks, in order.
pub const TASKS: [SeedTask; 15] = [
    task(
        1,
        Tier::Easy,
        "Serve .wasm as application/wasm, and watch the wrong MIME fail",
        "Easy: two instantiateStreaming buttons",
    ),
    task(
        2,
        Tier::Easy,
        "Pre-compress and measure the ratio",
        "Easy: the size table (/api/assets)",
    ),
    task(
        3,
        Tier::Easy,
        "Content-hashed names, immutable caching, HTML revalidates",
        "Easy: header inspector",
    ),
    task(
        4,
        Tier::Easy,
        "A minimal sandbox host: add(2, 3) = 5, no filesystem",
        "Easy: add(2, 3) and the file probe, run by the server",
    ),
    task(
        5,
        Tier::Medium,
        "br / gzip / identity negotiation with Vary",
        "Easy: header inspector, per Accept-Encoding",
    ),
    task(
        6,
        Tier::Medium,
        "Lazy-load the Go module on first click, exactly once",
        "Medium: load the Go inspector",
    ),
    task(
        7,
        Tier::Medium,
        "Progress bar via streamed fetch",
        "Medium: load the Go inspector (three modes)",
    ),
    task(
        8,
        Tier::Medium,
        "Compile once, instantiate per request",
        "cargo xtask bench sandbox",
    ),
    task(
        9,
        Tier::Medium,
        "A build that pins the wasm_exec.js shim to its binary",
        "Medium: the module/shim pair from the manifest",
    ),
    task(
        10,
        Tier::Hard,
        "Memory cap and interruptible deadline",
        "Hard: six hostile guests",
    ),
    task(
        11,
        Tier::Hard,
        "One host function as the only capability",
        "Hard: file and network probes, tagged log lines",
    ),
    task(
        12,
        Tier::Hard,
        "Digest-keyed plugin registry with rollback",
        "Hard: sandbox dashboard (registry)",
    ),
    task(
        13,
        Tier::Hard,
        "Multi-tenant fairness",
        "Hard: sandbox dashboard; cargo xtask bench fairness",
    ),
    task(
        14,
        Tier::Hard,
        "Observability across the boundary",
        "Hard: sandbox dashboard (live metrics); /metrics",
    ),
    task(
        15,
        Tier::Hard,
        "An honest decision memo",
        "Memo: docs/decision-memo.md",
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
