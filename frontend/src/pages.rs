//! One page per tier (`wire::routes`): each holds the live panels of its
//! tasks, so a person can link to a lesson.

use leptos::prelude::*;

use crate::api::Manifest;
use crate::components::capabilities::Capabilities;
use crate::components::compile_once::CompileOnce;
use crate::components::decision_memo::DecisionMemo;
use crate::components::go_module::GoModulePanel;
use crate::components::header_inspector::HeaderInspector;
use crate::components::hostile_guests::HostileGuests;
use crate::components::loading_modes::LoadingModes;
use crate::components::minimal_host::MinimalHost;
use crate::components::noisy_neighbour::NoisyNeighbour;
use crate::components::sandbox_dashboard::SandboxDashboard;
use crate::components::shim_pair::ShimPair;
use crate::components::size_table::SizeTable;
use crate::components::task_list::TaskList;
use crate::components::wrong_mime::WrongMimeDemo;

/// The manifest the app fetched once ([`crate::App`] provides it).
pub type ManifestResource = LocalResource<Result<Manifest, String>>;

/// `render(manifest)` once the manifest is in; loading or its error until then.
fn with_manifest<V: IntoView + 'static>(
    render: impl Fn(Manifest) -> V + Send + Sync + 'static,
) -> impl IntoView {
    let manifest = expect_context::<ManifestResource>();
    move || match manifest.get() {
        None => view! { <p id="manifest-loading">"loading manifest…"</p> }.into_any(),
        Some(Err(e)) => view! { <p id="manifest-error" class="error">{e}</p> }.into_any(),
        Some(Ok(m)) => {
            // The inspector view reads it (the app wasm's URL).
            provide_context(m.clone());
            render(m).into_any()
        }
    }
}

/// `/`: what the app is, and every task with a link to its page.
#[component]
pub fn Overview() -> impl IntoView {
    view! { <TaskList /> }
}

/// `/easy`: tasks 1–4.
#[component]
pub fn EasyPage() -> impl IntoView {
    view! {
        <h2 class="tier">"Easy: tasks 1–4"</h2>
        {with_manifest(|m| view! { <WrongMimeDemo manifest=m /> })}
        <SizeTable />
        {with_manifest(|m| view! { <HeaderInspector manifest=m /> })}
        <MinimalHost />
    }
}

/// `/medium`: tasks 5–9.
#[component]
pub fn MediumPage() -> impl IntoView {
    view! {
        <h2 class="tier">"Medium: tasks 5–9"</h2>
        <section id="negotiation-link" class="panel elsewhere">
            <h2>"br / gzip / identity with Vary (task 5)"</h2>
            <p>"Live in the header inspector on the "<a href=wire::routes::EASY>"Easy"</a>" page, with task 3."</p>
        </section>
        {with_manifest(|m| view! {
            <p class="go-version">{format!("Go module built by {}", m.go.version)}</p>
            <GoModulePanel manifest=m.clone() />
            <LoadingModes manifest=m.clone() />
            <ShimPair manifest=m />
        })}
        <CompileOnce />
    }
}

/// `/hard`: tasks 10–14.
#[component]
pub fn HardPage() -> impl IntoView {
    view! {
        <h2 class="tier">"Hard: tasks 10–14"</h2>
        <HostileGuests />
        <Capabilities />
        <SandboxDashboard />
        <NoisyNeighbour />
    }
}

/// `/memo`: task 15.
#[component]
pub fn MemoPage() -> impl IntoView {
    view! {
        <h2 class="tier">"Task 15: an honest decision memo"</h2>
        <DecisionMemo />
    }
}
