//! Builds that name their buildx builder (`builder:` of docker/build-push-action,
//! `--builder`, `BUILDX_BUILDER`) while no step of the job creates a builder of that
//! name before them, or name it through a step output that is empty there (P30).

use super::{Chosen, DEFAULT_BUILDER, at_location, buildx_build, chosen, finding, order};
use crate::config::Config;
use crate::docker::buildx::{self, Store};
use crate::findings::{CheckReport, Code, Finding, Location, Severity};
use crate::workflow::discover::{self, BuildCommand, BuilderName, BuilderRef, BuilderStep};
use crate::workflow::model::{Job, Step};

/// WORKFLOW_BUILDER_UNKNOWN for every buildx build whose named builder no step of the
/// job creates before it.
pub(super) fn named_builders(
    report: &mut CheckReport,
    config: &Config,
    job: &Job,
    found: &discover::Found,
    store: &Store,
) {
    let self_hosted = self_hosted(config, job);
    for build in found.builds.iter().filter(|b| buildx_build(b)) {
        let Some(named) = &build.builder else {
            continue;
        };
        let at = order(&build.step, &build.location);
        let problem = match &named.name {
            BuilderName::Literal(name) => literal(config, found, store, name, at),
            BuilderName::StepOutput(id) => step_output(job, found, id, build),
            BuilderName::Unknown => None,
        };
        if let Some(problem) = problem {
            report.push(unknown_builder(
                &Scene {
                    job,
                    found,
                    store,
                    self_hosted,
                },
                build,
                named,
                &problem,
            ));
        }
    }
}

/// What is wrong with a named builder.
enum Problem<'a> {
    /// No step creates a builder of that name before the build; `later` does after it.
    NotCreated {
        name: String,
        later: Option<&'a BuilderStep>,
    },
    /// No step of the job has the `id` the output names.
    NoStep { id: String },
    /// The step with the `id` runs after the build.
    StepAfter { id: String, step: &'a Step },
    /// The step with the `id` creates no builder.
    NotABuilder { id: String, step: &'a Step },
}

fn literal<'a>(
    config: &Config,
    found: &'a discover::Found,
    store: &Store,
    name: &str,
    at: (usize, u32),
) -> Option<Problem<'a>> {
    if name == DEFAULT_BUILDER {
        return None;
    }
    // A builder buildx's store on this runner holds, or a docker context of that name
    // (buildx takes one as a builder), exists whoever made it.
    if store.read().is_some_and(|s| s.get(name).is_some())
        || buildx::context_exists(&config.docker_config.dir, name)
    {
        return None;
    }
    let before = |b: &&BuilderStep| order(&b.step, &b.location) < at;
    if found.builders.iter().filter(before).any(|b| b.named(name)) {
        return None;
    }
    // A builder whose name is not known here may be it.
    if found
        .builders
        .iter()
        .filter(before)
        .any(|b| matches!(b.name, Some(BuilderName::Unknown)))
    {
        return None;
    }
    let later = found.builders.iter().find(|b| b.named(name));
    Some(Problem::NotCreated {
        name: name.to_string(),
        later,
    })
}

fn step_output<'a>(
    job: &'a Job,
    found: &discover::Found,
    id: &str,
    build: &BuildCommand,
) -> Option<Problem<'a>> {
    let Some(step) = job
        .steps
        .iter()
        .find(|s| s.id.as_ref().is_some_and(|i| i.value.trim() == id))
    else {
        return Some(Problem::NoStep { id: id.to_string() });
    };
    if step.index >= build.step.index {
        return Some(Problem::StepAfter {
            id: id.to_string(),
            step,
        });
    }
    let creates = found.builders.iter().any(|b| b.step.index == step.index);
    // A script that writes its own outputs may name a builder an earlier step made.
    let writes_outputs = step
        .run
        .as_ref()
        .is_some_and(|r| r.value.contains("GITHUB_OUTPUT"));
    (!creates && !writes_outputs).then(|| Problem::NotABuilder {
        id: id.to_string(),
        step,
    })
}

/// Whether the job runs on a self-hosted runner, where builders persist between jobs:
/// RUNNER_ENVIRONMENT when the runner says it, else a `self-hosted` label or a runner
/// `group:` in `runs-on`.
fn self_hosted(config: &Config, job: &Job) -> bool {
    match config.env.runner_environment.as_deref() {
        Some("self-hosted") => return true,
        Some("github-hosted") => return false,
        _ => {}
    }
    let Some(runs_on) = job.node.get("runs-on") else {
        return false;
    };
    let label = |n: &crate::workflow::yaml::Node| {
        n.as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("self-hosted"))
    };
    label(runs_on)
        || runs_on.as_seq().is_some_and(|s| s.iter().any(label))
        || runs_on.get("group").is_some()
        || runs_on
            .get("labels")
            .is_some_and(|l| label(l) || l.as_seq().is_some_and(|s| s.iter().any(label)))
}

/// How messages name the builder a build runs on instead.
fn describe(used: Chosen<'_>) -> String {
    match used {
        Chosen::Daemon => "the daemon's own `default` builder (driver `docker`)".to_string(),
        Chosen::Builder(b) => format!(
            "the builder of step `{}` (line {}, driver `{}`)",
            b.step.label,
            b.location.line.unwrap_or(b.step.line),
            b.driver.as_deref().unwrap_or("?")
        ),
        Chosen::Stored(..) => format!(
            "{} (driver `{}`)",
            used.origin(),
            used.driver().unwrap_or("?")
        ),
        Chosen::NotKnown => "a builder acr-preflight cannot tell".to_string(),
    }
}

/// What [`unknown_builder`] reads besides the build.
struct Scene<'a> {
    job: &'a Job,
    found: &'a discover::Found,
    store: &'a Store,
    self_hosted: bool,
}

fn line(l: &Location, fallback: u32) -> u32 {
    l.line.unwrap_or(fallback)
}

/// The setup-buildx-action step before the build the fix can point at: its id, else
/// its label (to give it an id).
fn setup_step_before<'a>(
    found: &'a discover::Found,
    build: &BuildCommand,
) -> Option<&'a BuilderStep> {
    found
        .builders
        .iter()
        .rfind(|b| b.what == "docker/setup-buildx-action" && b.step.index < build.step.index)
}

fn unknown_builder(
    scene: &Scene<'_>,
    build: &BuildCommand,
    named: &BuilderRef,
    problem: &Problem<'_>,
) -> Finding {
    let Scene {
        job,
        found,
        store,
        self_hosted,
    } = *scene;
    let build_line = line(&build.location, build.step.line);
    let named_line = line(&named.location, build.step.line);
    let head = format!(
        "`{}` in step `{}` (line {build_line}) names its builder with {} `{}` (line {named_line}).",
        build.what, build.step.label, named.how, named.written
    );
    let job_id = &job.id.value;
    let setup = setup_step_before(found, build);
    let (severity, title, message, fix) = match problem {
        Problem::NotCreated { name, later } => {
            let seen = match later {
                Some(b) => format!(
                    "The builder `{name}` is created by step `{}` (line {}), after the build, and no step before it creates one of that name.",
                    b.step.label,
                    line(&b.location, b.step.line)
                ),
                None => format!(
                    "No step of job `{job_id}` creates a builder named `{name}` (docker/setup-buildx-action `name: {name}`, `docker buildx create --name {name}`)."
                ),
            };
            let (severity, consequence) = match (self_hosted, store) {
                (true, Store::Read(s)) => (
                    Severity::Error,
                    format!(
                        "The job runs on a self-hosted runner, where a builder created by an earlier job or by hand stays until it is removed, but buildx's store on this runner ({}) has no builder `{name}` (it has {}{}) and the docker config has no context of that name, so buildx stops with `ERROR: no builder \"{name}\" found`.",
                        s.dir.display(),
                        s.names(),
                        if s.truncated {
                            ", and more not read"
                        } else {
                            ""
                        }
                    ),
                ),
                (true, Store::NotInspected(why)) => (
                    Severity::Warning,
                    format!(
                        "The job runs on a self-hosted runner, where a builder created by an earlier job or by hand stays until it is removed, so `{name}` may exist there; buildx's store on this runner was not inspected ({why}). On a runner without it buildx stops with `ERROR: no builder \"{name}\" found`, and where it exists the build depends on what another job left behind."
                    ),
                ),
                (false, _) => (
                    Severity::Error,
                    format!(
                        "A fresh runner has no builder but the daemon's `default`, so buildx stops with `ERROR: no builder \"{name}\" found`."
                    ),
                ),
            };
            let fix = match (later, setup) {
                (Some(b), _) => format!(
                    "Move step `{}` (line {}) above step `{}` (line {}).",
                    b.step.label, b.step.line, build.step.label, build.step.line
                ),
                (None, Some(s)) => format!(
                    "Give step `{}` (line {}) `name: {name}`, so the builder it creates has that name, or name the builder it creates in step `{}`: `builder: ${{{{ steps.{}.outputs.name }}}}`{}.",
                    s.step.label,
                    s.step.line,
                    build.step.label,
                    s.step_id.as_deref().unwrap_or("buildx"),
                    if s.step_id.is_some() {
                        String::new()
                    } else {
                        format!(" with `id: buildx` on step `{}`", s.step.label)
                    }
                ),
                (None, None) => format!(
                    "Create the builder in the job before step `{}` (line {}):\n- uses: docker/setup-buildx-action@v3\n  with:\n    name: {name}",
                    build.step.label, build.step.line
                ),
            };
            (
                severity,
                format!(
                    "step `{}` builds on builder `{name}`, which no step of job `{job_id}` creates before it",
                    build.step.label
                ),
                format!("{head} {seen} {consequence}"),
                fix,
            )
        }
        Problem::NoStep { id }
        | Problem::StepAfter { id, .. }
        | Problem::NotABuilder { id, .. } => {
            let used = describe(chosen(found, store, build));
            let (seen, fix) = match problem {
                Problem::StepAfter { step, .. } => (
                    format!(
                        "Step `{}` (`id: {id}`, line {}) runs after the build, so its output is still empty when the build runs.",
                        step.label(),
                        step.pos.line
                    ),
                    format!(
                        "Move step `{}` (line {}) above step `{}` (line {}).",
                        step.label(),
                        step.pos.line,
                        build.step.label,
                        build.step.line
                    ),
                ),
                Problem::NotABuilder { step, .. } => (
                    format!(
                        "Step `{}` (`id: {id}`, line {}) creates no buildx builder, so its `outputs.name` is no builder's name (it is empty unless that step sets an output `name`).",
                        step.label(),
                        step.pos.line
                    ),
                    setup_fix(setup, build, id),
                ),
                _ => (
                    format!(
                        "No step of job `{job_id}` has `id: {id}`, so the expression is empty when the build runs."
                    ),
                    setup_fix(setup, build, id),
                ),
            };
            (
                Severity::Warning,
                format!(
                    "step `{}` names its builder `{}`, which no step before it outputs",
                    build.step.label, named.written
                ),
                format!(
                    "{head} {seen} With an empty name docker/build-push-action passes no `--builder` (and `--builder \"\"` means the same to buildx), so the build runs on {used}, not on the builder the workflow means; driver-specific features (several platforms, cache export, a BuildKit image or driver options of that builder) are then missing or fail."
                ),
                fix,
            )
        }
    };
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_UNKNOWN,
            severity,
            title,
            message,
            fix,
        ),
        &named.location,
    )
}

/// Point a step output at the setup-buildx-action step before the build.
fn setup_fix(setup: Option<&BuilderStep>, build: &BuildCommand, id: &str) -> String {
    match setup {
        Some(s) => match &s.step_id {
            Some(sid) => format!(
                "Name the builder of step `{}` (line {}): `builder: ${{{{ steps.{sid}.outputs.name }}}}`.",
                s.step.label, s.step.line
            ),
            None => format!(
                "Give step `{}` (line {}) `id: {id}`, so that `steps.{id}.outputs.name` is the name of the builder it creates.",
                s.step.label, s.step.line
            ),
        },
        None => format!(
            "Add a step before step `{}` (line {}) that creates the builder and has that id:\n- uses: docker/setup-buildx-action@v3\n  id: {id}",
            build.step.label, build.step.line
        ),
    }
}
