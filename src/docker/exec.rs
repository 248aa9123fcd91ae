//! Running a command inside a container and collecting what it printed.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use super::{Engine, api_error};
use crate::error::Result;

/// What a command run in a container printed, and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its exit code (`None` if the engine did not report one).
    pub code: Option<i64>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Engine {
    /// Runs `cmd` in running container `id` and waits for it to end (`name` is for the
    /// error message).
    pub async fn exec(&self, id: &str, name: &str, cmd: &[&str]) -> Result<Output> {
        let what = || format!("exec {} in container {name}", cmd.join(" "));
        let opts = CreateExecOptions {
            cmd: Some(cmd.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = self.api.create_exec(id, opts).await;
        let created = created.map_err(api_error(what()))?;
        let started = self.api.start_exec(&created.id, None).await;
        let mut out = Output {
            code: None,
            stdout: String::new(),
            stderr: String::new(),
        };
        if let StartExecResults::Attached { mut output, .. } = started.map_err(api_error(what()))? {
            while let Some(m) = output.next().await {
                match m.map_err(api_error(what()))? {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        out.stdout.push_str(&String::from_utf8_lossy(&message));
                    }
                    LogOutput::StdErr { message } => {
                        out.stderr.push_str(&String::from_utf8_lossy(&message));
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
        }
        let inspected = self.api.inspect_exec(&created.id).await;
        out.code = inspected.map_err(api_error(what()))?.exit_code;
        Ok(out)
    }
}
