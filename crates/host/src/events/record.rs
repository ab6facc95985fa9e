//! Test results as events, as they finish: the core's runner calls a
//! progress callback (the one `junction validate` prints from) for each test
//! when it ends; the callback scrubs the test of the run's secrets and hands
//! it to a task that stores it, in the order the tests finished.

use super::store::NewTestEvent;
use crate::secrets::ScrubList;
use crate::store::Store;
use junction_core::ValidationTest;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Stores each test of one validation run as an event.
pub struct TestRecorder {
    tx: mpsc::UnboundedSender<Msg>,
    scrub: ScrubList,
}

/// What the writer task is told, in order.
enum Msg {
    Test(ValidationTest),
    /// Answered once every test sent before it is stored.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl TestRecorder {
    /// For a run of `operation` on integration `id`, scrubbing with `scrub`.
    pub fn start(store: Arc<dyn Store>, id: i64, operation: &str, scrub: ScrubList) -> Self {
        // Unbounded: the callback is synchronous and must not drop a test; a
        // run has a handful of tests, so the queue stays that small.
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let operation = operation.to_owned();
        // Ends when the recorder and every callback are dropped.
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let test = match msg {
                    Msg::Test(t) => t,
                    Msg::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let event = NewTestEvent {
                    integration_id: id,
                    operation: operation.clone(),
                    test,
                };
                let add = store.add_test_event(&event);
                let stored =
                    crate::metrics::timed(crate::metrics::StoreOp::AddTestEvent, add).await;
                if let Err(e) = stored {
                    tracing::warn!(error = %e, test = %event.test.name, "a test event could not be stored");
                }
            }
        });
        TestRecorder { tx, scrub }
    }

    /// The progress callback for the runner.
    pub fn progress(&self) -> impl Fn(&ValidationTest) + Send + Sync + 'static {
        let (tx, scrub) = (self.tx.clone(), self.scrub.clone());
        move |t: &ValidationTest| {
            let _ = tx.send(Msg::Test(scrub.test(t)));
        }
    }

    /// Waits until every test reported so far is stored: called once the run
    /// is over, before the operation's outcome, so the tests' events come
    /// before its status event. A flush, not a close: a callback still alive
    /// (held by its caller a little longer) cannot make it wait forever.
    pub async fn finish(self) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_err() || flushed.await.is_err() {
            tracing::warn!("the test event writer ended abnormally");
        }
    }
}
