//! The Sandbox page (seed tasks 12, 13, 14): invoke a plugin as a tenant and
//! see the typed outcome; the registry with activate/rollback (admin token);
//! live per-tenant/per-digest percentiles and outcome rates, refreshed every
//! second, with a p99 chart; and the invoked name's canary rollout, polled
//! with them ([`RolloutView`]). On a demo server (`cargo xtask run`) the
//! key, the admin token and the plugin name are pre-filled from `/api/demo`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rollout_view::RolloutView;
use super::short;
use crate::api::{
    ActivateRequest, DemoTenant, PluginList, PluginStatus, Reply, StatRow, fetch_demo,
    fetch_plugin_status, fetch_plugins, fetch_stats, invoke_plugin, is_plugin_name, set_active,
};

/// Samples kept for the chart (one per second).
const CHART_POINTS: usize = 60;

/// The dashboard.
#[component]
pub fn SandboxDashboard() -> impl IntoView {
    let (api_key, set_api_key) = signal(String::new());
    let (admin_token, set_admin_token) = signal(String::new());
    let (target, set_target) = signal(String::from("csv"));
    let (input, set_input) = signal(String::from("name,qty\nbolt,4\nnut,10\n"));
    let (reply, set_reply) = signal(None::<Result<Reply, String>>);
    let (plugins, set_plugins) = signal(None::<PluginList>);
    let (stats, set_stats) = signal(Vec::<StatRow>::new());
    let (history, set_history) = signal(Vec::<f64>::new());
    let (plugin_status, set_plugin_status) = signal(None::<PluginStatus>);
    let (demo_tenants, set_demo_tenants) = signal(Vec::<DemoTenant>::new());

    prefill_from_demo(set_api_key, set_admin_token, set_target, set_demo_tenants);
    let refresh = move || {
        refresh_once(
            target,
            set_plugins,
            set_stats,
            set_history,
            set_plugin_status,
        )
    };
    refresh();
    set_interval(refresh, Duration::from_secs(1));

    let invoke = Callback::new(move |()| {
        let (t, k, i) = (
            target.get_untracked(),
            api_key.get_untracked(),
            input.get_untracked(),
        );
        spawn_local(async move {
            set_reply.set(Some(invoke_plugin(&t, &k, &i).await));
            refresh();
        });
    });
    let change = Callback::new(move |(name, request): (String, ActivateRequest)| {
        let token = admin_token.get_untracked();
        spawn_local(async move {
            set_reply.set(Some(set_active(&name, &token, &request).await));
            refresh();
        });
    });

    view! {
        <section id="sandbox" class="panel">
            <h2>"Sandbox: plugins, tenants, metrics (tasks 12–14)"</h2>
            <div class="sandbox-form">
                <label>"Tenant API key "<input id="sb-key" type="password" prop:value=api_key
                    on:input=move |ev| set_api_key.set(event_target_value(&ev)) /></label>
                <DemoTenantButtons tenants=demo_tenants api_key=api_key set_api_key=set_api_key />
                <label>"Plugin (name or digest) "<input id="sb-target" prop:value=target
                    on:input=move |ev| set_target.set(event_target_value(&ev)) /></label>
                <label>"Input (sent to the guest as the request body)"
                    <textarea id="sb-input" rows="4" prop:value=input
                        on:input=move |ev| set_input.set(event_target_value(&ev))></textarea></label>
                <button id="sb-invoke" on:click=move |_| invoke.run(())>"Invoke"</button>
            </div>
            <ReplyView reply=reply />

            <h3>"Registry"</h3>
            <label>"Admin token "<input id="sb-admin" type="password" prop:value=admin_token
                on:input=move |ev| set_admin_token.set(event_target_value(&ev)) /></label>
            <RegistryTable plugins=plugins change=change />

            <RolloutView status=plugin_status />

            <h3>"Live metrics (every second)"</h3>
            <StatsTable stats=stats />
            <LatencyChart history=history />
        </section>
    }
}

/// On a demo server, its generated credentials, plugin and tenants; any
/// other server answers 404 and the fields stay as the person fills them.
fn prefill_from_demo(
    set_api_key: WriteSignal<String>,
    set_admin_token: WriteSignal<String>,
    set_target: WriteSignal<String>,
    set_demo_tenants: WriteSignal<Vec<DemoTenant>>,
) {
    spawn_local(async move {
        if let Ok(demo) = fetch_demo().await {
            if let Some(first) = demo.tenants.first() {
                set_api_key.set(first.api_key.clone());
            }
            set_admin_token.set(demo.admin_token);
            set_target.set(demo.plugin);
            set_demo_tenants.set(demo.tenants);
        }
    });
}

/// Polls the registry, the stats (the chart keeps each poll's worst p99)
/// and the target's rollout once.
fn refresh_once(
    target: ReadSignal<String>,
    set_plugins: WriteSignal<Option<PluginList>>,
    set_stats: WriteSignal<Vec<StatRow>>,
    set_history: WriteSignal<Vec<f64>>,
    set_plugin_status: WriteSignal<Option<PluginStatus>>,
) {
    spawn_local(async move {
        if let Ok(list) = fetch_plugins().await {
            set_plugins.set(Some(list));
        }
        if let Ok(rows) = fetch_stats().await {
            let worst = rows.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
            set_history.update(|h| {
                h.push(worst);
                if h.len() > CHART_POINTS {
                    h.remove(0);
                }
            });
            set_stats.set(rows);
        }
        // A digest or an unknown name has no rollout to show.
        let name = target.get_untracked();
        let status = if is_plugin_name(&name) {
            fetch_plugin_status(&name).await.ok()
        } else {
            None
        };
        set_plugin_status.set(status);
    })
}

/// One button per demo tenant; a click puts its key in the form.
#[component]
fn DemoTenantButtons(
    tenants: ReadSignal<Vec<DemoTenant>>,
    api_key: ReadSignal<String>,
    set_api_key: WriteSignal<String>,
) -> impl IntoView {
    view! {
        <span id="sb-demo-tenants">
            {move || tenants.get().into_iter().map(|t| {
                let key = t.api_key.clone();
                let selected = move || api_key.get() == key;
                let key = t.api_key.clone();
                view! {
                    <button class="demo-tenant" data-tenant=t.id.clone() title=t.role.clone()
                        class:selected=selected
                        on:click=move |_| set_api_key.set(key.clone())>
                        {format!("{} ({})", t.id, t.cpu)}
                    </button>
                }
            }).collect_view()}
        </span>
    }
}

/// The last invoke's or registry change's answer.
#[component]
fn ReplyView(reply: ReadSignal<Option<Result<Reply, String>>>) -> impl IntoView {
    move || {
        reply.get().map(|r| match r {
        Ok(r) => view! {
            <pre id="sb-reply" data-status=r.status.to_string()>
                {format!("HTTP {}{}\n{}", r.status,
                    r.digest.map(|d| format!(" (digest {})", short(&d))).unwrap_or_default(), r.body)}
            </pre>
        }.into_any(),
        Err(e) => view! { <pre id="sb-reply" class="error">{e}</pre> }.into_any(),
    })
    }
}

/// Every stored plugin, with activate and roll-back buttons.
#[component]
fn RegistryTable(
    plugins: ReadSignal<Option<PluginList>>,
    change: Callback<(String, ActivateRequest)>,
) -> impl IntoView {
    view! {
        <table id="sb-registry" class="report">
            <thead><tr><th>"name"</th><th>"version"</th><th>"digest"</th><th>"bytes"</th><th>"action"</th></tr></thead>
            <tbody>
                {move || plugins.get().map(|list| {
                    let active = list.active.clone();
                    list.plugins.into_iter().map(|p| {
                        let is_active = active.get(&p.name).is_some_and(|a| a.active == p.digest);
                        let can_roll_back = is_active && active.get(&p.name).is_some_and(|a| !a.history.is_empty());
                        let (name, digest) = (p.name.clone(), p.digest.clone());
                        let name2 = p.name.clone();
                        view! {
                            <tr class="plugin" data-active=is_active.to_string()>
                                <td>{p.name.clone()}</td><td>{p.version.clone()}</td>
                                <td><code>{short(&p.digest)}</code>{if is_active { " (active)" } else { "" }}</td>
                                <td class="num">{p.size}</td>
                                <td>
                                    <Show when=move || !is_active>
                                        <button class="activate" on:click={
                                            let (name, digest) = (name.clone(), digest.clone());
                                            move |_| change.run((name.clone(), ActivateRequest::digest(digest.clone())))
                                        }>"activate"</button>
                                    </Show>
                                    <Show when=move || can_roll_back>
                                        <button class="rollback" on:click={
                                            let name = name2.clone();
                                            move |_| change.run((name.clone(), ActivateRequest::rollback()))
                                        }>"roll back"</button>
                                    </Show>
                                </td>
                            </tr>
                        }
                    }).collect_view()
                })}
            </tbody>
        </table>
    }
}

/// Per tenant and digest: calls, percentiles and outcome rates.
#[component]
fn StatsTable(stats: ReadSignal<Vec<StatRow>>) -> impl IntoView {
    view! {
        <table id="sb-stats" class="report">
            <thead><tr><th>"tenant"</th><th>"digest"</th><th>"calls"</th><th>"p50 ms"</th><th>"p99 ms"</th>
                <th>"outcomes"</th><th>"deadline"</th><th>"mem cap"</th></tr></thead>
            <tbody>
                {move || stats.get().into_iter().map(|r| view! {
                    <tr class="stat">
                        <td>{r.tenant.clone()}</td><td><code>{short(&r.digest)}</code></td>
                        <td class="num">{r.invocations}</td>
                        <td class="num">{format!("{:.2}", r.p50_ms)}</td>
                        <td class="num">{format!("{:.2}", r.p99_ms)}</td>
                        <td>{r.outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")}</td>
                        <td class="num">{format!("{:.1}%", r.deadline_rate * 100.0)}</td>
                        <td class="num">{format!("{:.1}%", r.memory_cap_rate * 100.0)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Worst p99 per second over the last minute, as an SVG polyline.
#[component]
fn LatencyChart(history: ReadSignal<Vec<f64>>) -> impl IntoView {
    let points = move || {
        let h = history.get();
        super::chart::polyline_points(&h, CHART_POINTS, super::chart::scale(&h))
    };
    let label = move || {
        let h = history.get();
        format!(
            "worst p99: {:.2} ms now, {:.2} ms max over the last minute",
            h.last().copied().unwrap_or(0.0),
            h.iter().copied().fold(0.0, f64::max)
        )
    };
    view! {
        <figure class="chart">
            <svg id="sb-chart" viewBox="0 0 600 120" width="600" height="120" role="img">
                <rect x="0" y="0" width="600" height="120" fill="none" stroke="currentColor" stroke-opacity="0.2" />
                <polyline points=points fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            <figcaption>{label}</figcaption>
        </figure>
    }
}
