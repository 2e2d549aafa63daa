//! The parts of a workflow file acr-preflight reads, typed, each with its position.
//!
//! Parsing never fails on shape: a workflow is whatever GitHub accepted (or a file the
//! user is still writing), so a value of an unexpected shape is skipped, not an error.
//! Only a file that is not YAML, or whose top level is not a mapping, is rejected.

use super::yaml::{self, Kind, Node, Pos, Text, YamlError};

/// A parsed workflow file.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// The path findings name: relative to the workspace (`.github/workflows/build.yml`).
    pub path: String,
    pub name: Option<Text>,
    /// `on:`, kept as written.
    pub on: Option<Node>,
    pub permissions: Option<Permissions>,
    pub env: Env,
    pub jobs: Vec<Job>,
    /// The whole document.
    pub root: Node,
}

/// A `permissions:` block and where its key is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Permissions {
    /// Position of the `permissions` key.
    pub key: Pos,
    pub kind: PermissionsKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PermissionsKind {
    /// `permissions: read-all`.
    ReadAll,
    /// `permissions: write-all`.
    WriteAll,
    /// A mapping of scopes to `read`, `write` or `none` (`{}` grants nothing).
    Scopes(Vec<(Text, Text)>),
    /// Anything else (an expression, a typo): what was written.
    Other(String),
}

/// What a permissions block grants one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    None,
    Read,
    Write,
    /// The block could not be read (see [`PermissionsKind::Other`]).
    Unknown,
}

impl Permissions {
    /// What the block grants `scope` (`id-token`, `contents`, …).
    pub fn grant(&self, scope: &str) -> Grant {
        match &self.kind {
            PermissionsKind::WriteAll => Grant::Write,
            PermissionsKind::ReadAll => Grant::Read,
            PermissionsKind::Other(_) => Grant::Unknown,
            PermissionsKind::Scopes(entries) => entries
                .iter()
                .find(|(k, _)| k.value == scope)
                .map(|(_, v)| match v.value.trim() {
                    "write" => Grant::Write,
                    "read" => Grant::Read,
                    "none" => Grant::None,
                    _ => Grant::Unknown,
                })
                .unwrap_or(Grant::None),
        }
    }

    /// The scope entries as written, for messages and fixes (`contents: read`).
    pub fn scopes(&self) -> Vec<(String, String)> {
        match &self.kind {
            PermissionsKind::Scopes(entries) => entries
                .iter()
                .map(|(k, v)| (k.value.clone(), v.value.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// How the block reads in a message.
    pub fn describe(&self) -> String {
        match &self.kind {
            PermissionsKind::ReadAll => "`read-all`".into(),
            PermissionsKind::WriteAll => "`write-all`".into(),
            PermissionsKind::Other(s) => format!("`{s}`"),
            PermissionsKind::Scopes(entries) if entries.is_empty() => "`{}`".into(),
            PermissionsKind::Scopes(entries) => entries
                .iter()
                .map(|(k, v)| format!("`{}: {}`", k.value, v.value))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// An `env:` block: names and values (scalars only; numbers keep their spelling).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env {
    pub entries: Vec<(Text, Text)>,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&Text> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn from_node(node: Option<&Node>) -> Env {
        let entries = node
            .and_then(Node::as_map)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|(k, v)| match &v.kind {
                        Kind::Scalar(t) => Some((k.clone(), t.clone())),
                        Kind::Null => Some((k.clone(), Text::at("", v.pos))),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Env { entries }
    }
}

/// `environment:` of a job: a name, or `{name, url}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// Position of the `environment` key.
    pub key: Pos,
    pub name: Option<Text>,
    pub url: Option<Text>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job id (the key under `jobs:`), with its position.
    pub id: Text,
    pub name: Option<Text>,
    pub permissions: Option<Permissions>,
    pub environment: Option<Environment>,
    pub env: Env,
    /// `strategy.matrix`, as written.
    pub matrix: Option<Node>,
    /// `uses:` of a job that calls a reusable workflow.
    pub uses: Option<Text>,
    /// `with:` of a reusable-workflow call.
    pub with: Vec<(Text, Text)>,
    pub steps: Vec<Step>,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 0-based index in the job's `steps`.
    pub index: usize,
    /// Where the step's mapping starts (its first key).
    pub pos: Pos,
    pub id: Option<Text>,
    pub name: Option<Text>,
    pub uses: Option<Text>,
    pub run: Option<Text>,
    pub shell: Option<Text>,
    /// `if:`, as written (not evaluated).
    pub condition: Option<Text>,
    /// `with:` inputs that are scalars (GitHub passes every input as a string).
    pub with: Vec<(Text, Text)>,
    pub env: Env,
    /// The folder a `run:` step runs in, as written: its own `working-directory:`, else
    /// the job's `defaults.run.working-directory`, else the workflow's (relative to the
    /// workspace). `None` for a `uses:` step, which these do not apply to, and for a
    /// `run:` step without any (it runs in the workspace).
    pub working_directory: Option<Text>,
}

impl Step {
    /// The value of input `name` (exact name first, then ignoring case, as the runner does).
    pub fn input(&self, name: &str) -> Option<&Text> {
        self.with
            .iter()
            .find(|(k, _)| k.value == name)
            .or_else(|| {
                self.with
                    .iter()
                    .find(|(k, _)| k.value.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v)
    }

    /// The key of input `name`, with its position.
    pub fn input_key(&self, name: &str) -> Option<&Text> {
        self.with
            .iter()
            .find(|(k, _)| k.value.eq_ignore_ascii_case(name))
            .map(|(k, _)| k)
    }

    /// `uses:` without its `@ref`, lower-cased: `docker/build-push-action`.
    pub fn action(&self) -> Option<String> {
        self.uses.as_ref().map(|u| {
            let v = u.value.trim();
            v.split('@').next().unwrap_or(v).to_ascii_lowercase()
        })
    }

    /// How messages name the step: its name, else what it uses or runs.
    pub fn label(&self) -> String {
        if let Some(name) = self.name.as_ref().filter(|n| !n.value.trim().is_empty()) {
            return one_line(&name.value, 60);
        }
        if let Some(uses) = &self.uses {
            return one_line(&uses.value, 60);
        }
        if let Some(run) = &self.run {
            let first = run
                .value
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return format!("run: {}", one_line(first.trim(), 50));
        }
        format!("step {}", self.index + 1)
    }
}

fn one_line(s: &str, max: usize) -> String {
    let s = s.trim().replace(['\n', '\r'], " ");
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s
    }
}

impl Workflow {
    /// Parses `source`; `path` is how findings will name the file.
    pub fn parse(path: &str, source: &str) -> Result<Workflow, YamlError> {
        let root = yaml::parse(source)?;
        if root.as_map().is_none() {
            return Err(YamlError {
                message: format!(
                    "the top level is {}, not a mapping with `on:` and `jobs:`",
                    root.shape()
                ),
                pos: Some(root.pos),
            });
        }
        let workdir = run_working_directory(&root);
        let jobs = root
            .get("jobs")
            .and_then(Node::as_map)
            .map(|entries| {
                entries
                    .iter()
                    .map(|(id, node)| parse_job(id, node, workdir.as_ref()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Workflow {
            path: path.to_string(),
            name: root.get("name").and_then(Node::as_text).cloned(),
            on: root.get("on").cloned(),
            permissions: permissions(&root),
            env: Env::from_node(root.get("env")),
            jobs,
            root,
        })
    }

    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id.value == id)
    }
}

fn permissions(parent: &Node) -> Option<Permissions> {
    let (key, node) = parent.entry("permissions")?;
    let kind = match &node.kind {
        Kind::Scalar(t) => match t.value.trim() {
            "read-all" => PermissionsKind::ReadAll,
            "write-all" => PermissionsKind::WriteAll,
            other => PermissionsKind::Other(other.to_string()),
        },
        Kind::Map(entries) => PermissionsKind::Scopes(
            entries
                .iter()
                .filter_map(|(k, v)| v.as_text().map(|t| (k.clone(), t.clone())))
                .collect(),
        ),
        Kind::Null => PermissionsKind::Other(String::new()),
        Kind::Seq(_) => PermissionsKind::Other("a sequence".into()),
    };
    Some(Permissions {
        key: key.start,
        kind,
    })
}

fn scalars(node: Option<&Node>) -> Vec<(Text, Text)> {
    node.and_then(Node::as_map)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(k, v)| v.as_text().map(|t| (k.clone(), t.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// `defaults.run.working-directory` of a workflow or a job.
fn run_working_directory(node: &Node) -> Option<Text> {
    node.get("defaults")?
        .get("run")?
        .get("working-directory")
        .and_then(Node::as_text)
        .cloned()
}

/// `workdir`: the workflow's `defaults.run.working-directory`.
fn parse_job(id: &Text, node: &Node, workdir: Option<&Text>) -> Job {
    let workdir = run_working_directory(node).or_else(|| workdir.cloned());
    let environment = node
        .entry("environment")
        .map(|(key, value)| match &value.kind {
            Kind::Scalar(t) => Environment {
                key: key.start,
                name: Some(t.clone()),
                url: None,
            },
            _ => Environment {
                key: key.start,
                name: value.get("name").and_then(Node::as_text).cloned(),
                url: value.get("url").and_then(Node::as_text).cloned(),
            },
        });
    let steps = node
        .get("steps")
        .and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .map(|(index, item)| parse_step(index, item, workdir.as_ref()))
                .collect()
        })
        .unwrap_or_default();
    Job {
        id: id.clone(),
        name: node.get("name").and_then(Node::as_text).cloned(),
        permissions: permissions(node),
        environment,
        env: Env::from_node(node.get("env")),
        matrix: node.get("strategy").and_then(|s| s.get("matrix")).cloned(),
        uses: node.get("uses").and_then(Node::as_text).cloned(),
        with: scalars(node.get("with")),
        steps,
        node: node.clone(),
    }
}

/// `workdir`: the job's default working directory (its own, else the workflow's).
fn parse_step(index: usize, node: &Node, workdir: Option<&Text>) -> Step {
    let text = |key: &str| node.get(key).and_then(Node::as_text).cloned();
    let run = text("run");
    Step {
        working_directory: run
            .as_ref()
            .and(text("working-directory").or_else(|| workdir.cloned())),
        index,
        pos: node
            .as_map()
            .and_then(|m| m.first())
            .map(|(k, _)| k.start)
            .unwrap_or(node.pos),
        id: text("id"),
        name: text("name"),
        uses: text("uses"),
        run,
        shell: text("shell"),
        condition: text("if"),
        with: scalars(node.get("with")),
        env: Env::from_node(node.get("env")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_shapes_are_skipped_not_fatal() {
        let wf = Workflow::parse(
            "w.yml",
            "on: push\npermissions: ${{ x }}\njobs:\n  a: 5\n  b:\n    steps: nope\n  c:\n    steps:\n      - 7\n      - run: echo\n        with: [1]\n        env: x\n",
        )
        .unwrap();
        assert_eq!(wf.jobs.len(), 3);
        assert!(wf.jobs[0].steps.is_empty());
        assert!(wf.jobs[1].steps.is_empty());
        assert_eq!(wf.jobs[2].steps.len(), 2);
        assert_eq!(wf.jobs[2].steps[1].run.as_ref().unwrap().value, "echo");
        assert_eq!(
            wf.permissions.as_ref().unwrap().grant("id-token"),
            Grant::Unknown
        );
        assert!(Workflow::parse("w.yml", "- a\n- b\n").is_err());
    }

    #[test]
    fn a_run_step_takes_its_own_then_the_job_s_then_the_workflow_s_working_directory() {
        let wf = Workflow::parse(
            "w.yml",
            "defaults:\n  run:\n    working-directory: top\njobs:\n  a:\n    defaults:\n      run:\n        working-directory: ${{ matrix.dir }}\n    steps:\n      - run: make\n      - run: make\n        working-directory: own\n      - uses: docker/build-push-action@v6\n        working-directory: ignored\n  b:\n    steps:\n      - run: make\n",
        )
        .unwrap();
        let dir = |j: usize, s: usize| {
            wf.jobs[j].steps[s]
                .working_directory
                .as_ref()
                .map(|t| t.value.clone())
        };
        assert_eq!(dir(0, 0).as_deref(), Some("${{ matrix.dir }}"));
        assert_eq!(dir(0, 1).as_deref(), Some("own"));
        assert_eq!(dir(0, 2), None);
        assert_eq!(dir(1, 0).as_deref(), Some("top"));
    }

    #[test]
    fn permissions_grant_per_scope() {
        let wf = Workflow::parse(
            "w.yml",
            "permissions:\n  id-token: write\n  contents: read\njobs:\n  a:\n    permissions: read-all\n  b:\n    permissions: write-all\n  c:\n    permissions: {}\n",
        )
        .unwrap();
        let p = wf.permissions.as_ref().unwrap();
        assert_eq!(p.grant("id-token"), Grant::Write);
        assert_eq!(p.grant("contents"), Grant::Read);
        assert_eq!(p.grant("packages"), Grant::None);
        assert_eq!(p.key, Pos::new(1, 1));
        let grant = |j: usize| wf.jobs[j].permissions.as_ref().unwrap().grant("id-token");
        assert_eq!(grant(0), Grant::Read);
        assert_eq!(grant(1), Grant::Write);
        assert_eq!(grant(2), Grant::None);
    }
}
