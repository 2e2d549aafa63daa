//! Builders the job does not create (P30): on a self-hosted runner, and whenever a build
//! names a builder or uses the one in use without a step creating it, the builder lives
//! in buildx's store on the runner ([`crate::docker::buildx`]). The builder judgements
//! of this check take the store's builders where no step gives one; this module says
//! which store was read (or why none could be) and reports the store's builders on other
//! machines.

use super::{
    Chosen, at_location, buildx_build, chosen, finding, messages::remote as remote_finding,
};
use crate::config::{Config, DockerConfigOrigin};
use crate::docker::buildx::{self, InUse, Store, StoredBuilder};
use crate::findings::{CheckReport, Code, Finding, Location, Severity};
use crate::workflow::discover::{self, BuildCommand};

/// The store the build's buildx reads: `$BUILDX_CONFIG`, else `buildx` in the docker
/// config folder. Not read in a container action when it is not mounted there.
/// `docker_config` is the run's reading of the docker config (its `currentContext`).
pub(super) fn store(config: &Config, docker_config: &crate::docker::config::Read) -> Store {
    let env = &config.env;
    let dir = buildx::store_dir(env.buildx_config.as_deref(), &config.docker_config.dir);
    if let Some(container) = &env.container {
        if env.buildx_config.is_none() && config.docker_config.origin == DockerConfigOrigin::Home {
            return Store::NotInspected(format!(
                "acr-preflight runs as a container action, whose home ({}) is not the runner user's: the runner's `~/.docker/buildx` is not mounted into the container, so builders the job did not create cannot be seen; set `DOCKER_CONFIG` (or `BUILDX_CONFIG`) to a folder under `${{{{ runner.temp }}}}` or the workspace in the job's `env:`, or use {}",
                crate::action_container::HOME,
                crate::action_container::HOST_MODE_USES
            ));
        }
        if let Some(why) = container.unmounted(&dir) {
            return Store::NotInspected(container.explain_unmounted("buildx's store", &dir, &why));
        }
    }
    // The docker CLI's context: DOCKER_HOST (the default context), else DOCKER_CONTEXT,
    // else the docker config's `currentContext`.
    let context = env.docker_context.clone().or_else(|| {
        if env.docker_host.is_some() {
            return None;
        }
        docker_config
            .as_ref()
            .ok()
            .and_then(|read| read.loaded())
            .and_then(|c| c.current_context.clone())
    });
    let endpoint = buildx::endpoint_key(context.as_deref(), env.docker_host.as_deref());
    buildx::read(&dir, &endpoint)
}

/// One verified line on the store, when the job runs a buildx build.
pub(super) fn verified(report: &mut CheckReport, found: &discover::Found, store: &Store) {
    if !found.builds.iter().any(buildx_build) {
        return;
    }
    let line = match store {
        Store::NotInspected(why) => {
            format!("buildx builders the job did not create were not inspected: {why}")
        }
        Store::Read(s) if !s.exists => format!(
            "buildx store {}: absent, so no builder but the daemon's `default` exists before the job creates one",
            s.dir.display()
        ),
        Store::Read(s) => {
            let builders: Vec<String> = s
                .builders
                .iter()
                .map(|b| match &b.read {
                    Ok(f) => format!("`{}` ({})", b.name, f.driver),
                    Err(e) => format!("`{}` (not judged: {e})", b.name),
                })
                .collect();
            let in_use = match &s.in_use {
                InUse::Default => "the daemon's `default`".to_string(),
                InUse::Builder(n) => format!("`{n}`"),
                InUse::NotKnown(why) => format!("not known ({why})"),
            };
            format!(
                "buildx store {}: builders {}{}; in use: {in_use}",
                s.dir.display(),
                if builders.is_empty() {
                    "none".to_string()
                } else {
                    builders.join(", ")
                },
                if s.truncated {
                    format!(" (only the first {} read)", buildx::MAX_INSTANCES)
                } else {
                    String::new()
                }
            )
        }
    };
    report.verified(line);
}

/// How messages name a builder of the store.
pub(super) fn origin(b: &StoredBuilder) -> String {
    match &b.read {
        Ok(_) => format!(
            "the builder `{}`, which no step of the job creates: it comes from buildx's store on this runner ({})",
            b.name,
            b.path.display()
        ),
        Err(e) => format!(
            "the builder `{}` of buildx's store on this runner ({}, not judged: {e})",
            b.name,
            b.path.display()
        ),
    }
}

/// Where a finding on the builder a build runs on goes: the name, else the build.
fn place(build: &BuildCommand) -> &Location {
    build
        .builder
        .as_ref()
        .map_or(&build.location, |n| &n.location)
}

fn line(build: &BuildCommand) -> u32 {
    build.location.line.unwrap_or(build.step.line)
}

/// WORKFLOW_BUILDER_REMOTE for builders of the store with the `kubernetes` or `remote`
/// driver that a build runs on (the first build on each).
pub(super) fn remote(
    report: &mut CheckReport,
    config: &Config,
    found: &discover::Found,
    store: &Store,
) {
    let mut seen: Vec<&str> = Vec::new();
    for build in found.builds.iter().filter(|b| buildx_build(b)) {
        let Chosen::Stored(builder, _) = chosen(found, store, build) else {
            continue;
        };
        let Some(driver @ ("kubernetes" | "remote")) = builder.driver() else {
            continue;
        };
        if seen.contains(&builder.name.as_str()) {
            continue;
        }
        seen.push(&builder.name);
        let seen = format!(
            "`{}` in step `{}` (line {}) builds on {}, with the `{driver}` driver, so BuildKit runs away from the runner (in a pod, or at a remote endpoint).",
            build.what,
            build.step.label,
            line(build),
            origin(builder),
        );
        report.push(remote_finding(
            build,
            driver,
            seen,
            &config.docker_config.dir,
            place(build),
        ));
    }
}

/// WORKFLOW_BUILDER_NO_PROXY for a `docker-container` builder of the store.
pub(super) fn no_proxy(
    builder: &StoredBuilder,
    build: &BuildCommand,
    all: &str,
    lacks: &str,
    fix: String,
) -> Finding {
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_NO_PROXY,
            Severity::Warning,
            format!(
                "the buildx builder `{}` on this runner does not get the proxy the job uses",
                builder.name
            ),
            format!(
                "The job's steps get the proxy variables {all}, so the runner reaches registries through a proxy. `{}` in step `{}` (line {}) builds on {}, with the `docker-container` driver, and {lacks}. BuildKit runs in that container with only the environment its driver options give it (the docker client's `proxies` setting reaches `RUN` instructions only, as build arguments), so its own pulls of base images and its pushes go direct and, behind a firewall, fail with `dial tcp …:443: i/o timeout` or `failed to do request: … context deadline exceeded` while `docker pull` on the runner works.",
                build.what,
                build.step.label,
                line(build),
                origin(builder),
            ),
            fix,
        ),
        place(build),
    )
}

/// WORKFLOW_BUILDER_PROXY_LOOPBACK for a `docker-container` builder of the store.
pub(super) fn loopback_proxy(
    builder: &StoredBuilder,
    build: &BuildCommand,
    gives: &str,
    why: &str,
    fix: String,
) -> Finding {
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_PROXY_LOOPBACK,
            Severity::Error,
            format!(
                "the buildx builder `{}` on this runner is given a proxy on loopback, which its container cannot reach",
                builder.name
            ),
            format!(
                "`{}` in step `{}` (line {}) builds on {}, with the `docker-container` driver, and {gives}. {why}",
                build.what,
                build.step.label,
                line(build),
                origin(builder),
            ),
            fix,
        ),
        place(build),
    )
}
