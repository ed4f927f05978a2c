//! The tasks of a listener's, a relay's or a served capture's clients: spawned through the
//! core's [`Tasks`], so that a panic in one is said on stderr and counts as a failed client
//! instead of vanishing with its task (and leaving `--once` waiting for an end that never
//! comes).

use ws_inspector_core::session::Tasks;

use crate::exit::Status;

/// Runs `task` as a task of its own and gives its status; a panic is said on stderr (`what`
/// names the task) and is [`Status::Failed`].
pub async fn reported<F>(what: &'static str, task: F) -> Status
where
    F: Future<Output = Status> + Send + 'static,
{
    let tasks = Tasks::on_current_runtime();
    match tasks.spawn(what, task).await {
        Ok(Some(status)) => status,
        _ => {
            for panic in tasks.panics() {
                eprintln!("wsi: internal error in {panic}");
            }
            Status::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_client_is_a_failure_not_a_hang() {
        assert_eq!(reported("fine", async { Status::Ok }).await, Status::Ok);
        let panicking = async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Status::Ok
        };
        assert_eq!(reported("panicking", panicking).await, Status::Failed);
    }
}
