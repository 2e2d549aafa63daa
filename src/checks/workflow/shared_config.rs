//! A docker config that already held the build's credential when the job started, on a
//! self-hosted runner: persistent runners share one `~/.docker/config.json` between
//! jobs, so what the build uses depends on the jobs before and beside it (P33).

use super::Ctx;
use crate::checks::credentials::{CredentialSource, HostCredential};
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};

/// CRED_PREEXISTING: on a self-hosted runner, credentials found in the docker config for
/// registries that no step of this job logged in to before acr-preflight's.
pub fn preexisting_credentials(ctx: &Ctx, creds: &[HostCredential]) -> Option<Finding> {
    if ctx.config.env.runner_environment.as_deref() != Some("self-hosted") {
        return None;
    }
    let earlier = ctx.earlier_logins.as_ref()?;
    // A login whose registry is not known may be the one: then nothing is claimed.
    if earlier.iter().any(Option::is_none) {
        return None;
    }
    let logged_in = |host: &str| {
        earlier
            .iter()
            .flatten()
            .any(|r| r.eq_ignore_ascii_case(host))
    };
    let found: Vec<&HostCredential> = creds
        .iter()
        .filter(|c| c.credential.is_some() && c.problem.is_none())
        .filter(|c| {
            matches!(
                c.source,
                CredentialSource::File { key: Some(_), .. } | CredentialSource::Helper { .. }
            )
        })
        .filter(|c| !logged_in(&c.host))
        .collect();
    let first = found.first()?;
    let hosts: Vec<&str> = found.iter().map(|c| c.host.as_str()).collect();
    let sources: Vec<String> = found
        .iter()
        .map(|c| format!("{} from {}", c.host, c.source.describe()))
        .collect();
    let example = first
        .host
        .strip_suffix(".azurecr.io")
        .map(|name| format!("az acr login -n {name}"))
        .unwrap_or_else(|| format!("docker/login-action with `registry: {}`", first.host));
    Some(Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_PREEXISTING,
        Severity::Notice,
        format!(
            "the credential for {} was already on this self-hosted runner before the job",
            hosts.join(", ")
        ),
        format!(
            "This runner is self-hosted (RUNNER_ENVIRONMENT=self-hosted) and the docker config holds {}, yet no step of this job before acr-preflight's logs in to {}. The credential was written by an earlier job or by hand. Jobs on a persistent runner share this file: another job's `docker logout`, or its login with another identity, changes what this build will use, and this job's own credential would outlive it.",
            sources.join(", "),
            if hosts.len() == 1 { "it" } else { "them" }
        ),
        format!(
            "Give each job its own docker config and log in inside the job: set `DOCKER_CONFIG: ${{{{ runner.temp }}}}/docker` in the job's `env:`, then log in before acr-preflight ({example}). Or register the runner as ephemeral (`./config.sh --ephemeral`), so that no state survives a job."
        ),
    ))
}

/// RUNNER_SHARED_CONFIG: on a self-hosted runner (not from a container action), other
/// runner processes (`Runner.Listener`, `Runner.Worker`) of this OS user that are not
/// this job's own: their jobs share this user's docker config and Azure CLI profile.
pub fn other_runners(ctx: &Ctx, report: &mut CheckReport) {
    if ctx.config.env.runner_environment.as_deref() != Some("self-hosted")
        || ctx.config.env.container.is_some()
    {
        return;
    }
    let started = std::time::Instant::now();
    let Some(scan) = crate::runners::scan() else {
        return;
    };
    let took = started.elapsed().as_micros();
    let Some(first) = scan.others.first() else {
        report.verified(format!(
            "no other runner process of this user on this machine ({} processes read in {took} µs)",
            scan.processes
        ));
        return;
    };
    let listed: Vec<String> = scan
        .others
        .iter()
        .take(5)
        .map(|o| match &o.program {
            Some(p) => format!("{} (pid {}, {})", o.name, o.pid, p.display()),
            None => format!("{} (pid {})", o.name, o.pid),
        })
        .collect();
    let more = scan.others.len().saturating_sub(listed.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let config = ctx.config.docker_config.dir.display();
    report.push(Finding::new(
        CheckId::CredentialHelpers,
        Code::RUNNER_SHARED_CONFIG,
        Severity::Warning,
        format!(
            "{} other runner process{} of this OS user share{} its docker config",
            scan.others.len(),
            if scan.others.len() == 1 { "" } else { "es" },
            if scan.others.len() == 1 { "s" } else { "" }
        ),
        format!(
            "This runner is self-hosted (RUNNER_ENVIRONMENT=self-hosted), and this machine runs {}{more} as the same OS user, besides this job's own runner ({} processes read in {took} µs). Jobs of every runner of one user read and write one docker config ({config}/config.json, unless a job sets DOCKER_CONFIG) and one Azure CLI profile (~/.azure): a `docker logout` or a login with another identity in a job that {} runs changes the credential this build sends between acr-preflight's check and the push, which then fails now and then with \"unauthorized: authentication required\" or \"no basic auth credentials\".",
            listed.join(", "),
            scan.processes,
            first.name
        ),
        "Give each job its own docker config and Azure CLI profile in the job's `env:`, and log in inside the job:\n\
         env:\n  DOCKER_CONFIG: ${{ runner.temp }}/docker\n  AZURE_CONFIG_DIR: ${{ runner.temp }}/azure\n\
         Or run each runner as its own OS user, or register runners as ephemeral (`./config.sh --ephemeral`) so that no state survives a job."
            .to_string(),
    ));
}
