//! Push tools that run from their own container image and read the runner's docker
//! config through a mount (P29): `docker run … gcr.io/kaniko-project/executor
//! --destination …`, `docker run … mplatform/manifest-tool push from-args --target …`,
//! `docker run … mcr.microsoft.com/dotnet/sdk dotnet publish -t:PublishContainer
//! -p:ContainerRegistry=…`. Inside the container such a tool can run only the
//! `docker-credential-*` programs its image carries, whatever the mounted config names.
//!
//! Facts, from the projects' own files:
//! - kaniko's executor image puts `docker-credential-gcr`, `-ecr-login` and `-acr-env`
//!   in `/kaniko` (on its PATH) and sets `DOCKER_CONFIG=/kaniko/.docker/`; the `slim`
//!   image has none (GoogleContainerTools/kaniko `deploy/Dockerfile`).
//! - manifest-tool (v2) reads the docker config with docker/cli's `GetAuthConfig`, so
//!   it runs the helpers the config names (estesp/manifest-tool#210,
//!   `v2/pkg/util/resolver.go`); its default image holds the binary alone
//!   (`hack/Dockerfile.linux`, estesp/manifest-tool#216), its `alpine` image adds
//!   `docker-credential-gcloud`, `-ecr-login` and `-acr-env` (`hack/Dockerfile.alpine`,
//!   estesp/manifest-tool#230). Credentials given with `--username`/`--password` are
//!   used instead of the config.
//! - The .NET SDK's container publishing runs the helpers of `credHelpers`/`credsStore`
//!   found on PATH, and takes `SDK_CONTAINER_REGISTRY_UNAME`/`_PWORD` instead of the
//!   config (dotnet/sdk-container-builds `docs/RegistryAuthentication.md`); inside the
//!   SDK image a host's helper is not there (dotnet/sdk-container-builds#484, #486).
//!
//! Recognised only when certain: the image is one of these, the tool's arguments follow
//! it directly (no `--entrypoint`), and a mount puts a docker config where the tool
//! reads it. Anything else is left alone.

use crate::reference;

/// One argument of a `docker run` command line: its value when it resolved, and its
/// spelling as written.
#[derive(Debug, Clone, Copy)]
pub struct Arg<'a> {
    pub value: Option<&'a str>,
    pub written: &'a str,
}

/// The push tools recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Kaniko,
    ManifestTool,
    DotnetSdk,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kaniko => "kaniko",
            Tool::ManifestTool => "manifest-tool",
            Tool::DotnetSdk => ".NET SDK container publishing",
        }
    }
}

/// A push tool run from its image with a docker config mounted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTool {
    pub tool: Tool,
    /// The image as written.
    pub image: String,
    /// The credential helpers (`docker-credential-<name>`) the image carries.
    pub helpers: &'static [&'static str],
    /// The mount that gives it the docker config, as written (`-v a:b`).
    pub mount: String,
    /// The mount's source on the runner, when it resolved.
    pub mount_source: Option<String>,
    /// Where the tool reads the config inside the container.
    pub config_in_container: String,
    /// The registry hosts it pushes to, each with the argument that names it.
    pub pushes: Vec<(String, String)>,
    /// `manifest-tool push from-spec <file>`: the registry is the spec's `image:`, read
    /// by the check (then `pushes` is empty).
    pub spec: Option<SpecFile>,
}

/// The spec file of `manifest-tool push from-spec`, as the container sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    /// The argument as written.
    pub written: String,
    /// Its path on the runner: relative to the workspace, or absolute; `None` when no
    /// mount maps it to a known place (then the tool is not judged).
    pub on_runner: Option<String>,
}

/// What a tool's arguments say it pushes to.
enum Pushes {
    Targets(Vec<(String, String)>),
    /// The spec file's argument: its value when resolved, and as written.
    Spec(Option<String>, String),
}

const KANIKO_HELPERS: &[&str] = &["gcr", "ecr-login", "acr-env"];
const MANIFEST_TOOL_ALPINE_HELPERS: &[&str] = &["gcloud", "ecr-login", "acr-env"];

/// `docker run`'s options that take a value (docker/cli `cli/command/container/opts.go`).
const RUN_VALUED: &[&str] = &[
    "-a",
    "--attach",
    "--add-host",
    "--annotation",
    "--blkio-weight",
    "--blkio-weight-device",
    "-c",
    "--cpu-shares",
    "--cap-add",
    "--cap-drop",
    "--cgroup-parent",
    "--cgroupns",
    "--cidfile",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-rt-period",
    "--cpu-rt-runtime",
    "--cpus",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--device",
    "--device-cgroup-rule",
    "--device-read-bps",
    "--device-read-iops",
    "--device-write-bps",
    "--device-write-iops",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--domainname",
    "--entrypoint",
    "-e",
    "--env",
    "--env-file",
    "--expose",
    "--gpus",
    "--group-add",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-start-interval",
    "--health-start-period",
    "--health-timeout",
    "-h",
    "--hostname",
    "--ip",
    "--ip6",
    "--ipc",
    "--isolation",
    "--kernel-memory",
    "-l",
    "--label",
    "--label-file",
    "--link",
    "--link-local-ip",
    "--log-driver",
    "--log-opt",
    "--mac-address",
    "-m",
    "--memory",
    "--memory-reservation",
    "--memory-swap",
    "--memory-swappiness",
    "--mount",
    "--name",
    "--network",
    "--net",
    "--network-alias",
    "--oom-score-adj",
    "--pid",
    "--pids-limit",
    "--platform",
    "-p",
    "--publish",
    "--pull",
    "--restart",
    "--runtime",
    "--security-opt",
    "--shm-size",
    "--stop-signal",
    "--stop-timeout",
    "--storage-opt",
    "--sysctl",
    "--tmpfs",
    "--ulimit",
    "-u",
    "--user",
    "--userns",
    "--uts",
    "-v",
    "--volume",
    "--volume-driver",
    "--volumes-from",
    "-w",
    "--workdir",
];

/// A bind mount of `docker run`.
struct Mount {
    written: String,
    /// The source: its value when resolved, else as written.
    source: String,
    resolved: bool,
    target: String,
}

/// What `docker run`'s options say before the image.
#[derive(Default)]
struct RunOptions {
    /// Each bind mount.
    mounts: Vec<Mount>,
    /// `-e NAME[=value]`: the name, and the value when given and resolved.
    env: Vec<(String, Option<String>)>,
    env_file: bool,
    entrypoint: bool,
    user: bool,
    /// `-w`/`--workdir`, when given and resolved.
    workdir: Option<String>,
}

/// The text of an argument: its value when resolved, else as written.
fn text<'a>(arg: &Arg<'a>) -> &'a str {
    arg.value.unwrap_or(arg.written)
}

/// Reads `docker run`'s options; returns them and the index of the image.
fn run_options(args: &[Arg]) -> Option<(RunOptions, usize)> {
    let mut out = RunOptions::default();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].written;
        if !word.starts_with('-') || word == "-" {
            return Some((out, i));
        }
        if word == "--" {
            return (i + 1 < args.len()).then_some((out, i + 1));
        }
        let (name, value, whole, resolved) = match word.split_once('=') {
            Some((n, _)) if word.starts_with("--") => {
                // `--volume=a:b`: the value is the part after `=`.
                let v = text(&args[i]);
                let resolved = args[i].value.is_some();
                (
                    n,
                    v.split_once('=').map(|(_, v)| v),
                    word.to_string(),
                    resolved,
                )
            }
            _ if RUN_VALUED.contains(&word) => {
                let v = args.get(i + 1).map(text);
                let resolved = args.get(i + 1).is_some_and(|a| a.value.is_some());
                let whole = match args.get(i + 1) {
                    Some(a) => format!("{word} {}", a.written),
                    None => word.to_string(),
                };
                i += 1;
                (word, v, whole, resolved)
            }
            _ => (word, None, word.to_string(), false),
        };
        i += 1;
        match name {
            "-v" | "--volume" => {
                let Some(v) = value else { continue };
                let mut parts = v.splitn(3, ':');
                if let (Some(src), Some(dst)) = (parts.next(), parts.next()) {
                    out.mounts.push(Mount {
                        written: whole,
                        source: src.to_string(),
                        resolved,
                        target: dst.to_string(),
                    });
                }
            }
            "--mount" => {
                let Some(v) = value else { continue };
                let field = |keys: &[&str]| {
                    v.split(',').find_map(|kv| {
                        let (k, val) = kv.split_once('=')?;
                        keys.contains(&k.trim()).then(|| val.trim().to_string())
                    })
                };
                let bind = field(&["type"]).is_none_or(|t| t == "bind");
                if let (true, Some(src), Some(dst)) = (
                    bind,
                    field(&["source", "src"]),
                    field(&["target", "destination", "dst"]),
                ) {
                    out.mounts.push(Mount {
                        written: whole,
                        source: src,
                        resolved,
                        target: dst,
                    });
                }
            }
            "-e" | "--env" => {
                let Some(v) = value else { continue };
                match v.split_once('=') {
                    Some((n, val)) => out.env.push((n.to_string(), Some(val.to_string()))),
                    None => out.env.push((v.to_string(), None)),
                }
            }
            "--env-file" => out.env_file = true,
            "--entrypoint" => out.entrypoint = true,
            "-u" | "--user" => out.user = true,
            "-w" | "--workdir" => out.workdir = value.filter(|_| resolved).map(str::to_string),
            _ => {}
        }
    }
    None
}

/// The tool an image reference runs, and the helpers that image carries.
fn tool_of(image: &str) -> Option<(Tool, &'static [&'static str])> {
    let r = reference::parse_normalized(image).ok()?;
    let domain = r.domain.as_deref()?.to_ascii_lowercase();
    let tag = r.tag.as_deref().unwrap_or("latest");
    match (domain.as_str(), r.path.as_str()) {
        ("gcr.io", "kaniko-project/executor") => {
            // A tag names the slim image; a digest alone might be either, so the
            // larger set is assumed (never a finding for a helper it might carry).
            let slim = r.tag.as_deref().is_some_and(|t| t.contains("slim"));
            Some((Tool::Kaniko, if slim { &[] } else { KANIKO_HELPERS }))
        }
        ("docker.io", "mplatform/manifest-tool") => {
            let alpine = tag.starts_with("alpine") || (r.tag.is_none() && r.digest.is_some());
            Some((
                Tool::ManifestTool,
                if alpine {
                    MANIFEST_TOOL_ALPINE_HELPERS
                } else {
                    &[]
                },
            ))
        }
        ("mcr.microsoft.com", "dotnet/sdk") => Some((Tool::DotnetSdk, &[])),
        _ => None,
    }
}

/// Whether a mount's source is a runner's docker config (`$HOME/.docker`,
/// `~/.docker/config.json`, `$DOCKER_CONFIG`, `${{ env.DOCKER_CONFIG }}/config.json`).
fn is_docker_config_source(src: &str) -> bool {
    let s = src.trim_end_matches('/');
    s.contains("DOCKER_CONFIG") || s.ends_with(".docker") || s.ends_with(".docker/config.json")
}

/// Whether a mount's target puts a config where a tool reading `dir` finds it.
fn reaches(dst: &str, dir: &str) -> bool {
    let dst = dst.trim_end_matches('/');
    let dir = dir.trim_end_matches('/');
    dst == dir || dst.strip_suffix("/config.json") == Some(dir)
}

/// Registry host of an image reference value (`myreg.azurecr.io/app:1`).
fn host_of_image(value: &str) -> Option<String> {
    let r = reference::parse_normalized(value.trim()).ok()?;
    Some(reference::login_registry(r.domain.as_deref()?))
}

/// `docker run`'s arguments (after `run`): the push tool it starts, when it is one of
/// those known and reads a mounted docker config with no credential of its own.
pub fn docker_run(args: &[Arg]) -> Option<ContainerTool> {
    let (opts, at) = run_options(args)?;
    if opts.entrypoint {
        return None;
    }
    let image = args.get(at)?;
    let (tool, helpers) = tool_of(image.value?)?;
    let rest = &args[at + 1..];
    let env = |name: &str| opts.env.iter().find(|(n, _)| n == name);
    // Where the tool reads the config inside the container: DOCKER_CONFIG, else the
    // image's own (kaniko) or $HOME/.docker as root.
    let dir = match env("DOCKER_CONFIG") {
        Some((_, Some(dir))) => dir.clone(),
        Some((_, None)) => return None,
        None => match tool {
            Tool::Kaniko => "/kaniko/.docker".to_string(),
            _ if opts.user => return None,
            _ => match env("HOME") {
                Some((_, Some(home))) => format!("{}/.docker", home.trim_end_matches('/')),
                Some((_, None)) => return None,
                None => "/root/.docker".to_string(),
            },
        },
    };
    let mount = opts
        .mounts
        .iter()
        .rev()
        .find(|m| is_docker_config_source(&m.source) && reaches(&m.target, &dir))?;
    let mut spec = None;
    let pushes = match tool {
        Tool::Kaniko => kaniko_pushes(rest)?,
        Tool::ManifestTool => match manifest_tool_pushes(rest)? {
            Pushes::Targets(pushes) => pushes,
            Pushes::Spec(value, written) => {
                let on_runner = value.and_then(|v| spec_on_runner(&v, &opts));
                spec = Some(SpecFile { written, on_runner });
                Vec::new()
            }
        },
        Tool::DotnetSdk => {
            let own = opts.env_file
                || opts.env.iter().any(|(n, _)| {
                    (n.starts_with("SDK_CONTAINER_") || n.starts_with("DOTNET_CONTAINER_"))
                        && (n.ends_with("_UNAME") || n.ends_with("_PWORD"))
                });
            if own {
                return None;
            }
            dotnet_pushes(rest)?
        }
    };
    if pushes.is_empty() && spec.is_none() {
        return None;
    }
    Some(ContainerTool {
        tool,
        image: image.written.to_string(),
        helpers,
        mount: mount.written.clone(),
        mount_source: mount.resolved.then(|| mount.source.clone()),
        config_in_container: format!("{}/config.json", dir.trim_end_matches('/')),
        pushes,
        spec,
    })
}

/// The written forms of the workspace as a mount's source.
const WORKSPACE_FORMS: &[&str] = &[
    "${{ github.workspace }}",
    "${{github.workspace}}",
    "$GITHUB_WORKSPACE",
    "${GITHUB_WORKSPACE}",
];

/// A path in the container mapped back through the bind mount that holds it: relative
/// to the workspace when the mount's source is the workspace as written, absolute when
/// it resolved to one; `None` otherwise (a relative path without `-w`, no mount).
fn spec_on_runner(path: &str, opts: &RunOptions) -> Option<String> {
    let path = path.trim();
    let in_container = if path.starts_with('/') {
        path.to_string()
    } else {
        let dir = opts.workdir.as_deref().filter(|d| d.starts_with('/'))?;
        format!(
            "{}/{}",
            dir.trim_end_matches('/'),
            path.trim_start_matches("./")
        )
    };
    let mount = opts
        .mounts
        .iter()
        .filter_map(|m| {
            let target = m.target.trim_end_matches('/');
            let rest = in_container.strip_prefix(target)?;
            (rest.starts_with('/') && !rest.contains("/../")).then_some((m, target.len(), rest))
        })
        .max_by_key(|(_, len, _)| *len);
    let (m, _, rest) = mount?;
    let source = m.source.trim_matches(|c| c == '"' || c == '\'');
    if let Some(sub) = WORKSPACE_FORMS.iter().find_map(|f| source.strip_prefix(f)) {
        let sub = sub.trim_matches('/');
        let rest = rest.trim_start_matches('/');
        return Some(if sub.is_empty() {
            rest.to_string()
        } else {
            format!("{sub}/{rest}")
        });
    }
    (m.resolved && source.starts_with('/'))
        .then(|| format!("{}{rest}", source.trim_end_matches('/')))
}

/// Values of a flag spelled `--name v`, `--name=v`, or with its short form `-d v`,
/// `-d=v`, `-dv`: (value, the argument as written).
fn flag_values(args: &[Arg], long: &str, short: Option<&str>) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let w = a.written;
        i += 1;
        if w == long || Some(w) == short {
            if let Some(next) = args.get(i) {
                out.push((
                    next.value.map(str::to_string),
                    format!("{w} {}", next.written),
                ));
                i += 1;
            }
            continue;
        }
        let attached = [
            Some(format!("{long}=")),
            short.map(|s| format!("{s}=")),
            short.map(str::to_string),
        ]
        .into_iter()
        .flatten()
        .find(|p| w.starts_with(p.as_str()) && w.len() > p.len());
        if let Some(p) = attached {
            let value = a
                .value
                .and_then(|v| v.strip_prefix(p.as_str()))
                .map(str::to_string);
            out.push((value, w.to_string()));
        }
    }
    out
}

/// Resolved destinations to hosts; `None` when one does not resolve (then what the
/// tool pushes to is not known, and nothing is claimed).
fn hosts(values: Vec<(Option<String>, String)>) -> Option<Vec<(String, String)>> {
    values
        .into_iter()
        .map(|(v, written)| Some((host_of_image(&v?)?, written)))
        .collect()
}

fn kaniko_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    if args
        .iter()
        .any(|a| a.written == "--no-push" || a.written == "--no-push=true")
    {
        return Some(Vec::new());
    }
    hosts(flag_values(args, "--destination", Some("-d")))
}

fn manifest_tool_pushes(args: &[Arg]) -> Option<Pushes> {
    let push = args.iter().position(|a| a.written == "push")?;
    // Global options before `push`: credentials given on the command line are used
    // instead of the config; another config file is not what was mounted.
    let global = &args[..push];
    if global.iter().any(|a| {
        ["--username", "--password", "--docker-cfg"]
            .iter()
            .any(|f| a.written == *f || a.written.starts_with(&format!("{f}=")))
    }) {
        return None;
    }
    match args.get(push + 1)?.written {
        "from-args" => hosts(flag_values(&args[push + 2..], "--target", None)).map(Pushes::Targets),
        "from-spec" => {
            // The spec file: the first argument after `from-spec` that is not an option
            // (`--ignore-missing` is its only one, a switch).
            let file = args[push + 2..]
                .iter()
                .find(|a| !a.written.starts_with('-'))?;
            Some(Pushes::Spec(
                file.value.map(str::to_string),
                file.written.to_string(),
            ))
        }
        _ => None,
    }
}

/// The rest of `word` after one of `prefixes` (MSBuild switches are case-insensitive).
fn after_switch<'w>(word: &'w str, prefixes: &[&str]) -> Option<&'w str> {
    prefixes.iter().find_map(|p| {
        word.get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .and_then(|_| word.get(p.len()..))
    })
}

const PROPERTY_SWITCHES: &[&str] = &["-p:", "/p:", "--property:", "-property:", "/property:"];
const TARGET_SWITCHES: &[&str] = &["-t:", "/t:", "--target:", "-target:", "/target:"];

/// `dotnet publish` with the container target and `ContainerRegistry`.
fn dotnet_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    if args.first()?.written != "dotnet" || args.get(1)?.written != "publish" {
        return None;
    }
    let mut registry = None;
    let mut container = false;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let t = text(a);
        let property = match after_switch(t, PROPERTY_SWITCHES) {
            Some(p) => Some((p.to_string(), a.written.to_string(), a.value.is_some())),
            None if matches!(a.written, "-p" | "--property") => {
                i += 1;
                args.get(i).map(|n| {
                    (
                        text(n).to_string(),
                        format!("{} {}", a.written, n.written),
                        n.value.is_some(),
                    )
                })
            }
            None => None,
        };
        if let Some(targets) = after_switch(t, TARGET_SWITCHES) {
            container |= targets
                .split([';', ','])
                .any(|x| x.trim().eq_ignore_ascii_case("PublishContainer"));
        }
        if let Some((p, written, resolved)) = property {
            for assignment in p.split(';') {
                let Some((name, value)) = assignment.split_once('=') else {
                    continue;
                };
                let name = name.trim();
                if name.eq_ignore_ascii_case("ContainerRegistry") {
                    registry = Some((resolved.then(|| value.trim().to_string()), written.clone()));
                } else if name.eq_ignore_ascii_case("PublishProfile")
                    && value.trim().eq_ignore_ascii_case("DefaultContainer")
                {
                    container = true;
                }
            }
        }
        i += 1;
    }
    if !container {
        return None;
    }
    let (value, written) = registry?;
    let host = value.filter(|v| !v.is_empty()).map(|v| {
        let v = v.to_ascii_lowercase();
        let v = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"))
            .unwrap_or(&v)
            .to_string();
        reference::login_registry(v.split('/').next().unwrap_or(""))
    })?;
    Some(vec![(host, written)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<ContainerTool> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let args: Vec<Arg> = words
            .iter()
            .map(|w| Arg {
                value: (!w.contains('$')).then_some(*w),
                written: w,
            })
            .collect();
        docker_run(&args)
    }

    #[test]
    fn kaniko_with_the_runner_config_mounted_is_recognised() {
        let t = parse(
            "--rm -v $HOME/.docker/config.json:/kaniko/.docker/config.json:ro -v /w:/workspace gcr.io/kaniko-project/executor:v1.23.2 --context dir:///workspace --destination=myreg.azurecr.io/app:1 -d ghcr.io/o/app:1",
        )
        .unwrap();
        assert_eq!(t.tool, Tool::Kaniko);
        assert_eq!(t.helpers, KANIKO_HELPERS);
        assert_eq!(
            t.mount,
            "-v $HOME/.docker/config.json:/kaniko/.docker/config.json:ro"
        );
        assert_eq!(
            t.pushes,
            vec![
                (
                    "myreg.azurecr.io".to_string(),
                    "--destination=myreg.azurecr.io/app:1".to_string()
                ),
                ("ghcr.io".to_string(), "-d ghcr.io/o/app:1".to_string()),
            ]
        );
        assert_eq!(t.config_in_container, "/kaniko/.docker/config.json");
    }

    #[test]
    fn the_slim_kaniko_image_carries_no_helper() {
        let t = parse("-v ~/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:v1.23.2-slim -d myreg.azurecr.io/a:1").unwrap();
        assert!(t.helpers.is_empty());
    }

    #[test]
    fn without_the_config_mounted_or_with_another_entrypoint_nothing_is_claimed() {
        for line in [
            "-v /w:/workspace gcr.io/kaniko-project/executor:v1 -d myreg.azurecr.io/a:1",
            "-v ~/.docker:/root/.docker gcr.io/kaniko-project/executor:v1 -d myreg.azurecr.io/a:1",
            "--entrypoint sh -v ~/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:debug -c x",
            "-v ~/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:v1 -d $IMAGE",
            "-v ~/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:v1 -d myreg.azurecr.io/a:1 --no-push",
            "-v ~/.docker:/kaniko/.docker busybox -d myreg.azurecr.io/a:1",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    #[test]
    fn kaniko_reads_the_config_where_docker_config_points() {
        let t = parse("-e DOCKER_CONFIG=/cfg --mount type=bind,source=$DOCKER_CONFIG,target=/cfg gcr.io/kaniko-project/executor -d myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.config_in_container, "/cfg/config.json");
    }

    #[test]
    fn manifest_tool_images_and_their_own_credentials() {
        let t = parse("-v $HOME/.docker:/root/.docker mplatform/manifest-tool:v2.1.6 push from-args --platforms linux/amd64 --template myreg.azurecr.io/a:1-ARCH --target myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.tool, Tool::ManifestTool);
        assert!(t.helpers.is_empty());
        assert_eq!(t.pushes[0].0, "myreg.azurecr.io");
        let alpine = parse("-v $HOME/.docker:/root/.docker mplatform/manifest-tool:alpine-v2.1.6 push from-args --target=myreg.azurecr.io/a:1").unwrap();
        assert_eq!(alpine.helpers, MANIFEST_TOOL_ALPINE_HELPERS);
        assert_eq!(
            parse(
                "-v $HOME/.docker:/root/.docker mplatform/manifest-tool --username u --password p push from-args --target myreg.azurecr.io/a:1"
            ),
            None
        );
    }

    #[test]
    fn dotnet_publish_in_the_sdk_image() {
        let t = parse("--rm -v $HOME/.docker:/root/.docker -v /w:/src -w /src mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish -c Release /t:PublishContainer -p:ContainerRegistry=MyReg.azurecr.io").unwrap();
        assert_eq!(t.tool, Tool::DotnetSdk);
        assert_eq!(
            t.pushes,
            vec![(
                "myreg.azurecr.io".to_string(),
                "-p:ContainerRegistry=MyReg.azurecr.io".to_string()
            )]
        );
        let profile = parse("-v ~/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:9.0 dotnet publish -p PublishProfile=DefaultContainer -p ContainerRegistry=myreg.azurecr.io").unwrap();
        assert_eq!(profile.pushes[0].0, "myreg.azurecr.io");
        for line in [
            // Its own credential.
            "-e SDK_CONTAINER_REGISTRY_UNAME -e SDK_CONTAINER_REGISTRY_PWORD -v ~/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish /t:PublishContainer -p:ContainerRegistry=myreg.azurecr.io",
            // No push: the image goes to the local daemon.
            "-v ~/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish /t:PublishContainer",
            // Not the container target.
            "-v ~/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish -p:ContainerRegistry=myreg.azurecr.io",
            // Another user: where it reads the config is not known.
            "-u 1001 -v ~/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish /t:PublishContainer -p:ContainerRegistry=myreg.azurecr.io",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    #[test]
    fn manifest_tool_from_spec_maps_the_file_through_its_mount() {
        let spec = |line: &str| parse(line).and_then(|t| t.spec);
        let ws = "-v $HOME/.docker:/root/.docker -v ${{github.workspace}}:/src mplatform/manifest-tool:v2.1.6 push from-spec";
        assert_eq!(
            spec(&format!("{ws} /src/ci/spec.yml")),
            Some(SpecFile {
                written: "/src/ci/spec.yml".to_string(),
                on_runner: Some("ci/spec.yml".to_string()),
            })
        );
        // Relative to `-w`; an absolute source that resolved; the longest target wins.
        let t = parse("-w /src -v /opt/specs:/src/specs -v $GITHUB_WORKSPACE/app:/src -v ~/.docker:/root/.docker mplatform/manifest-tool push from-spec --ignore-missing specs/m.yml").unwrap();
        assert!(t.pushes.is_empty());
        assert_eq!(
            t.spec.unwrap().on_runner.as_deref(),
            Some("/opt/specs/m.yml")
        );
        assert_eq!(
            spec(&format!(
                "-w /src {} m.yml",
                ws.replacen(
                    "-v ${{github.workspace}}:/src",
                    "-v $GITHUB_WORKSPACE/app:/src",
                    1
                )
            )),
            Some(SpecFile {
                written: "m.yml".to_string(),
                on_runner: Some("app/m.yml".to_string()),
            })
        );
        // Not mapped: relative without `-w`, outside every mount, a source not known.
        for line in [
            format!("{ws} spec.yml"),
            format!("{ws} /etc/spec.yml"),
            "-v ~/.docker:/root/.docker -v $PWD:/src mplatform/manifest-tool push from-spec /src/spec.yml".to_string(),
        ] {
            assert_eq!(spec(&line).map(|s| s.on_runner), Some(None), "{line}");
        }
    }
}
