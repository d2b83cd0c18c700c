//! Progress lines for steps: each says when it starts; one that runs over
//! 10 s also says, every 30 s and when it ends, how long it has run and how long it took on the
//! 2-core reference machine, so a first run that sits in one step for
//! minutes is expected rather than alarming.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Steps shorter than this print nothing beyond their own output.
const QUIET: Duration = Duration::from_secs(10);
/// How often a running step reports.
const EVERY: Duration = Duration::from_secs(30);

/// A running step; [`Step::done`] ends it.
#[derive(Debug)]
pub struct Step {
    label: String,
    expected: Option<Duration>,
    started: Instant,
    stop: Option<Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// Starts `label`, expected to take about `expected_secs` on 2 cores
/// (`0`: not measured).
pub fn start(label: impl Into<String>, expected_secs: u64) -> Step {
    let label = label.into();
    let expected = (expected_secs > 0).then(|| Duration::from_secs(expected_secs));
    match expected {
        Some(e) => println!("{label}: started, expected {} on 2 cores", about(e)),
        None => println!("{label}: started"),
    }
    let started = Instant::now();
    let (stop, stopped) = mpsc::channel::<()>();
    let ticker = {
        let label = label.clone();
        std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                println!("{}", running_line(&label, started.elapsed(), expected));
            }
        })
    };
    Step {
        label,
        expected,
        started,
        stop: Some(stop),
        ticker: Some(ticker),
    }
}

impl Step {
    /// Ends the step; returns how long it ran.
    pub fn done(mut self) -> Duration {
        let elapsed = self.started.elapsed();
        self.stop_ticker();
        if elapsed >= QUIET {
            println!("{}", done_line(&self.label, elapsed, self.expected));
        }
        elapsed
    }

    fn stop_ticker(&mut self) {
        drop(self.stop.take());
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// `~7 min`, `~40 s`: an expected duration, rounded as a person reads it.
pub fn about(expected: Duration) -> String {
    match expected.as_secs() {
        0..=4 => "a few seconds".to_owned(),
        secs @ 5..=89 => format!("~{secs} s"),
        secs => format!("~{} min", (secs + 30) / 60),
    }
}

fn running_line(label: &str, elapsed: Duration, expected: Option<Duration>) -> String {
    match expected {
        Some(e) => format!(
            "{label}: {} s so far, expected {} on 2 cores",
            elapsed.as_secs(),
            about(e)
        ),
        None => format!("{label}: {} s so far", elapsed.as_secs()),
    }
}

fn done_line(label: &str, elapsed: Duration, expected: Option<Duration>) -> String {
    match expected {
        Some(e) => format!(
            "{label}: done in {:.1} s (expected {})",
            elapsed.as_secs_f64(),
            about(e)
        ),
        None => format!("{label}: done in {:.1} s", elapsed.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_give_the_elapsed_and_the_expected_time() {
        assert_eq!(about(Duration::from_secs(3)), "a few seconds");
        assert_eq!(about(Duration::from_secs(35)), "~35 s");
        assert_eq!(about(Duration::from_secs(430)), "~7 min");
        let secs = Duration::from_secs;
        assert_eq!(
            running_line("[build] trunk", secs(61), Some(secs(120))),
            "[build] trunk: 61 s so far, expected ~2 min on 2 cores"
        );
        assert_eq!(
            done_line(
                "[build] trunk",
                Duration::from_millis(12_345),
                Some(secs(20))
            ),
            "[build] trunk: done in 12.3 s (expected ~20 s)"
        );
        assert_eq!(
            done_line("[build] go", secs(11), None),
            "[build] go: done in 11.0 s"
        );
    }

    #[test]
    fn a_short_step_ends_at_once() {
        let step = start("quick", 0);
        assert!(step.done() < Duration::from_secs(5));
    }
}
