//! `cargo xtask demo rollout`: canary rollouts of the `process` plugin under
//! steady traffic (docs/rollouts.md).
//!
//! 1. a canary of `process_flaky` (traps on about one input in ten): the
//!    server must roll it back by itself;
//! 2. the baseline: an all-at-once switch to the same flaky build, for as
//!    long as the canary took to decide, then back;
//! 3. a canary of `process_v2` (no regression): the server must promote it.
//!
//! It prints each run's time to decision, the failed calls it cost and the
//! decision record, and fails unless the decisions are `rolled_back` then
//! `promoted`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use wire::{ActivateRequest, Decision, DecisionKind, RolloutRequest, Thresholds};

use super::DemoArgs;
use super::api::Api;
use super::server::DemoServer;
use super::traffic::{Tally, Traffic};
use crate::guests::PROCESS_FLAKY;
use crate::paths;

/// The plugin name the demo deploys under.
const PLUGIN: &str = "process";
/// Traffic on the stable digest alone before the first rollout.
const WARM_UP: Duration = Duration::from_secs(2);
/// How often the demo asks the server whether it has decided.
const POLL: Duration = Duration::from_millis(100);
/// A rollout not decided by then fails the demo.
const DECISION_TIMEOUT: Duration = Duration::from_secs(180);

/// One phase's outcome.
#[derive(Debug)]
struct Phase {
    /// Wall-clock time of the phase as the demo saw it.
    wall: Duration,
    /// The calls the clients made during it.
    tally: Tally,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    ensure!(
        (1..=99).contains(&args.percent),
        "--percent must be 1 to 99"
    );
    ensure!(args.clients > 0, "--clients must be at least 1");
    let dir = paths::target().join("demo-rollout");
    let server = DemoServer::start(&dir, args.clients)?;
    let api = server.api();
    println!(
        "[demo] server on {}/ (log: {}); to watch the rollouts live, open it and \
         put `{PLUGIN}` in the dashboard's plugin field",
        api.base(),
        server.log().display()
    );
    let v1 = upload(api, "process", "1")?;
    let flaky = upload(api, PROCESS_FLAKY, "3-flaky")?;
    let v2 = upload(api, "process_v2", "2")?;

    println!(
        "[demo] {} clients calling POST /api/invoke/{PLUGIN}, distinct inputs and request ids",
        args.clients
    );
    let traffic = Traffic::start(api, PLUGIN, args.clients);
    let before = traffic.tally();
    std::thread::sleep(WARM_UP);
    let warm = traffic.tally().since(before);
    println!(
        "[demo] warm-up on {}: {} calls in {WARM_UP:?}, {} failed",
        short(&v1),
        warm.calls,
        warm.failed
    );

    println!(
        "\n== run 1: canary of {PROCESS_FLAKY} at {}% ==",
        args.percent
    );
    let (canary_flaky, flaky_decision) = canary(api, &traffic, &flaky, args)?;
    let decided_after = Duration::from_millis(flaky_decision.after_ms);

    println!("\n== baseline: all-at-once switch to {PROCESS_FLAKY} for {decided_after:?} ==");
    let all_at_once = switch_for(api, &traffic, &flaky, decided_after)?;
    println!(
        "[demo] {} calls, {} failed; switched back",
        all_at_once.tally.calls, all_at_once.tally.failed
    );

    println!("\n== run 2: canary of process_v2 at {}% ==", args.percent);
    let (canary_v2, v2_decision) = canary(api, &traffic, &v2, args)?;
    drop(traffic);

    println!("\n== summary ==");
    report("run 1", PROCESS_FLAKY, &canary_flaky, &flaky_decision);
    report("run 2", "process_v2", &canary_v2, &v2_decision);
    println!(
        "baseline: all-at-once to {PROCESS_FLAKY} for {:.2} s: {} failed of {} calls",
        all_at_once.wall.as_secs_f64(),
        all_at_once.tally.failed,
        all_at_once.tally.calls
    );
    println!(
        "failed calls: canary {} vs all-at-once {}",
        canary_flaky.tally.failed, all_at_once.tally.failed
    );

    let kinds = (flaky_decision.kind, v2_decision.kind);
    if kinds != (DecisionKind::RolledBack, DecisionKind::Promoted) {
        bail!(
            "expected rolled_back then promoted, the server decided {} then {}",
            kinds.0.as_str(),
            kinds.1.as_str()
        );
    }
    println!("decisions: rolled_back then promoted, as expected");
    Ok(())
}

/// Uploads `target/guests/<guest>.wasm` under the demo's plugin name and
/// returns its digest (the first upload becomes the active one).
fn upload(api: &Api, guest: &str, version: &str) -> anyhow::Result<String> {
    let path = paths::guests().join(format!("{guest}.wasm"));
    let info = api.upload(&path, PLUGIN, version)?;
    println!(
        "[demo] uploaded {guest}.wasm as {PLUGIN} version {version}: {}",
        short(&info.digest)
    );
    Ok(info.digest)
}

/// Starts a rollout of `candidate` and waits, under the traffic, for the
/// server's decision; returns the phase (start to the decision seen) and
/// the decision.
fn canary(
    api: &Api,
    traffic: &Traffic,
    candidate: &str,
    args: &DemoArgs,
) -> anyhow::Result<(Phase, Decision)> {
    let decided_before = api.status(PLUGIN)?.decisions.len();
    let request = RolloutRequest {
        candidate: candidate.to_owned(),
        percent: args.percent,
        min_calls: args.min_calls,
        thresholds: Thresholds::default(),
    };
    let before = traffic.tally();
    let started = Instant::now();
    let rollout = api.start_rollout(PLUGIN, &request)?;
    println!(
        "[demo] PUT /api/plugins/{PLUGIN}/rollout: {} -> {} at {}%, min_calls {}",
        short(&rollout.stable),
        short(&rollout.candidate),
        rollout.percent,
        rollout.min_calls
    );
    let mut shown = Instant::now();
    let decision = loop {
        std::thread::sleep(POLL);
        let status = api.status(PLUGIN)?;
        if status.decisions.len() > decided_before {
            break status
                .decisions
                .last()
                .cloned()
                .context("a decision was counted")?;
        }
        if started.elapsed() > DECISION_TIMEOUT {
            bail!("no decision after {DECISION_TIMEOUT:?}: {status:?}");
        }
        if let Some(live) = status
            .rollout
            .filter(|_| shown.elapsed() >= Duration::from_secs(1))
        {
            shown = Instant::now();
            println!(
                "[demo]   {:>5.1} s  stable {:>5} calls  candidate {:>4} calls, trap {:.1}%, p99 {:.2} ms vs {:.2} ms",
                started.elapsed().as_secs_f64(),
                live.stable_stats.calls,
                live.candidate_stats.calls,
                live.candidate_stats.trap,
                live.candidate_stats.p99_ms,
                live.stable_stats.p99_ms
            );
        }
    };
    let phase = Phase {
        wall: started.elapsed(),
        tally: traffic.tally().since(before),
    };
    println!(
        "[demo] decision: {} after {} ms; {} failed of {} calls meanwhile",
        decision.kind.as_str(),
        decision.after_ms,
        phase.tally.failed,
        phase.tally.calls
    );
    println!(
        "[demo] decision record:\n{}",
        serde_json::to_string_pretty(&decision)?
    );
    Ok((phase, decision))
}

/// Longer than any call of the demo's traffic takes.
const IN_FLIGHT: Duration = Duration::from_millis(200);

/// Makes `digest` active at once for `period`, then rolls back; the phase
/// is the time between the two switches, plus the calls still in flight.
fn switch_for(
    api: &Api,
    traffic: &Traffic,
    digest: &str,
    period: Duration,
) -> anyhow::Result<Phase> {
    let before = traffic.tally();
    let started = Instant::now();
    api.activate(PLUGIN, &ActivateRequest::digest(digest))?;
    std::thread::sleep(period.saturating_sub(started.elapsed()));
    api.activate(PLUGIN, &ActivateRequest::rollback())?;
    let wall = started.elapsed();
    // Calls in flight keep the digest they resolved: let them finish, so
    // their failures count here and not in the next phase.
    std::thread::sleep(IN_FLIGHT);
    Ok(Phase {
        wall,
        tally: traffic.tally().since(before),
    })
}

fn report(run: &str, guest: &str, phase: &Phase, decision: &Decision) {
    println!(
        "{run}: canary of {guest} at {}%: {} after {:.2} s (server), {:.2} s seen by the demo; \
         {} failed of {} calls",
        decision.percent,
        decision.kind.as_str(),
        decision.after_ms as f64 / 1000.0,
        phase.wall.as_secs_f64(),
        phase.tally.failed,
        phase.tally.calls
    );
    for reason in &decision.reasons {
        println!("  reason: {reason}");
    }
}

/// The first 12 hex digits of a digest, as the dashboard shows it.
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}
