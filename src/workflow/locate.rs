//! Finding the running workflow file, job and step.
//!
//! `GITHUB_WORKFLOW_REF` (`owner/repo/.github/workflows/build.yml@refs/heads/main`)
//! names the file; it is read from the workspace, where `actions/checkout` put the
//! repository (`/github/workspace` inside a container action). `GITHUB_JOB` is the
//! job id; when the job is in a reusable workflow the ref still names the caller, so
//! the local workflows the caller's jobs call (`uses: ./.github/workflows/x.yml`) are
//! searched too. The step is the one whose `id` is `GITHUB_ACTION`, else the one that
//! uses acr-preflight (`…/acr-preflight@…`, or a local `./` action when the workflow
//! runs the action from its own repository), else a `run:` step that calls it.

use super::model::{Job, Step, Workflow};
use super::yaml::YamlError;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// Largest workflow file read (GitHub's own limit is far lower).
pub const MAX_WORKFLOW_BYTES: u64 = 4 * 1024 * 1024;

/// Where workflow files are read from: the workspace, or (in tests) a map.
pub trait WorkflowFiles {
    /// Reads a workspace-relative path.
    fn read(&self, path: &str) -> std::io::Result<String>;
    /// How messages name the place (`the workspace /github/workspace`).
    fn describe(&self) -> String;
    /// The folder on disk, when the files are one (walked to see what a build uploads).
    fn root(&self) -> Option<&Path> {
        None
    }
}

/// The checked-out repository on disk.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub dir: PathBuf,
}

impl WorkflowFiles for Workspace {
    fn read(&self, path: &str) -> std::io::Result<String> {
        let rel = Path::new(path);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path leaves the workspace",
            ));
        }
        let full = self.dir.join(rel);
        // Bounded and non-blocking: a FIFO, a device or a huge file is refused at once.
        let bytes = crate::fsread::read_capped(&full, MAX_WORKFLOW_BYTES)?;
        String::from_utf8(bytes).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is not UTF-8")
        })
    }

    fn describe(&self) -> String {
        format!("the workspace {}", self.dir.display())
    }

    fn root(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}

impl WorkflowFiles for BTreeMap<String, String> {
    fn read(&self, path: &str) -> std::io::Result<String> {
        let key = path.trim_start_matches("./");
        self.get(key)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }

    fn describe(&self) -> String {
        "the workspace".into()
    }
}

impl WorkflowFiles for HashMap<String, String> {
    fn read(&self, path: &str) -> std::io::Result<String> {
        let key = path.trim_start_matches("./");
        self.get(key)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }

    fn describe(&self) -> String {
        "the workspace".into()
    }
}

/// `GITHUB_WORKFLOW_REF`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRef {
    /// `owner/repo`.
    pub repository: String,
    /// `.github/workflows/build.yml`.
    pub path: String,
    /// `refs/heads/main`.
    pub git_ref: String,
}

/// Parses `owner/repo/.github/workflows/build.yml@refs/heads/main`.
pub fn parse_workflow_ref(s: &str) -> Option<WorkflowRef> {
    let s = s.trim();
    let mut parts = s.splitn(3, '/');
    let owner = parts.next().filter(|p| !p.is_empty())?;
    let repo = parts.next().filter(|p| !p.is_empty())?;
    let rest = parts.next()?;
    let (path, git_ref) = match rest.find("@refs/") {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => match rest.rfind('@') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        },
    };
    if path.is_empty() || path.split('/').any(|c| c == "..") {
        return None;
    }
    Some(WorkflowRef {
        repository: format!("{owner}/{repo}"),
        path: path.to_string(),
        git_ref: git_ref.to_string(),
    })
}

/// Why the workflow, job or step could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// `GITHUB_WORKFLOW_REF` does not name a file.
    BadRef(String),
    /// The file could not be read.
    Unreadable {
        path: String,
        not_found: bool,
        error: String,
    },
    /// The file is not a workflow.
    Invalid { path: String, error: YamlError },
    /// No job with this id, in the file or in the local workflows it calls.
    NoJob {
        path: String,
        job: String,
        jobs: Vec<String>,
    },
}

/// How the step was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMatch {
    /// `id:` equals `GITHUB_ACTION`.
    Id,
    /// `GITHUB_ACTION` is the runner's name for this step (`__owner_repo`, `__self`, `__run_2`).
    ActionName,
    /// `uses:` names acr-preflight.
    Uses,
    /// A local action (`uses: ./`).
    LocalAction,
    /// A `run:` script that calls `acr-preflight`.
    Run,
}

impl StepMatch {
    pub fn describe(self) -> &'static str {
        match self {
            StepMatch::Id => "its `id` is GITHUB_ACTION",
            StepMatch::ActionName => "GITHUB_ACTION names it",
            StepMatch::Uses => "it uses acr-preflight",
            StepMatch::LocalAction => "it uses the local action `./`",
            StepMatch::Run => "its script runs acr-preflight",
        }
    }
}

/// The running workflow, job and step.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The file that holds the job.
    pub workflow: Workflow,
    /// When the job is in a reusable workflow: the calling workflow and the id of the
    /// job that calls it.
    pub caller: Option<(Workflow, String)>,
    /// The job's index in `workflow.jobs`.
    pub job: usize,
    /// acr-preflight's step in the job, and how it was recognised.
    pub step: Option<(usize, StepMatch)>,
}

impl Located {
    pub fn job(&self) -> &Job {
        &self.workflow.jobs[self.job]
    }

    pub fn caller_job(&self) -> Option<&Job> {
        self.caller.as_ref().and_then(|(wf, id)| wf.job(id))
    }

    pub fn step(&self) -> Option<&Step> {
        self.step.and_then(|(i, _)| self.job().steps.get(i))
    }
}

fn load(files: &dyn WorkflowFiles, path: &str) -> Result<Workflow, LocateError> {
    let text = files.read(path).map_err(|e| LocateError::Unreadable {
        path: path.to_string(),
        not_found: e.kind() == std::io::ErrorKind::NotFound,
        error: e.to_string(),
    })?;
    Workflow::parse(path, &text).map_err(|error| LocateError::Invalid {
        path: path.to_string(),
        error,
    })
}

/// Reads the workflow named by `workflow_ref` and finds `job_id` and the step
/// `action` (GITHUB_ACTION) names.
pub fn locate(
    files: &dyn WorkflowFiles,
    workflow_ref: &str,
    job_id: &str,
    action: Option<&str>,
) -> Result<Located, LocateError> {
    let parsed =
        parse_workflow_ref(workflow_ref).ok_or_else(|| LocateError::BadRef(workflow_ref.into()))?;
    let workflow = load(files, &parsed.path)?;
    if let Some(job) = workflow.jobs.iter().position(|j| j.id.value == job_id)
        && workflow.jobs[job].uses.is_none()
    {
        let step = find_step(&workflow.jobs[job], action);
        return Ok(Located {
            workflow,
            caller: None,
            job,
            step,
        });
    }
    // A reusable workflow: GITHUB_JOB is the called workflow's job id.
    for caller in &workflow.jobs {
        let Some(uses) = caller.uses.as_ref() else {
            continue;
        };
        let Some(path) = uses.value.trim().strip_prefix("./") else {
            continue;
        };
        let path = path.split('@').next().unwrap_or(path).to_string();
        let Ok(called) = load(files, &path) else {
            continue;
        };
        if let Some(job) = called.jobs.iter().position(|j| j.id.value == job_id) {
            let step = find_step(&called.jobs[job], action);
            return Ok(Located {
                caller: Some((workflow.clone(), caller.id.value.clone())),
                workflow: called,
                job,
                step,
            });
        }
    }
    Err(LocateError::NoJob {
        path: parsed.path,
        job: job_id.to_string(),
        jobs: workflow.jobs.iter().map(|j| j.id.value.clone()).collect(),
    })
}

/// Whether `uses:` names acr-preflight (`owner/acr-preflight@v0`, `docker://…/acr-preflight:…`).
fn uses_acr_preflight(uses: &str) -> bool {
    uses.to_ascii_lowercase().contains("acr-preflight")
}

fn is_local(uses: &str) -> bool {
    let u = uses.trim();
    u == "." || u.starts_with("./")
}

/// The runner's name for a step without `id`: `__owner_repo` for `uses: owner/repo@v`,
/// `__self` for `uses: ./`, `__run` for scripts, with `_2`, `_3` … for repeats.
fn runner_step_name(step: &Step) -> Option<String> {
    if step.run.is_some() {
        return Some("__run".into());
    }
    let uses = step.uses.as_ref()?.value.trim().to_string();
    if is_local(&uses) {
        return Some("__self".into());
    }
    let without_ref = uses.split('@').next().unwrap_or(&uses);
    let mut parts = without_ref.splitn(3, '/');
    let owner = parts.next()?;
    let repo = parts.next()?;
    Some(format!("__{owner}_{repo}"))
}

/// acr-preflight's step in `job`.
pub fn find_step(job: &Job, action: Option<&str>) -> Option<(usize, StepMatch)> {
    let action = action.map(str::trim).filter(|a| !a.is_empty());
    if let Some(action) = action {
        if let Some(step) = job
            .steps
            .iter()
            .find(|s| s.id.as_ref().is_some_and(|id| id.value == action))
        {
            return Some((step.index, StepMatch::Id));
        }
        // `__name` or `__name_N`: the N-th step (1-based) without id of that name.
        if action.starts_with("__") {
            let (base, nth) = match action.rsplit_once('_') {
                Some((b, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
                    (b, n.parse::<usize>().unwrap_or(1))
                }
                _ => (action, 1),
            };
            let matching: Vec<&Step> = job
                .steps
                .iter()
                .filter(|s| s.id.is_none())
                .filter(|s| runner_step_name(s).is_some_and(|n| n.eq_ignore_ascii_case(base)))
                .collect();
            if let Some(step) = matching.get(nth.saturating_sub(1)) {
                return Some((step.index, StepMatch::ActionName));
            }
        }
    }
    let by = |pred: &dyn Fn(&Step) -> bool| job.steps.iter().find(|s| pred(s)).map(|s| s.index);
    if let Some(i) = by(&|s| {
        s.uses
            .as_ref()
            .is_some_and(|u| uses_acr_preflight(&u.value))
    }) {
        return Some((i, StepMatch::Uses));
    }
    let local: Vec<usize> = job
        .steps
        .iter()
        .filter(|s| s.uses.as_ref().is_some_and(|u| is_local(&u.value)))
        .map(|s| s.index)
        .collect();
    if local.len() == 1 {
        return Some((local[0], StepMatch::LocalAction));
    }
    if let Some(i) = by(&|s| {
        s.run.as_ref().is_some_and(|r| {
            r.value
                .split(|c: char| c.is_whitespace() || c == ';' || c == '&')
                .any(|w| w.rsplit('/').next() == Some("acr-preflight"))
        })
    }) {
        return Some((i, StepMatch::Run));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_refs() {
        let r =
            parse_workflow_ref("octo/app/.github/workflows/build.yml@refs/heads/feat@x").unwrap();
        assert_eq!(r.repository, "octo/app");
        assert_eq!(r.path, ".github/workflows/build.yml");
        assert_eq!(r.git_ref, "refs/heads/feat@x");
        let r = parse_workflow_ref("octo/app/.github/workflows/ci.yaml@refs/pull/7/merge").unwrap();
        assert_eq!(r.path, ".github/workflows/ci.yaml");
        assert!(parse_workflow_ref("octo/app").is_none());
        assert!(parse_workflow_ref("octo/app/../../etc/passwd@refs/x").is_none());
    }

    #[test]
    fn the_workspace_refuses_paths_outside_it() {
        let ws = Workspace {
            dir: PathBuf::from("/nonexistent"),
        };
        assert_eq!(
            ws.read("../x").unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        assert_eq!(
            ws.read("/etc/passwd").unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}
