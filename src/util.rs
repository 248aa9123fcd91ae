//! Small helpers shared across the library: the wall clock in Unix milliseconds and blocking
//! work off the runtime. A leaf: it imports nothing of the crate but [`crate::error`].

use crate::error::{Error, Result};

/// Unix time now, in milliseconds (what "already expired" is judged against).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs blocking work off the runtime; `what` names it in the error if the task dies.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task {
            what: what.into(),
            detail: e.to_string(),
        })?
}
