//! A job behind an egress proxy whose buildx builder runs BuildKit in a container
//! without the proxy (P47): the `docker-container` driver starts BuildKit with only the
//! environment its driver options give it (docker/buildx `driver/docker-container`
//! creates the container with `Env` from `env.*` driver options and nothing else), so
//! its own pulls and pushes go direct and time out behind a firewall. The docker client's
//! `proxies` (`~/.docker/config.json`) reach only `RUN` steps, as build arguments
//! (https://docs.docker.com/engine/cli/proxy/); they never reach BuildKit's registry
//! traffic. Names only: a proxy URL may carry a password, so no value is ever written.

use super::live_builders::Live;
use super::{Chosen, at_location, buildx_build, chosen, finding, stored_builders};
use crate::docker::buildx::{InUse, NodeGroupFacts, Store, StoredBuilder};
use crate::findings::{CheckReport, Code, Finding, Severity};
use crate::workflow::discover::{self, BuilderStep, PROXY_VARIABLES};
use crate::workflow::model::{Job, Workflow};
use std::collections::HashMap;

/// A proxy variable the job's steps see, and where it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProxyVar {
    /// As spelled (`HTTPS_PROXY`, `https_proxy`).
    pub name: String,
    /// In an `env:` block of the workflow or job, so `${{ env.NAME }}` reads it; else
    /// only in the runner's own environment.
    pub in_env_block: bool,
    /// `host:port` when its value (as written in `env:`, else the process's) is a proxy
    /// on loopback, which a builder's container cannot reach at that address.
    pub loopback: Option<String>,
}

/// The proxy variables set (not empty) for the job's steps: workflow and job `env:`,
/// then acr-preflight's own environment (the runner's `.env`, the service's
/// environment), each variable once (upper case first).
pub(super) fn proxy_vars(
    workflow: &Workflow,
    job: &Job,
    process_env: &HashMap<String, String>,
) -> Vec<ProxyVar> {
    let mut out: Vec<ProxyVar> = Vec::new();
    let spellings = PROXY_VARIABLES
        .iter()
        .flat_map(|v| [v.to_ascii_uppercase(), v.to_string()]);
    for name in spellings {
        let written = [&job.env, &workflow.env]
            .iter()
            .find_map(|env| env.get(&name))
            .map(|t| t.value.as_str());
        let block = written.map(|v| !v.trim().is_empty());
        let process = process_env.get(&name).filter(|v| !v.trim().is_empty());
        let spelled = out.iter().any(|v| v.name.eq_ignore_ascii_case(&name));
        if !spelled && (block == Some(true) || (block.is_none() && process.is_some())) {
            let value = written.or(process.map(String::as_str)).unwrap_or("");
            let loopback = (!name.eq_ignore_ascii_case("no_proxy"))
                .then(|| crate::workflow::proxy_url::loopback(value))
                .flatten();
            out.push(ProxyVar {
                name,
                in_env_block: block == Some(true),
                loopback,
            });
        }
    }
    out
}

/// WORKFLOW_BUILDER_NO_PROXY: every `docker-container` builder a build of the job runs
/// on whose driver options pass none of the proxy variables the job sets.
pub(super) fn builders_without_proxy(
    report: &mut CheckReport,
    found: &discover::Found,
    store: &Store,
    live: &Live,
    vars: &[ProxyVar],
) {
    let wanted: Vec<&ProxyVar> = vars
        .iter()
        .filter(|v| !v.name.eq_ignore_ascii_case("no_proxy"))
        .collect();
    if wanted.is_empty() {
        return;
    }
    for builder in found
        .builders
        .iter()
        .filter(|b| b.driver.as_deref() == Some("docker-container"))
    {
        let missing: Vec<&ProxyVar> = wanted
            .iter()
            .copied()
            .filter(|v| !builder.proxy_env.contains(&v.name.to_ascii_lowercase()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let build = found
            .builds
            .iter()
            .filter(|b| buildx_build(b))
            .find(|b| chosen(found, store, b).is(builder));
        if let Some(build) = build {
            report.push(no_proxy(builder, build, vars, &missing));
        }
    }
    for (builder, facts, build, in_use) in stored_container_builders(found, store) {
        // The container's environment, when the daemon showed it, is what BuildKit has.
        let live = live.proxy(&builder.name);
        let passed = live.map_or(&facts.driver_env, |l| &l.proxy_env);
        let missing: Vec<&ProxyVar> = wanted
            .iter()
            .copied()
            .filter(|v| !passed.contains(&v.name.to_ascii_lowercase()))
            .collect();
        if !missing.is_empty() {
            let lacks = match live {
                Some(l) => format!(
                    "the docker daemon shows its BuildKit container {} with no {} in its environment, and that environment is what BuildKit runs with (the store's driver options count again only when buildx creates the container anew)",
                    l.containers,
                    names(&missing)
                ),
                None => format!("its driver options pass no {} to BuildKit", names(&missing)),
            };
            let fix = stored_fix(builder, vars, in_use);
            report.push(stored_builders::no_proxy(
                builder,
                build,
                &names(vars),
                &lacks,
                fix,
            ));
        }
    }
}

/// The `docker-container` builders of buildx's store that builds of the job run on (no
/// step creates them), each with the first build on it and whether it is the one in use.
pub(super) fn stored_container_builders<'a>(
    found: &'a discover::Found,
    store: &'a Store,
) -> Vec<(
    &'a StoredBuilder,
    &'a NodeGroupFacts,
    &'a discover::BuildCommand,
    bool,
)> {
    let mut out: Vec<(
        &StoredBuilder,
        &NodeGroupFacts,
        &discover::BuildCommand,
        bool,
    )> = Vec::new();
    for build in found.builds.iter().filter(|b| buildx_build(b)) {
        let Chosen::Stored(builder, read) = chosen(found, store, build) else {
            continue;
        };
        let Ok(facts) = &builder.read else {
            continue;
        };
        if facts.driver != "docker-container" || out.iter().any(|(b, ..)| b.name == builder.name) {
            continue;
        }
        let in_use = read.in_use == InUse::Builder(builder.name.clone());
        out.push((builder, facts, build, in_use));
    }
    out
}

/// `` `HTTPS_PROXY`, `NO_PROXY` ``.
fn names<V: std::borrow::Borrow<ProxyVar>>(vs: &[V]) -> String {
    vs.iter()
        .map(|v| format!("`{}`", v.borrow().name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Re-create a stored builder with the proxy: `docker buildx rm` then `create` with the
/// same name and driver.
fn stored_fix(builder: &StoredBuilder, vars: &[ProxyVar], in_use: bool) -> String {
    let opts: Vec<String> = vars.iter().map(driver_opt_flag).collect();
    format!(
        "{first}On the runner, as the user the job runs as, re-create the builder with the proxy passed to BuildKit (same name, so the workflow does not change; add any other `--driver-opt` it had, which `docker buildx inspect {name}` shows):\ndocker buildx rm {name}\ndocker buildx create --name {name} --driver docker-container{use_} {opts}",
        first = loopback_first(vars),
        name = builder.name,
        use_ = if in_use { " --use" } else { "" },
        opts = opts.join(" ")
    )
}

fn no_proxy(
    builder: &BuilderStep,
    build: &discover::BuildCommand,
    vars: &[ProxyVar],
    missing: &[&ProxyVar],
) -> Finding {
    let names = |vs: &[&ProxyVar]| {
        vs.iter()
            .map(|v| format!("`{}`", v.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all: Vec<&ProxyVar> = vars.iter().collect();
    let runner_only: Vec<&ProxyVar> = all.iter().copied().filter(|v| !v.in_env_block).collect();
    let where_set = if runner_only.len() == all.len() {
        "the runner's own environment (not an `env:` block of the workflow)"
    } else if runner_only.is_empty() {
        "the workflow's `env:`"
    } else {
        "the workflow's `env:` and the runner's own environment"
    };
    let line = builder.location.line.unwrap_or(builder.step.line);
    let message = format!(
        "The job's steps get the proxy variables {} from {where_set}, so the runner reaches registries through a proxy. Step `{}` (line {line}) creates a builder with the `docker-container` driver, and `{}` in step `{}` (line {}) builds on it, but its driver options pass no {} to BuildKit. BuildKit runs in that container with only the environment its driver options give it (the docker client's `proxies` setting reaches `RUN` instructions only, as build arguments), so its own pulls of base images and its pushes go direct and, behind a firewall, fail with `dial tcp …:443: i/o timeout` or `failed to do request: … context deadline exceeded` while `docker pull` on the runner works.",
        names(&all),
        builder.step.label,
        build.what,
        build.step.label,
        build.location.line.unwrap_or(build.step.line),
        names(missing),
    );
    let fix = if builder.what == "docker/setup-buildx-action" {
        let opts: Vec<String> = vars.iter().map(driver_opt_yaml).collect();
        // A loopback proxy is written at the bridge address, not read from `env`.
        let runner_only: Vec<&ProxyVar> = runner_only
            .into_iter()
            .filter(|v| v.loopback.is_none())
            .collect();
        let copy = if runner_only.is_empty() {
            String::new()
        } else {
            let lines: Vec<String> = runner_only
                .iter()
                .map(|v| format!("echo \"{0}=${0}\" >> \"$GITHUB_ENV\"", v.name))
                .collect();
            format!(
                " `${{{{ env.NAME }}}}` reads only `env:` blocks and `$GITHUB_ENV`, not the runner's own environment, so first copy them in a step before it:\n- run: |\n    {}\n",
                lines.join("\n    ")
            )
        };
        format!(
            "{}Pass the proxy to BuildKit in step `{}` (line {}){}.{copy}\nThen add to its `with:`:\ndriver-opts: |\n  {}",
            loopback_first(vars),
            builder.step.label,
            builder.step.line,
            if vars.iter().any(|v| v.loopback.is_some()) {
                ""
            } else {
                ", by the variables' names (their values stay out of the workflow file)"
            },
            opts.join("\n  ")
        )
    } else {
        let opts: Vec<String> = vars.iter().map(driver_opt_flag).collect();
        format!(
            "{}Pass the proxy to BuildKit where step `{}` (line {line}) creates the builder: add {} to its `docker buildx create`.",
            loopback_first(vars),
            builder.step.label,
            opts.join(" ")
        )
    };
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_NO_PROXY,
            Severity::Warning,
            format!(
                "the buildx builder of step `{}` does not get the proxy the job uses",
                builder.step.label
            ),
            message,
            fix,
        ),
        &builder.location,
    )
}

/// A setup-buildx-action `driver-opts` line passing variable `v` (`no_proxy` holds
/// commas, so it is quoted as one CSV field); a proxy on loopback is given at the docker
/// bridge address instead.
fn driver_opt_yaml(v: &ProxyVar) -> String {
    let lower = v.name.to_ascii_lowercase();
    if let Some(at) = &v.loopback {
        return format!("env.{lower}=http://{BRIDGE}:{}", port(at));
    }
    if lower == "no_proxy" {
        format!("\"env.{lower}='${{{{ env.{} }}}}'\"", v.name)
    } else {
        format!("env.{lower}=${{{{ env.{} }}}}", v.name)
    }
}

/// A `docker buildx create` option passing variable `v` from the shell (a proxy on
/// loopback at the docker bridge address).
fn driver_opt_flag(v: &ProxyVar) -> String {
    let lower = v.name.to_ascii_lowercase();
    if let Some(at) = &v.loopback {
        return format!("--driver-opt \"env.{lower}=http://{BRIDGE}:{}\"", port(at));
    }
    if lower == "no_proxy" {
        format!("--driver-opt \"\\\"env.{lower}=${}\\\"\"", v.name)
    } else {
        format!("--driver-opt \"env.{lower}=${}\"", v.name)
    }
}

/// The docker bridge's default gateway: the runner's address as a container on the
/// default bridge network sees it.
const BRIDGE: &str = "172.17.0.1";

/// The first sentence of a WORKFLOW_BUILDER_NO_PROXY fix when the job's proxy is on
/// loopback (the address BuildKit's container reaches instead), else nothing.
fn loopback_first(vars: &[ProxyVar]) -> String {
    vars.iter()
        .find_map(|v| {
            v.loopback
                .as_ref()
                .map(|at| format!("{} ", bridge_fix(&v.name.to_ascii_lowercase(), at)))
        })
        .unwrap_or_default()
}

/// WORKFLOW_BUILDER_PROXY_LOOPBACK: every `docker-container` builder a build of the job
/// runs on whose driver options give BuildKit a proxy on loopback. BuildKit runs in its
/// own container, in the docker bridge network unless `network=host` is given
/// (https://docs.docker.com/build/builders/drivers/docker-container/, option `network`),
/// where 127.0.0.1 is that container: nothing listens there, so every pull and push
/// through the proxy is refused. Only `host:port` is ever written, never the URL.
pub(super) fn builders_with_loopback_proxy(
    report: &mut CheckReport,
    found: &discover::Found,
    store: &Store,
    live: &Live,
) {
    for builder in found
        .builders
        .iter()
        .filter(|b| b.driver.as_deref() == Some("docker-container") && !b.proxy_loopback.is_empty())
    {
        let build = found
            .builds
            .iter()
            .filter(|b| buildx_build(b))
            .find(|b| chosen(found, store, b).is(builder));
        if let Some(build) = build {
            report.push(loopback_proxy(builder, build));
        }
    }
    for (builder, facts, build, in_use) in stored_container_builders(found, store) {
        let live = live.proxy(&builder.name);
        let loopback = live.map_or(&facts.proxy_loopback, |l| &l.proxy_loopback);
        let Some((name, at)) = loopback.first() else {
            continue;
        };
        let gives = match live {
            Some(l) => format!(
                "the docker daemon shows its BuildKit container {} with {} in its environment",
                l.containers,
                loopback
                    .iter()
                    .map(|(name, at)| format!("`{name}` (a proxy at `{at}`)"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            None => format!("its driver options pass {} to BuildKit", passed(loopback)),
        };
        let fix = format!(
            "{} On the runner, as the user the job runs as, re-create the builder under the same name (so the workflow does not change; add any other `--driver-opt` it had, which `docker buildx inspect {1}` shows) with that address, or with `--driver-opt network=host` added and the proxy kept as it is:\ndocker buildx rm {1}\ndocker buildx create --name {1} --driver docker-container{2} --driver-opt \"env.{name}=http://{BRIDGE}:{3}\"",
            bridge_fix(name, at),
            builder.name,
            if in_use { " --use" } else { "" },
            port(at),
        );
        report.push(stored_builders::loopback_proxy(
            builder,
            build,
            &gives,
            &unreachable(at),
            fix,
        ));
    }
}

/// `` `env.https_proxy` (a proxy at `127.0.0.1:3128`) ``, joined with "and".
fn passed(loopback: &[(String, String)]) -> String {
    loopback
        .iter()
        .map(|(name, at)| format!("`env.{name}` (a proxy at `{at}`)"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The port of `host:port`, else the usual proxy port.
fn port(at: &str) -> &str {
    match at.rsplit_once(':') {
        Some((host, p)) if !host.ends_with('[') && !p.ends_with(']') => p,
        _ => "3128",
    }
}

/// Why BuildKit cannot reach a proxy at `at`.
fn unreachable(at: &str) -> String {
    format!(
        "BuildKit runs in its own container on the docker bridge network, where the loopback address is that container itself, not the runner: nothing listens there, so its pulls of base images and its pushes fail with `proxyconnect tcp: dial tcp {at}: connect: connection refused`, while the same proxy works for `docker pull` and `curl` on the runner."
    )
}

/// The bridge address to give instead (the first sentence of both fixes).
fn bridge_fix(name: &str, at: &str) -> String {
    format!(
        "Give BuildKit the proxy at an address its container reaches: the runner's address on the docker bridge (`172.17.0.1` by default; `docker network inspect bridge --format '{{{{(index .IPAM.Config 0).Gateway}}}}'` prints it), with the proxy listening on that address too, e.g. `env.{name}=http://{BRIDGE}:{}`.",
        port(at)
    )
}

fn loopback_proxy(builder: &BuilderStep, build: &discover::BuildCommand) -> Finding {
    let line = builder.location.line.unwrap_or(builder.step.line);
    let (name, at) = &builder.proxy_loopback[0];
    let network = if builder.what == "docker/setup-buildx-action" {
        "add `network=host` to its `driver-opts`"
    } else {
        "add `--driver-opt network=host` to its `docker buildx create`"
    };
    let message = format!(
        "Step `{}` (line {line}) creates a builder with the `docker-container` driver whose driver options pass {} to BuildKit, and `{}` in step `{}` (line {}) builds on it. {}",
        builder.step.label,
        passed(&builder.proxy_loopback),
        build.what,
        build.step.label,
        build.location.line.unwrap_or(build.step.line),
        unreachable(at),
    );
    let fix = format!(
        "{} Or run the builder in the runner's network, where loopback is the runner's: in step `{}` (line {}), {network}.",
        bridge_fix(name, at),
        builder.step.label,
        builder.step.line,
    );
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_PROXY_LOOPBACK,
            Severity::Error,
            format!(
                "the buildx builder of step `{}` is given a proxy on loopback, which its container cannot reach",
                builder.step.label
            ),
            message,
            fix,
        ),
        &builder.location,
    )
}
