//! The canary rollout of the plugin the dashboard shows (docs/rollouts.md):
//! while it runs, the stable and candidate digests side by side with their
//! share, calls, failure rates and p99 over the window; once the server has
//! decided, the last decision with its reasons. Fed by the dashboard's
//! once-a-second poll of `GET /api/plugins/{name}`.

use leptos::prelude::*;

use super::short;
use crate::api::{Decision, PluginStatus, Rollout, SideStats};

/// The rollout panel of one plugin name; nothing while `status` is `None`
/// (no name selected, or no such name).
#[component]
pub fn RolloutView(status: ReadSignal<Option<PluginStatus>>) -> impl IntoView {
    move || {
        status.get().map(|s| {
            let idle = s.rollout.is_none().then(|| {
                let active = short(&s.activation.active);
                view! { <p class="rollout-idle">{format!("No rollout running; {active} is active.")}</p> }
            });
            view! {
                <div id="sb-rollout-status" data-plugin=s.name.clone()>
                    <h3>{format!("Rollout of {}", s.name)}</h3>
                    {idle}
                    {s.rollout.map(live)}
                    {s.decisions.last().cloned().map(decision)}
                </div>
            }
        })
    }
}

/// Stable vs candidate while the rollout runs.
fn live(r: Rollout) -> impl IntoView {
    let t = r.thresholds;
    let fewest = r.stable_stats.calls.min(r.candidate_stats.calls);
    let progress = format!(
        "{fewest} of {} calls on the side with fewer; limits: trap +{:.1}, deadline +{:.1}, \
         memory +{:.1}, guest error +{:.1} points, p99 ≤ {:.1}× stable",
        r.min_calls, t.trap, t.deadline, t.memory_limit, t.guest_error, t.p99_ratio
    );
    view! {
        <table id="sb-rollout" class="report">
            <thead><tr><th>"role"</th><th>"digest"</th><th>"share"</th><th>"calls"</th><th>"trap"</th>
                <th>"deadline"</th><th>"mem cap"</th><th>"guest error"</th><th>"p99 ms"</th></tr></thead>
            <tbody>
                {side("stable", &r.stable, 100 - r.percent, r.stable_stats)}
                {side("candidate", &r.candidate, r.percent, r.candidate_stats)}
            </tbody>
        </table>
        <p id="sb-rollout-progress">{progress}</p>
    }
}

fn side(role: &'static str, digest: &str, share: u8, s: SideStats) -> impl IntoView + use<> {
    view! {
        <tr class="rollout-side" data-role=role>
            <td>{role}</td><td><code>{short(digest)}</code></td>
            <td class="num">{format!("{share}%")}</td>
            <td class="num">{s.calls}</td>
            <td class="num">{percent(s.trap)}</td>
            <td class="num">{percent(s.deadline)}</td>
            <td class="num">{percent(s.memory_limit)}</td>
            <td class="num">{percent(s.guest_error)}</td>
            <td class="num">{format!("{:.2}", s.p99_ms)}</td>
        </tr>
    }
}

/// The wire rates are already percent of a side's calls.
fn percent(rate: f64) -> String {
    format!("{rate:.1}%")
}

/// How the last rollout ended, and on which numbers.
fn decision(d: Decision) -> impl IntoView {
    let summary = format!(
        "Last decision: {} after {:.1} s ({} → {} at {}%); active: {}",
        d.kind.as_str(),
        d.after_ms as f64 / 1000.0,
        short(&d.stable),
        short(&d.candidate),
        d.percent,
        short(&d.active)
    );
    let numbers = format!(
        "stable {}; candidate {}",
        side_summary(&d.stable_stats),
        side_summary(&d.candidate_stats)
    );
    let reasons = if d.reasons.is_empty() {
        view! { <li>"no threshold broken"</li> }.into_any()
    } else {
        d.reasons
            .into_iter()
            .map(|reason| view! { <li class="reason">{reason}</li> })
            .collect_view()
            .into_any()
    };
    view! {
        <div id="sb-decision" data-kind=d.kind.as_str()>
            <p class="decision-summary">{summary}</p>
            <p class="decision-numbers">{numbers}</p>
            <ul class="decision-reasons">{reasons}</ul>
        </div>
    }
}

fn side_summary(s: &SideStats) -> String {
    format!(
        "{} calls, trap {}, deadline {}, p99 {:.2} ms",
        s.calls,
        percent(s.trap),
        percent(s.deadline),
        s.p99_ms
    )
}
