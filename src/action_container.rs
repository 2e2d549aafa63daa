//! What a container action can see of the runner.
//!
//! The Actions runner starts a `runs.using: docker` action with a fixed set of bind mounts
//! and rewrites every environment value that starts with a mounted host path to the
//! container path (actions/runner, `src/Runner.Worker/Handlers/ContainerActionHandler.cs`,
//! `ContainerInfo.TranslateToContainerPath`). `RUNNER_TEMP` itself is mounted only since
//! runner v2.329.0 (commit "Map RUNNER_TEMP for container action", #4011); older runners,
//! and many GitHub Enterprise Server versions, pass `${{ runner.temp }}/…` through
//! untranslated, as a host path that does not exist inside the container.
//!
//! Nothing of the runner outside the mounts is visible: not the runner user's
//! `~/.docker`, not `~/.azure`, not programs on the runner's PATH.

use std::path::{Path, PathBuf};

pub const WORKSPACE: &str = "/github/workspace";
pub const HOME: &str = "/github/home";
pub const WORKFLOW: &str = "/github/workflow";
pub const FILE_COMMANDS: &str = "/github/file_commands";
pub const RUNNER_TEMP: &str = "/github/runner_temp";

/// The first runner release that mounts `RUNNER_TEMP` into container actions.
pub const RUNNER_TEMP_SINCE: &str = "2.329.0";

/// The host-mode action: the same program, run on the runner instead of in a container.
pub const HOST_MODE_USES: &str = "acr-preflight/acr-preflight/host@v0";

/// Whether this runner mounted its temp directory, as told by `RUNNER_TEMP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerTemp {
    /// `RUNNER_TEMP=/github/runner_temp`: translated, so mounted (runner ≥ 2.329).
    Mounted,
    /// `RUNNER_TEMP` arrived as the runner's own path: an older runner that does not
    /// mount it. `${{ runner.temp }}/…` paths are invisible here.
    NotMounted { host_path: PathBuf },
    /// `RUNNER_TEMP` is not set: nothing to go by.
    Unknown,
}

/// Set when this process runs as a container action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContainer {
    pub runner_temp: RunnerTemp,
}

/// Why a path given to this step cannot be seen from inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmounted {
    /// Under the runner's untranslated `RUNNER_TEMP`: `${{ runner.temp }}` on a runner
    /// older than 2.329.
    UnderRunnerTemp,
    /// Any other host path (the runner user's home, a tool directory…).
    HostPath,
}

impl ActionContainer {
    /// Detects a container action: under Actions with the workspace at `/github/workspace`
    /// (the runner sets `GITHUB_WORKSPACE` to the container path only there).
    pub fn detect(
        github_actions: bool,
        workspace: Option<&str>,
        runner_temp: Option<&str>,
    ) -> Option<ActionContainer> {
        if !github_actions || workspace != Some(WORKSPACE) {
            return None;
        }
        let runner_temp = match runner_temp.filter(|v| !v.is_empty()) {
            None => RunnerTemp::Unknown,
            Some(v) if is_under(Path::new(v), Path::new(RUNNER_TEMP)) => RunnerTemp::Mounted,
            Some(v) if Path::new(v).is_absolute() => RunnerTemp::NotMounted {
                host_path: PathBuf::from(v),
            },
            Some(_) => RunnerTemp::Unknown,
        };
        Some(ActionContainer { runner_temp })
    }

    /// The container paths the runner mounted for this step.
    pub fn mounts(&self) -> Vec<&'static str> {
        let mut mounts = vec![WORKSPACE, HOME, WORKFLOW, FILE_COMMANDS];
        // Unknown counts as mounted: only a positive sign of an old runner hides it.
        if !matches!(self.runner_temp, RunnerTemp::NotMounted { .. }) {
            mounts.push(RUNNER_TEMP);
        }
        mounts
    }

    /// `Some` when `path` lies outside every mount and does not exist here: a host path
    /// the runner did not translate. Relative paths resolve against the workspace (the
    /// working directory), so they are always visible.
    pub fn unmounted(&self, path: &Path) -> Option<Unmounted> {
        if !path.is_absolute()
            || self.mounts().iter().any(|m| is_under(path, Path::new(m)))
            || path.exists()
        {
            return None;
        }
        match &self.runner_temp {
            RunnerTemp::NotMounted { host_path } if is_under(path, host_path) => {
                Some(Unmounted::UnderRunnerTemp)
            }
            _ => Some(Unmounted::HostPath),
        }
    }

    /// Whether `${{ runner.temp }}/…` is a place both this step and the runner see.
    pub fn runner_temp_is_shared(&self) -> bool {
        self.runner_temp == RunnerTemp::Mounted
    }

    /// One sentence on why `path` (named `what`) is invisible here.
    pub fn explain_unmounted(&self, what: &str, path: &Path, why: &Unmounted) -> String {
        let mounts = self.mounts().join(", ");
        match why {
            Unmounted::UnderRunnerTemp => format!(
                "{what} is {}, a path under the runner's temp directory (`${{{{ runner.temp }}}}`). This runner passed it through untranslated, which means it does not mount its temp directory into container actions: only runner v{RUNNER_TEMP_SINCE} and later do, and older runners and many GitHub Enterprise Server versions do not. Inside this container the path does not exist; the container sees only {mounts}.",
                path.display()
            ),
            Unmounted::HostPath => format!(
                "{what} is {}, a path on the runner that is not mounted into this container action and does not exist inside it; the container sees only {mounts}.",
                path.display()
            ),
        }
    }
}

/// The fix for a directory both the login step and this step must see, when
/// `${{ runner.temp }}` cannot be that place: the workspace, or host mode.
pub fn shared_docker_config_fix() -> String {
    format!(
        "Use a directory that every runner version mounts, the workspace, for the login step and this step (in the job's `env:`, or on both steps):\n\
         env:\n  DOCKER_CONFIG: ${{{{ github.workspace }}}}/.docker-ci\n\
         Keep it out of images and commits (`echo .docker-ci >> .dockerignore`; it holds credentials) and remove it at the end of the job.\n\
         Or run the check on the runner itself, where it sees the runner's docker config, helpers and `az` session as the build does:\n\
         uses: {HOST_MODE_USES}"
    )
}

/// Component-wise prefix test: `/github/workspace2` is not under `/github/workspace`.
fn is_under(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(temp: Option<&str>) -> ActionContainer {
        ActionContainer::detect(true, Some(WORKSPACE), temp).unwrap()
    }

    #[test]
    fn only_a_container_workspace_means_a_container_action() {
        assert!(ActionContainer::detect(false, Some(WORKSPACE), None).is_none());
        assert!(ActionContainer::detect(true, Some("/home/runner/work/a/a"), None).is_none());
        assert!(ActionContainer::detect(true, None, None).is_none());
    }

    #[test]
    fn runner_temp_tells_the_runner_generation() {
        assert_eq!(
            detect(Some("/github/runner_temp")).runner_temp,
            RunnerTemp::Mounted
        );
        assert_eq!(
            detect(Some("/home/runner/work/_temp")).runner_temp,
            RunnerTemp::NotMounted {
                host_path: "/home/runner/work/_temp".into()
            }
        );
        assert_eq!(detect(None).runner_temp, RunnerTemp::Unknown);
        assert!(detect(Some("/github/runner_temp")).runner_temp_is_shared());
        assert!(!detect(None).runner_temp_is_shared());
    }

    #[test]
    fn paths_outside_the_mounts_are_named() {
        let old = detect(Some("/home/runner/work/_temp"));
        assert_eq!(
            old.unmounted(Path::new("/home/runner/work/_temp/docker")),
            Some(Unmounted::UnderRunnerTemp)
        );
        assert_eq!(
            old.unmounted(Path::new("/home/runner/.docker")),
            Some(Unmounted::HostPath)
        );
        assert_eq!(old.unmounted(Path::new("/github/workspace/.docker")), None);
        assert_eq!(
            old.unmounted(Path::new("/github/runner_temp/docker")),
            Some(Unmounted::HostPath),
            "an old runner does not mount /github/runner_temp"
        );
        assert_eq!(old.unmounted(Path::new("relative/dir")), None);
        assert_eq!(
            old.unmounted(Path::new("/github/workspace2/x")),
            Some(Unmounted::HostPath)
        );
        let new = detect(Some("/github/runner_temp"));
        assert_eq!(new.unmounted(Path::new("/github/runner_temp/docker")), None);
        let msg = old.explain_unmounted(
            "DOCKER_CONFIG",
            Path::new("/home/runner/work/_temp/docker"),
            &Unmounted::UnderRunnerTemp,
        );
        assert!(msg.contains("v2.329.0"), "{msg}");
        assert!(!msg.contains("/github/runner_temp"), "{msg}");
    }
}
