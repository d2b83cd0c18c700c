//! `bench_isolation --check <native-binary>`: the bench's process sandbox
//! really confines. The probes run unconfined first (control: they can
//! read the host file and reach the listener, so a denial below means
//! something), then under the exact bubblewrap invocation and memory cap
//! the bench measures, per call and as a pool worker. Prints one line per
//! check and a libtest-style summary; exits 1 if any check fails.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::hostile::{self, Listener, PROBE_DEADLINE};
use crate::native::{Isolation, Outcome};
use crate::variants::{DEADLINE, Setup, Variant};

type Check = (String, Result<String, String>);

pub fn run(binary: PathBuf) -> ! {
    let checks = match (Setup::new(binary, None), Listener::open()) {
        (Ok(setup), Ok(listener)) => checks(&setup, &listener),
        (Err(e), _) => vec![("set up cgroup slots".to_owned(), Err(e))],
        (_, Err(e)) => vec![("open a loopback listener".to_owned(), Err(e.to_string()))],
    };
    let mut failed = 0;
    for (name, result) in &checks {
        match result {
            Ok(detail) => println!("check {name} ... ok ({detail})"),
            Err(detail) => {
                failed += 1;
                println!("check {name} ... FAILED: {detail}");
            }
        }
    }
    let passed = checks.len() - failed;
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out"
    );
    std::process::exit(i32::from(failed > 0));
}

fn checks(setup: &Setup, listener: &Listener) -> Vec<Check> {
    let must = |ok: bool, detail: String| if ok { Ok(detail) } else { Err(detail) };
    let fs = |variant| hostile::probe_fs(setup, variant);
    let net = |variant| hostile::probe_net(setup, variant, listener);
    let mut checks: Vec<Check> = vec![
        (
            "control: the unconfined probe reads /etc/passwd".to_owned(),
            fs(Variant::Native).and_then(|v| must(v.read_host_file, v.detail)),
        ),
        (
            "control: the unconfined probe reaches the loopback listener".to_owned(),
            net(Variant::Native).and_then(|v| must(v.reached_listener, v.detail)),
        ),
    ];
    for (variant, name) in [(Variant::Bwrap, "per call"), (Variant::Pool, "pool worker")] {
        let label = |what: &str| format!("bwrap {name}: {what}");
        checks.push((
            label("cannot read /etc/passwd nor write a file"),
            fs(variant).and_then(|v| must(!v.read_host_file && !v.wrote_file, v.detail)),
        ));
        checks.push((
            label("cannot reach the loopback listener"),
            net(variant).and_then(|v| must(!v.reached_listener, v.detail)),
        ));
        // The cap must stop it, so the deadline is far away.
        let bomb = setup.call(variant, "bomb", b"", PROBE_DEADLINE);
        checks.push((
            label("an alloc bomb is stopped by the memory cap"),
            must(bomb.outcome == Outcome::MemoryLimit, bomb.how),
        ));
    }
    let slot = &setup.call_slots[0];
    let spin = setup.native(Isolation::Bwrap, Some(slot), "spin", b"", DEADLINE);
    // The caller has its answer when bwrap is reaped and the pipes are
    // closed; the sandboxed process may still be finishing its exit then.
    let answered = Instant::now();
    while slot.live_processes() > 0 && answered.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let left = slot.live_processes();
    checks.push((
        "bwrap per call: a spinning process is killed at the deadline, nothing left running"
            .to_owned(),
        must(
            spin.outcome == Outcome::Deadline
                && left == 0
                && spin.elapsed < DEADLINE + Duration::from_millis(500),
            format!(
                "{:?} answered after {:.1} ms; its cgroup {} {:.1} ms later",
                spin.outcome,
                spin.elapsed.as_secs_f64() * 1e3,
                if left == 0 {
                    "was empty"
                } else {
                    "still had processes"
                },
                answered.elapsed().as_secs_f64() * 1e3
            ),
        ),
    ));
    // Killed while bwrap is still setting up (where `--die-with-parent`
    // alone can leave an orphan): nothing of the sandbox may survive.
    let mut survivors = 0;
    for _ in 0..20 {
        let early = setup.native(Isolation::Bwrap, Some(slot), "spin", b"", EARLY_KILL);
        let killed = Instant::now();
        while slot.live_processes() > 0 && killed.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(1));
        }
        survivors += usize::from(early.outcome != Outcome::Deadline || slot.live_processes() > 0);
    }
    checks.push((
        "bwrap per call: killed during start-up (20 times), nothing survives".to_owned(),
        must(
            survivors == 0,
            format!("{survivors} of 20 left a process or answered"),
        ),
    ));
    checks
}

/// A deadline that fires while bwrap is still starting.
const EARLY_KILL: Duration = Duration::from_micros(500);
