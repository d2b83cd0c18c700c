//! A per-client rate for the lessons' CPU-heavy steps: a client (peer IP)
//! whose step took T waits T more before its next one, so no client keeps
//! the server busy more than half the time, however it retries or hangs up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;
use crate::extract::ClientIp;

/// Until when each client that ran a step must wait. Entries past their
/// time are dropped whenever the map is touched, so it holds at most the
/// clients of the last few steps.
#[derive(Debug)]
pub(super) struct ClientWaits {
    what: &'static str,
    until: Mutex<HashMap<ClientIp, Instant>>,
}

impl ClientWaits {
    /// Waits for `what` (named in the 429's message).
    pub(super) fn new(what: &'static str) -> Self {
        Self {
            what,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// 429 `rate_limited`, with the seconds left, while `client` still waits.
    pub(super) fn check(&self, client: ClientIp) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut until = self.until.lock().expect("client waits lock");
        until.retain(|_, at| *at > now);
        match until.get(&client) {
            Some(at) => Err(ApiError::RateLimited {
                what: self.what.into(),
                retry_after_secs: at.duration_since(now).as_secs() + 1,
            }),
            None => Ok(()),
        }
    }

    /// `client`'s step takes (or took) `took` from `from`: it waits as long
    /// again after it ends.
    pub(super) fn charge(&self, client: ClientIp, from: Instant, took: Duration) {
        let mut until = self.until.lock().expect("client waits lock");
        until.retain(|_, at| *at > Instant::now());
        until.insert(client, from + 2 * took);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_ran_a_step_waits_as_long_again_and_others_do_not() {
        let waits = ClientWaits::new("the step");
        let (a, b) = (
            ClientIp(Some("10.0.0.1".parse().unwrap())),
            ClientIp(Some("10.0.0.2".parse().unwrap())),
        );
        assert!(waits.check(a).is_ok());
        waits.charge(a, Instant::now(), Duration::from_secs(2));
        let refused = waits.check(a).unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert!(matches!(
            refused,
            ApiError::RateLimited {
                retry_after_secs: 4 | 5,
                ..
            }
        ));
        assert!(waits.check(b).is_ok());
        waits.charge(b, Instant::now(), Duration::ZERO);
        assert!(waits.check(b).is_ok(), "a wait that is over");
    }
}
