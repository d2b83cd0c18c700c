//! The places of the throttled lesson's paced answers
//! (`--lesson-throttled-streams`): all of them, and each client's share.
//! The server's state holds them; `throttle.rs` takes one per answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::extract::ClientIp;

/// The places of the paced answers: all of them, and each client's share.
#[derive(Debug)]
pub struct Places {
    all: Arc<Semaphore>,
    limit: u32,
    /// A client's places, while it holds any.
    clients: Mutex<HashMap<ClientIp, Arc<Semaphore>>>,
}

impl Places {
    /// `limit` places, at most half of them (rounded up) per client.
    pub fn new(limit: u32) -> Self {
        Self {
            all: Arc::new(Semaphore::new(limit as usize)),
            limit,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn per_client(&self) -> usize {
        self.limit.div_ceil(2) as usize
    }

    /// A place for `client`, or 503 at once (no queue: a lesson is not
    /// worth waiting for a stranger's download).
    pub(super) fn admit(&self, client: ClientIp) -> Result<Place, ApiError> {
        let saturated = || ApiError::Saturated {
            what: "throttled lesson streams",
            limit: self.limit,
        };
        let own = {
            let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
            let per_client = self.per_client();
            clients.retain(|_, places| places.available_permits() < per_client);
            let places = clients
                .entry(client)
                .or_insert_with(|| Arc::new(Semaphore::new(per_client)));
            Arc::clone(places)
                .try_acquire_owned()
                .map_err(|_| saturated())?
        };
        let shared = Arc::clone(&self.all)
            .try_acquire_owned()
            .map_err(|_| saturated())?;
        Ok(Place {
            _shared: shared,
            _own: own,
        })
    }
}

/// One paced answer's place: among all, and among its client's.
#[derive(Debug)]
pub(super) struct Place {
    _shared: OwnedSemaphorePermit,
    _own: OwnedSemaphorePermit,
}
