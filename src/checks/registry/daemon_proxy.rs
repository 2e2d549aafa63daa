//! A runner behind an egress proxy whose docker daemon has none (P47): the shell's
//! `HTTPS_PROXY` reaches the docker client and buildx, not the daemon, which pulls with
//! the proxy of its own environment (systemd) or `daemon.json` only
//! (https://docs.docker.com/engine/daemon/proxy/). Run on the runner only: inside the
//! container action there is no daemon to ask. Names only, never a proxy's value.

use super::Ctx;
use crate::docker::daemon::{self, DaemonError};
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};

/// The longest `docker info` is waited for: it only answers from the daemon's memory.
const INFO_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// DOCKER_DAEMON_NO_PROXY when acr-preflight's environment sets a proxy and the daemon
/// runs without one.
pub async fn check(ctx: &Ctx) -> CheckReport {
    let mut report = CheckReport::default();
    let vars = &ctx.proxy_vars;
    let wanted: Vec<&String> = vars
        .iter()
        .filter(|v| !v.eq_ignore_ascii_case("no_proxy"))
        .collect();
    if wanted.is_empty() || ctx.config.env.container.is_some() {
        return report;
    }
    let names = |vs: &[&String]| {
        vs.iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let budget = ctx.remaining().min(INFO_BUDGET);
    match daemon::proxy(ctx.config.env.path.as_deref(), budget).await {
        Ok(proxy) if proxy.none() => report.push(no_proxy(&names(&wanted))),
        Ok(proxy) => report.verified(format!(
            "the docker daemon has a proxy of its own ({}), as this step's environment does ({})",
            [("HttpProxy", proxy.http), ("HttpsProxy", proxy.https), ("NoProxy", proxy.no_proxy)]
                .iter()
                .filter(|(_, set)| *set)
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", "),
            names(&wanted)
        )),
        Err(DaemonError::NoDocker) => report.verified(format!(
            "the step's environment sets {}; `docker` is not on PATH, so the daemon's proxy was not read",
            names(&wanted)
        )),
        Err(e) => report.verified(format!(
            "the step's environment sets {}; the daemon's proxy is not known: {e}",
            names(&wanted)
        )),
    }
    report
}

fn no_proxy(names: &str) -> Finding {
    Finding::new(
        CheckId::Registry,
        Code::DOCKER_DAEMON_NO_PROXY,
        Severity::Warning,
        "the docker daemon has no proxy, while this job reaches registries through one".to_string(),
        format!(
            "acr-preflight's environment sets {names}, so the job's tools (and this check) go through a proxy, but `docker info` shows the daemon with no HTTP or HTTPS proxy. The daemon does not read the client's environment: what it pulls itself (`docker pull`, `docker build` and builds on the `default` builder with the `docker` driver, the BuildKit image a `docker-container` builder boots from) goes direct and, behind a firewall that lets only the proxy out, fails with `dial tcp …:443: i/o timeout` or `net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`."
        ),
        "Give the daemon the proxy (as root on the runner host; put the proxy's URL where `<proxy URL>` is written, it is not shown here):\nsudo mkdir -p /etc/systemd/system/docker.service.d\nprintf '[Service]\\nEnvironment=\"HTTP_PROXY=<proxy URL>\"\\nEnvironment=\"HTTPS_PROXY=<proxy URL>\"\\nEnvironment=\"NO_PROXY=localhost,127.0.0.1\"\\n' | sudo tee /etc/systemd/system/docker.service.d/http-proxy.conf\nsudo systemctl daemon-reload && sudo systemctl restart docker\nOr, on Docker Engine 23.0 or later, set `\"proxies\": {\"http-proxy\": \"<proxy URL>\", \"https-proxy\": \"<proxy URL>\", \"no-proxy\": \"localhost,127.0.0.1\"}` in /etc/docker/daemon.json and restart docker.".to_string(),
    )
}
