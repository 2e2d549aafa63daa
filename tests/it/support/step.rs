//! The binary started as the runner starts acr-preflight's step of a job: a clean
//! environment holding only `PATH` and the runner's variables that place the step in its
//! workflow. Callers add the step's inputs and the rest of what their test needs.

use std::path::Path;
use std::process::Command;

/// The binary under test. Cargo names it to integration tests only: the examples that
/// share this harness (and never start a step) fall back to the name on `PATH`.
pub const BIN: &str = match option_env!("CARGO_BIN_EXE_acr-preflight") {
    Some(path) => path,
    None => "acr-preflight",
};

/// The command for the step `action` of job `job` in `.github/workflows/<file>` of
/// repository `repository` (`owner/name`), checked out in `workspace`, on `main`.
pub fn step_command(
    workspace: &Path,
    repository: &str,
    file: &str,
    job: &str,
    action: &str,
) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace)
        .env(
            "GITHUB_WORKFLOW_REF",
            format!("{repository}/.github/workflows/{file}@refs/heads/main"),
        )
        .env("GITHUB_JOB", job)
        .env("GITHUB_ACTION", action)
        .env("GITHUB_REPOSITORY", repository);
    command
}
