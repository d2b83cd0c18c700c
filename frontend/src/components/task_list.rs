//! The catalogue of seed tasks, grouped by tier.

use leptos::prelude::*;

use crate::tasks::{TASKS, Tier};

/// Lists the 15 seed tasks, grouped by tier, each linking to the page of
/// its panel, with where it is demonstrated.
#[component]
pub fn TaskList() -> impl IntoView {
    let tiers = [Tier::Easy, Tier::Medium, Tier::Hard];
    view! {
        <section id="tasks" aria-label="Seed tasks">
            {tiers
                .into_iter()
                .map(|tier| {
                    view! {
                        <h2>{tier.label()}</h2>
                        <ol class="task-list" data-tier=tier.label()>
                            {TASKS
                                .iter()
                                .filter(|task| task.tier == tier)
                                .map(|task| {
                                    view! {
                                        <li class="task" data-task=task.number>
                                            <span class="task-number">{format!("Task {}", task.number)}</span>
                                            " "
                                            <a class="task-title" href=task.page()>{task.title}</a>
                                            <span class="task-where">{task.demonstrated_in}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ol>
                    }
                })
                .collect_view()}
        </section>
    }
}
