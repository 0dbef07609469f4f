//! The bounded channel between the record API listener and the pipeline thread, which owns
//! the engines: the listener asks, the pipeline answers between batches ([`resolve`]).
//!
//! [`resolve`]: super::lookup::resolve

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::domain::EmployeeId;

use super::lookup::Resolved;

/// Requests waiting for the pipeline at most; more are answered 503 at once.
pub const MAX_PENDING: usize = 256;

/// How long a request waits for the pipeline (a restore or a long batch) before 503.
pub const WAIT: Duration = Duration::from_secs(2);

/// Requests the pipeline answers per round of its main loop at most.
pub const PER_ROUND: usize = 64;

/// One question for the pipeline.
#[derive(Debug)]
pub struct RecordRequest {
    /// Whose record.
    pub employee_id: EmployeeId,
    /// Where the answer goes (dropped unanswered when the asker gave up).
    pub reply: oneshot::Sender<Resolved>,
}

/// The listener's end.
#[derive(Debug, Clone)]
pub struct Requester {
    sender: SyncSender<RecordRequest>,
}

/// The pipeline's end.
pub type Requests = Receiver<RecordRequest>;

/// A channel holding at most [`MAX_PENDING`] requests.
pub fn channel() -> (Requester, Requests) {
    let (sender, receiver) = sync_channel(MAX_PENDING);
    (Requester { sender }, receiver)
}

impl Requester {
    /// The pipeline's answer for `employee_id`; `None` when it is busy, stopped or does not
    /// answer within [`WAIT`].
    pub async fn ask(&self, employee_id: EmployeeId) -> Option<Resolved> {
        let (reply, answer) = oneshot::channel();
        match self.sender.try_send(RecordRequest { employee_id, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => return None,
        }
        tokio::time::timeout(WAIT, answer).await.ok()?.ok()
    }
}

/// Answers up to [`PER_ROUND`] waiting requests with `answer`.
pub fn answer_pending(requests: &Requests, mut answer: impl FnMut(&EmployeeId) -> Resolved) {
    for _ in 0..PER_ROUND {
        let Ok(request) = requests.try_recv() else {
            return;
        };
        // The asker may have given up; nothing to do then.
        let _ = request.reply.send(answer(&request.employee_id));
    }
}
