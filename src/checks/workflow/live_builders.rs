//! The live state of the `docker-container` builders of buildx's store that the job's
//! builds use without creating them (P30, P47): what `docker buildx inspect` shows as a
//! node's `Status`, read from the docker daemon the runner's docker CLI talks to
//! (`DOCKER_HOST`, else the default socket), one Engine API inspect of each node's
//! container `buildx_buildkit_<node>` ([`crate::docker::engine`]).
//!
//! buildx's `docker-container` driver (docker/buildx `driver/docker-container/driver.go`,
//! `Bootstrap` and `Info`): no container is `inactive`, and the build's boot creates it,
//! pulling its BuildKit image (the `image` driver option, else
//! `moby/buildkit:buildx-stable-1`); a container that exists but does not run is
//! `stopped` and only started, with the environment it was created with; a running one
//! is used as it is. So an existing container's `Config.Env` is the proxy BuildKit
//! really has, whatever the store's driver options say now.
//!
//! Host mode only: in a container action the daemon's socket is not this tool's to read.
//! Every answer but a container's state is one verified line, never a finding.

use super::proxy::stored_container_builders;
use super::{Chosen, buildx_build, chosen};
use crate::config::Config;
use crate::docker::buildx::Store;
use crate::docker::engine::{self, Container};
use crate::docker::socket::{self, Endpoint};
use crate::findings::CheckReport;
use crate::workflow::{BaseRef, discover};
use std::time::{Duration, Instant};

/// The longest the daemon is waited for, over all nodes.
const MAX_WAIT: Duration = Duration::from_secs(3);

/// What the daemon says a builder's BuildKit runs with, when every node's container
/// exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LiveProxy {
    /// The proxy variables every node's container environment sets (lower case).
    pub proxy_env: Vec<String>,
    /// (variable, `host:port`) of a proxy on loopback in any node's container.
    pub proxy_loopback: Vec<(String, String)>,
    /// The containers and their states, for messages: `` `buildx_buildkit_ci0` (running) ``.
    pub containers: String,
}

/// What the daemon said, by builder name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Live {
    pub proxies: Vec<(String, LiveProxy)>,
    /// The BuildKit image each builder without its container pulls when the first build
    /// after acr-preflight's step on it boots it, located at that build.
    pub boots: Vec<BaseRef>,
}

impl Live {
    pub fn proxy(&self, builder: &str) -> Option<&LiveProxy> {
        self.proxies
            .iter()
            .find(|(n, _)| n == builder)
            .map(|(_, p)| p)
    }
}

/// Asks the daemon about each node of the store's `docker-container` builders the job
/// uses, and says what it saw in the verified list.
pub(super) fn live(
    report: &mut CheckReport,
    config: &Config,
    found: &discover::Found,
    store: &Store,
) -> Live {
    let mut live = Live::default();
    let builders = stored_container_builders(found, store);
    if builders.is_empty() {
        return live;
    }
    if config.env.container.is_some() {
        report.verified(
            "the live state of buildx builders on the runner was not read: acr-preflight runs as a container action, and the docker daemon is read only in host mode",
        );
        return live;
    }
    let daemon = socket::endpoint(config.env.docker_host.as_deref());
    let Endpoint::Unix(path) = &daemon else {
        report.verified(format!(
            "the live state of buildx builders on the runner was not read: the docker daemon is at `{}`, and only a unix socket is read",
            daemon.describe()
        ));
        return live;
    };
    let deadline = Instant::now() + (config.timeout / 4).min(MAX_WAIT);
    for (builder, facts, ..) in builders {
        let mut seen: Vec<(String, Container)> = Vec::new();
        let mut absent: Vec<String> = Vec::new();
        let mut unknown = false;
        for (node, endpoint) in facts.nodes.iter().zip(&facts.endpoints) {
            let name = format!("buildx_buildkit_{node}");
            if node.is_empty() {
                unknown = true;
                continue;
            }
            if socket::endpoint(Some(endpoint)) != daemon {
                report.verified(format!(
                    "buildx builder `{}` node `{node}`: runs on the docker endpoint `{endpoint}`, not {}; its state was not read",
                    builder.name,
                    daemon.describe()
                ));
                unknown = true;
                continue;
            }
            match engine::inspect(path, &name, deadline) {
                Ok(Some(c)) => seen.push((name, c)),
                Ok(None) => absent.push(name),
                Err(e) => {
                    report.verified(format!(
                        "buildx builder `{}` node `{node}`: the docker daemon at {} was not read ({e}), so the builder is judged by buildx's store alone",
                        builder.name,
                        daemon.describe()
                    ));
                    unknown = true;
                }
            }
        }
        let containers = seen
            .iter()
            .map(|(n, c)| format!("`{n}` ({})", c.status))
            .collect::<Vec<_>>()
            .join(", ");
        if !seen.is_empty() {
            report.verified(format!(
                "buildx builder `{}`: the docker daemon at {} has its BuildKit container {containers}{}",
                builder.name,
                daemon.describe(),
                if seen.iter().any(|(_, c)| c.status != "running") {
                    "; buildx starts a stopped container at the build with the environment it was created with"
                } else {
                    ""
                }
            ));
        }
        if !absent.is_empty() {
            let image = facts
                .image
                .clone()
                .unwrap_or_else(|| crate::workflow::BUILDKIT_DEFAULT_IMAGE.to_string());
            report.verified(format!(
                "buildx builder `{}`: the docker daemon at {} has no container {} (inactive), so buildx creates it when the build boots the builder, pulling the BuildKit image `{image}` then, with the driver options of buildx's store",
                builder.name,
                daemon.describe(),
                absent
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            // The boot happens at the first build after acr-preflight's step on it.
            let booting = found
                .builds
                .iter()
                .filter(|b| b.after_preflight && buildx_build(b))
                .find(|b| matches!(chosen(found, store, b), Chosen::Stored(s, _) if s.name == builder.name));
            if let Some(build) = booting {
                live.boots.push(BaseRef {
                    image: image.clone(),
                    written: image,
                    location: build.location.clone(),
                    step: build.step.clone(),
                    boot: true,
                    stored: Some(builder.name.clone()),
                });
            }
        }
        // Live evidence replaces the store's only when every node's container says it.
        if unknown || !absent.is_empty() || seen.is_empty() {
            continue;
        }
        let mut proxy_env = seen[0].1.proxy_env.clone();
        let mut proxy_loopback: Vec<(String, String)> = Vec::new();
        for (_, c) in &seen {
            proxy_env.retain(|v| c.proxy_env.contains(v));
            for (n, at) in &c.proxy_loopback {
                if !proxy_loopback.iter().any(|(m, _)| m == n) {
                    proxy_loopback.push((n.clone(), at.clone()));
                }
            }
        }
        live.proxies.push((
            builder.name.clone(),
            LiveProxy {
                proxy_env,
                proxy_loopback,
                containers,
            },
        ));
    }
    live
}
