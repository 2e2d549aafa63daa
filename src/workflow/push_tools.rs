//! Push tools that run from their own container image and read the runner's docker
//! config through a mount (P29): `docker run … gcr.io/kaniko-project/executor
//! --destination …`, `docker run … mplatform/manifest-tool push from-args --target …`,
//! `docker run … mcr.microsoft.com/dotnet/sdk dotnet publish -t:PublishContainer
//! -p:ContainerRegistry=…`, `docker run … gcr.io/go-containerregistry/crane copy … <ref>`,
//! `docker run … ghcr.io/oras-project/oras push <ref> …`, `docker run …
//! quay.io/skopeo/stable copy … docker://<ref>`, `docker run … regclient/regctl image
//! copy … <ref>`. Inside the container such a tool can run only the
//! `docker-credential-*` programs its image carries, whatever the mounted config names.
//!
//! What each image is, where its tool reads the config and which helpers it carries is
//! the table [`IMAGES`], each row with its public source. How each tool reads the
//! config, from the projects' own files:
//! - manifest-tool (v2) reads the docker config with docker/cli's `GetAuthConfig`, so
//!   it runs the helpers the config names (estesp/manifest-tool#210,
//!   `v2/pkg/util/resolver.go`). Credentials given with `--username`/`--password` are
//!   used instead of the config.
//! - The .NET SDK's container publishing runs the helpers of `credHelpers`/`credsStore`
//!   found on PATH, and takes `SDK_CONTAINER_REGISTRY_UNAME`/`_PWORD` instead of the
//!   config (dotnet/sdk-container-builds `docs/RegistryAuthentication.md`); inside the
//!   SDK image a host's helper is not there (dotnet/sdk-container-builds#484, #486).
//! - crane's default keychain loads `$DOCKER_CONFIG`, else `$HOME/.docker`, with
//!   docker/cli's `config.Load` and `GetAuthConfig`, which runs the `credsStore` and
//!   `credHelpers` helpers (google/go-containerregistry `pkg/authn/keychain.go`).
//! - oras reads `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`, unless
//!   given `--registry-config`, and runs the `credsStore`/`credHelpers` helpers as
//!   `docker-credential-<name>` from PATH (oras-project/oras
//!   `internal/credential/store.go`, oras-go `credentials.NewStoreFromDocker`).
//! - skopeo (containers/image) reads only the file `--authfile` or `REGISTRY_AUTH_FILE`
//!   names when one is named, else `auth.json` files and then the docker config; in
//!   each it runs `credHelpers` helpers and never reads `credsStore`
//!   (containers/skopeo `cmd/skopeo/utils.go`, containers/image
//!   `pkg/docker/config/config.go` `getAuthFilePaths`, `findCredentialsInFile`).
//! - regctl reads `$DOCKER_CONFIG`, else `$HOME/.docker`, and runs both `credsStore`
//!   and `credHelpers` helpers; `DOCKER_AUTH_CONFIG`, its own `~/.regctl/config.json`
//!   (`REGCTL_CONFIG`) and `--host …,user=…,pass=…` add credentials of their own
//!   (regclient/regclient `config/docker.go`, `cmd/regctl/root.go`).
//!
//! Recognised only when certain: the image is one of these, the tool's arguments follow
//! it directly (no `--entrypoint`), each option before the push target is one the tool
//! is known to have, and a mount puts a docker config where the tool reads it. Anything
//! else is left alone. podman and buildah (`quay.io/podman/stable`,
//! `quay.io/buildah/stable`) are not recognised: they push an image from their own
//! storage inside the container, built there first, which one `docker run` with the
//! tool's arguments does not show.

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
    Crane,
    Oras,
    Skopeo,
    Regctl,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kaniko => "kaniko",
            Tool::ManifestTool => "manifest-tool",
            Tool::DotnetSdk => ".NET SDK container publishing",
            Tool::Crane => "crane",
            Tool::Oras => "oras",
            Tool::Skopeo => "skopeo",
            Tool::Regctl => "regctl",
        }
    }

    /// Whether it runs the `credsStore` helper: skopeo's containers/image reads only
    /// `credHelpers` and `auths` (`pkg/docker/config/config.go`).
    pub fn reads_creds_store(self) -> bool {
        self != Tool::Skopeo
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
const REGCTL_ALPINE_HELPERS: &[&str] = &["ecr-login", "gcr"];

/// Which tags of an image a row describes.
#[derive(Debug, Clone, Copy)]
enum Tags {
    Any,
    /// The tag contains this text.
    Containing(&'static str),
    /// The tag (`latest` when none) starts with this text.
    StartingWith(&'static str),
    /// A digest with no tag: which variant it is cannot be told.
    DigestOnly,
}

/// Where a tool reads the docker config when `docker run` sets neither
/// `DOCKER_CONFIG` nor `HOME`.
#[derive(Debug, Clone, Copy)]
enum Reads {
    /// The image sets `DOCKER_CONFIG` to this folder (then `--user` does not matter).
    ConfigDir(&'static str),
    /// `$HOME/.docker`, `HOME` being this folder for the image's user.
    Home(&'static str),
    /// The file the image names in `REGISTRY_AUTH_FILE`, and only that file.
    AuthFile(&'static str),
}

/// One image of a push tool.
struct Image {
    tool: Tool,
    /// Domain and path, normalised (`docker.io/regclient/regctl`).
    name: &'static str,
    tags: Tags,
    /// The credential helpers (`docker-credential-<name>`) the image carries.
    helpers: &'static [&'static str],
    reads: Reads,
    /// The program the arguments start with, when the image has a `CMD` and no
    /// `ENTRYPOINT` (then it is the first argument after the image).
    program: Option<&'static str>,
    /// Variables that give the tool a credential of its own, or another config.
    own_env: &'static [&'static str],
}

/// A row with no program and no variables of the tool's own.
const fn image(
    tool: Tool,
    name: &'static str,
    tags: Tags,
    helpers: &'static [&'static str],
    reads: Reads,
) -> Image {
    Image {
        tool,
        name,
        tags,
        helpers,
        reads,
        program: None,
        own_env: &[],
    }
}

/// The push tools' images, the first matching row wins. Each row's facts are from
/// the public file its comment names.
const IMAGES: &[Image] = &[
    // kaniko's executor image carries docker-credential-gcr, -ecr-login and -acr-env in
    // /kaniko (on its PATH) and sets DOCKER_CONFIG=/kaniko/.docker/; the slim image
    // carries none (GoogleContainerTools/kaniko `deploy/Dockerfile`). A digest alone
    // might be either: the larger set is assumed (never a finding for a helper it might
    // carry).
    image(
        Tool::Kaniko,
        "gcr.io/kaniko-project/executor",
        Tags::Containing("slim"),
        &[],
        Reads::ConfigDir("/kaniko/.docker"),
    ),
    image(
        Tool::Kaniko,
        "gcr.io/kaniko-project/executor",
        Tags::Any,
        KANIKO_HELPERS,
        Reads::ConfigDir("/kaniko/.docker"),
    ),
    // manifest-tool's default image holds the binary alone (`hack/Dockerfile.linux`,
    // estesp/manifest-tool#216), its alpine image adds docker-credential-gcloud,
    // -ecr-login and -acr-env (`hack/Dockerfile.alpine`, estesp/manifest-tool#230);
    // both run as root. A digest alone counts as the alpine one.
    image(
        Tool::ManifestTool,
        "docker.io/mplatform/manifest-tool",
        Tags::StartingWith("alpine"),
        MANIFEST_TOOL_ALPINE_HELPERS,
        Reads::Home("/root"),
    ),
    image(
        Tool::ManifestTool,
        "docker.io/mplatform/manifest-tool",
        Tags::DigestOnly,
        MANIFEST_TOOL_ALPINE_HELPERS,
        Reads::Home("/root"),
    ),
    image(
        Tool::ManifestTool,
        "docker.io/mplatform/manifest-tool",
        Tags::Any,
        &[],
        Reads::Home("/root"),
    ),
    // The .NET SDK image runs as root and carries no credential helper
    // (dotnet/sdk-container-builds#484, #486).
    image(
        Tool::DotnetSdk,
        "mcr.microsoft.com/dotnet/sdk",
        Tags::Any,
        &[],
        Reads::Home("/root"),
    ),
    // crane's images are built with ko (google/go-containerregistry `cloudbuild.yaml`):
    // the debug ones (tag `debug`, and the `crane/debug` repository) on
    // gcr.io/distroless/base:debug, which runs as root (`.ko/debug/.ko.yaml`); the others
    // on ko's default base cgr.dev/chainguard/static (https://ko.build/configuration),
    // whose one user is `nonroot` (uid 65532, home /home/nonroot). Neither carries a
    // docker-credential-* program.
    image(
        Tool::Crane,
        "gcr.io/go-containerregistry/crane",
        Tags::Containing("debug"),
        &[],
        Reads::Home("/root"),
    ),
    image(
        Tool::Crane,
        "gcr.io/go-containerregistry/crane/debug",
        Tags::Any,
        &[],
        Reads::Home("/root"),
    ),
    image(
        Tool::Crane,
        "gcr.io/go-containerregistry/crane",
        Tags::Any,
        &[],
        Reads::Home("/home/nonroot"),
    ),
    // oras's image is alpine with ca-certificates and /bin/oras as its entrypoint, run
    // as root (oras-project/oras `Dockerfile`).
    image(
        Tool::Oras,
        "ghcr.io/oras-project/oras",
        Tags::Any,
        &[],
        Reads::Home("/root"),
    ),
    // skopeo's images (stable, testing, upstream: one Containerfile) are Fedora with
    // skopeo and fuse-overlayfs installed, `ENV REGISTRY_AUTH_FILE=/tmp/auth.json` and
    // /usr/bin/skopeo as the entrypoint (containers/image_build `skopeo/Containerfile`).
    image(
        Tool::Skopeo,
        "quay.io/skopeo/stable",
        Tags::Any,
        &[],
        Reads::AuthFile("/tmp/auth.json"),
    ),
    image(
        Tool::Skopeo,
        "quay.io/skopeo/testing",
        Tags::Any,
        &[],
        Reads::AuthFile("/tmp/auth.json"),
    ),
    image(
        Tool::Skopeo,
        "quay.io/skopeo/upstream",
        Tags::Any,
        &[],
        Reads::AuthFile("/tmp/auth.json"),
    ),
    // regctl's images run as `appuser` (home /home/appuser): the default one is
    // scratch with /regctl as its entrypoint, the alpine one carries
    // docker-credential-ecr-login and -gcr and has only a CMD (regclient/regclient
    // `build/Dockerfile.regctl`).
    Image {
        program: Some("regctl"),
        own_env: REGCTL_OWN_ENV,
        ..image(
            Tool::Regctl,
            "docker.io/regclient/regctl",
            Tags::Containing("alpine"),
            REGCTL_ALPINE_HELPERS,
            Reads::Home("/home/appuser"),
        )
    },
    Image {
        program: Some("regctl"),
        own_env: REGCTL_OWN_ENV,
        ..image(
            Tool::Regctl,
            "ghcr.io/regclient/regctl",
            Tags::Containing("alpine"),
            REGCTL_ALPINE_HELPERS,
            Reads::Home("/home/appuser"),
        )
    },
    Image {
        own_env: REGCTL_OWN_ENV,
        ..image(
            Tool::Regctl,
            "docker.io/regclient/regctl",
            Tags::Any,
            &[],
            Reads::Home("/home/appuser"),
        )
    },
    Image {
        own_env: REGCTL_OWN_ENV,
        ..image(
            Tool::Regctl,
            "ghcr.io/regclient/regctl",
            Tags::Any,
            &[],
            Reads::Home("/home/appuser"),
        )
    },
];

/// regctl's variables for a credential of its own: an inline docker config, and its
/// own config file (regclient/regclient `config/docker.go`, `cmd/regctl/config.go`).
const REGCTL_OWN_ENV: &[&str] = &["DOCKER_AUTH_CONFIG", "REGCTL_CONFIG"];

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

/// The row of [`IMAGES`] an image reference runs.
fn image_of(image: &str) -> Option<&'static Image> {
    let r = reference::parse_normalized(image).ok()?;
    let name = format!("{}/{}", r.domain.as_deref()?.to_ascii_lowercase(), r.path);
    let tag = r.tag.as_deref();
    IMAGES.iter().find(|row| {
        row.name == name
            && match row.tags {
                Tags::Any => true,
                Tags::Containing(t) => tag.is_some_and(|tag| tag.contains(t)),
                Tags::StartingWith(t) => tag.unwrap_or("latest").starts_with(t),
                Tags::DigestOnly => tag.is_none() && r.digest.is_some(),
            }
    })
}

/// Whether a mount's source is a runner's docker config (`$HOME/.docker`,
/// `~/.docker/config.json`, `$DOCKER_CONFIG`, `${{ env.DOCKER_CONFIG }}/config.json`).
fn is_docker_config_source(src: &str) -> bool {
    let s = src.trim_end_matches('/');
    s.contains("DOCKER_CONFIG") || s.ends_with(".docker") || s.ends_with(".docker/config.json")
}

/// Whether a mount's target puts a config where a tool reading the file `file` finds
/// it: the file itself, or the folder of a `config.json`.
fn reaches(dst: &str, file: &str) -> bool {
    let dst = dst.trim_end_matches('/');
    dst == file
        || file
            .strip_suffix("/config.json")
            .is_some_and(|dir| dir.trim_end_matches('/') == dst)
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
    let row = image_of(image.value?)?;
    let mut rest = &args[at + 1..];
    if let Some(program) = row.program {
        if rest.first()?.written != program {
            return None;
        }
        rest = &rest[1..];
    }
    let env = |name: &str| opts.env.iter().find(|(n, _)| n == name);
    if row.own_env.iter().any(|v| env(v).is_some()) {
        return None;
    }
    // The file the tool reads inside the container.
    let file = match row.reads {
        Reads::AuthFile(default) => match skopeo_auth_file(rest)? {
            Some(file) => file,
            None => match env("REGISTRY_AUTH_FILE") {
                Some((_, Some(file))) if file.starts_with('/') => file.clone(),
                Some(_) => return None,
                None => default.to_string(),
            },
        },
        Reads::ConfigDir(dir) | Reads::Home(dir) => {
            let dir = match (env("DOCKER_CONFIG"), row.reads) {
                (Some((_, Some(dir))), _) => dir.clone(),
                (Some((_, None)), _) => return None,
                (None, Reads::ConfigDir(dir)) => dir.to_string(),
                (None, _) if opts.user => return None,
                (None, _) => match env("HOME") {
                    Some((_, Some(home))) => format!("{}/.docker", home.trim_end_matches('/')),
                    Some((_, None)) => return None,
                    None => format!("{dir}/.docker"),
                },
            };
            format!("{}/config.json", dir.trim_end_matches('/'))
        }
    };
    if row.tool == Tool::Regctl
        && opts
            .mounts
            .iter()
            .any(|m| m.target.trim_end_matches('/').ends_with("/.regctl"))
    {
        // Its own config mounted in: it may hold a credential of its own.
        return None;
    }
    let mount = opts
        .mounts
        .iter()
        .rev()
        .find(|m| is_docker_config_source(&m.source) && reaches(&m.target, &file))?;
    let mut spec = None;
    let pushes = match row.tool {
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
        Tool::Crane => crane_pushes(rest)?,
        Tool::Oras => oras_pushes(rest)?,
        Tool::Skopeo => skopeo_pushes(rest)?,
        Tool::Regctl => {
            if opts.env_file {
                return None;
            }
            regctl_pushes(rest)?
        }
    };
    if pushes.is_empty() && spec.is_none() {
        return None;
    }
    Some(ContainerTool {
        tool: row.tool,
        image: image.written.to_string(),
        helpers: row.helpers,
        mount: mount.written.clone(),
        mount_source: mount.resolved.then(|| mount.source.clone()),
        config_in_container: file,
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

/// The options of one command line: those that take a value (the next argument,
/// unless written `--name=value`) and switches.
struct Options {
    valued: &'static [&'static str],
    switches: &'static [&'static str],
    /// Options that give the tool a credential or a config of its own, or push nowhere:
    /// the command is then not judged.
    not_judged: &'static [&'static str],
}

/// The positional arguments of a command line; `None` when an option is not one of
/// `options` (then which argument is which cannot be told) or is one not judged.
fn positionals<'a, 'b>(args: &'b [Arg<'a>], options: &Options) -> Option<Vec<&'b Arg<'a>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let w = a.written;
        if w == "--" {
            out.extend(&args[i..]);
            break;
        }
        if !w.starts_with('-') || w == "-" {
            out.push(a);
            continue;
        }
        let name = w.split_once('=').map_or(w, |(n, _)| n);
        if options.not_judged.contains(&name) {
            return None;
        }
        if options.valued.contains(&name) {
            if !w.contains('=') {
                i += 1;
            }
        } else if !options.switches.contains(&name) {
            return None;
        }
    }
    Some(out)
}

/// The host of a positional argument naming an image, with the argument as written.
fn host_at(args: &[&Arg], at: usize) -> Option<Vec<(String, String)>> {
    let a = args.get(at)?;
    Some(vec![(host_of_image(a.value?)?, a.written.to_string())])
}

/// crane's global options and those of `push`, `copy` and `tag`
/// (google/go-containerregistry `cmd/crane/cmd/root.go`, `push.go`, `copy.go`).
const CRANE_OPTIONS: Options = Options {
    valued: &["--platform", "--image-refs", "-j", "--jobs"],
    switches: &[
        "-v",
        "--verbose",
        "--insecure",
        "--allow-nondistributable-artifacts",
        "--index",
        "-a",
        "--all-tags",
        "-n",
        "--no-clobber",
    ],
    not_judged: &[],
};

/// `crane push PATH IMAGE`, `crane copy|cp SRC DST`, `crane tag IMG TAG` (which
/// pushes to IMG's repository).
fn crane_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    let p = positionals(args, &CRANE_OPTIONS)?;
    match (p.first()?.written, p.len()) {
        ("push" | "copy" | "cp", 3) => host_at(&p, 2),
        ("tag", 3) => host_at(&p, 1),
        _ => None,
    }
}

/// `oras push`'s options (oras-project/oras `cmd/oras/root/push.go` and the
/// `cmd/oras/internal/option` files it applies). Not judged: a credential on the
/// command line, another config (`--registry-config`), a local OCI layout.
const ORAS_PUSH_OPTIONS: Options = Options {
    valued: &[
        "--config",
        "--artifact-type",
        "--concurrency",
        "-a",
        "--annotation",
        "--annotation-file",
        "--export-manifest",
        "--artifact-platform",
        "--platform",
        "--format",
        "--template",
        "--resolve",
        "-H",
        "--header",
        "--ca-file",
        "--cert-file",
        "--key-file",
        "--distribution-spec",
        "--image-spec",
    ],
    switches: &[
        "--force",
        "-v",
        "--verbose",
        "-d",
        "--debug",
        "--descriptor",
        "--disable-path-validation",
        "--pretty",
        "--no-tty",
        "--insecure",
        "--plain-http",
    ],
    not_judged: &[
        "-u",
        "--username",
        "-p",
        "--password",
        "--password-stdin",
        "--identity-token",
        "--identity-token-stdin",
        "--registry-config",
        "--oci-layout",
        "--oci-layout-path",
    ],
};

/// `oras push <ref>[,<tag>…] <file>…`.
fn oras_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    let p = positionals(args, &ORAS_PUSH_OPTIONS)?;
    if p.first()?.written != "push" {
        return None;
    }
    let target = p.get(1)?;
    // Extra tags after a comma are on the same repository.
    let value = target.value?.split(',').next()?;
    Some(vec![(host_of_image(value)?, target.written.to_string())])
}

/// skopeo's transports (containers/image `transports/alltransports`).
const SKOPEO_TRANSPORTS: &[&str] = &[
    "docker://",
    "docker-archive:",
    "docker-daemon:",
    "oci:",
    "oci-archive:",
    "dir:",
    "containers-storage:",
    "ostree:",
    "sif:",
];

/// skopeo options that give the destination a credential of its own, or none
/// (containers/skopeo `cmd/skopeo/utils.go`).
const SKOPEO_OWN_CREDENTIAL: &[&str] = &[
    "--creds",
    "--dest-creds",
    "--dest-username",
    "--dest-password",
    "--dest-registry-token",
    "--dest-no-creds",
];

/// `skopeo copy … SRC docker://DST`: the two arguments naming a transport, the second
/// one a registry.
fn skopeo_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    let copy = args.iter().position(|a| a.written == "copy")?;
    let after = &args[copy + 1..];
    if after.iter().any(|a| {
        let name = a.written.split_once('=').map_or(a.written, |(n, _)| n);
        SKOPEO_OWN_CREDENTIAL.contains(&name)
    }) {
        return None;
    }
    let images: Vec<&Arg> = after
        .iter()
        .filter(|a| SKOPEO_TRANSPORTS.iter().any(|t| text(a).starts_with(t)))
        .collect();
    let [_, dst] = images.as_slice() else {
        return None;
    };
    let value = dst.value?.strip_prefix("docker://")?;
    Some(vec![(host_of_image(value)?, dst.written.to_string())])
}

/// The auth file `skopeo copy` is given (`--dest-authfile`, else `--authfile`):
/// `Some(None)` when none is, `None` when one is and its value is not known.
fn skopeo_auth_file(args: &[Arg]) -> Option<Option<String>> {
    for flag in ["--dest-authfile", "--authfile"] {
        if let Some((value, _)) = flag_values(args, flag, None).pop() {
            return Some(Some(value.filter(|v| v.starts_with('/'))?));
        }
    }
    Some(None)
}

/// regctl's global options and those of `image copy` (regclient/regclient
/// `cmd/regctl/root.go`, `cmd/regctl/image.go`); `--host …,user=…,pass=…` gives a
/// credential of its own.
const REGCTL_COPY_OPTIONS: Options = Options {
    valued: &[
        "-v",
        "--verbosity",
        "--logopt",
        "--user-agent",
        "--format",
        "-p",
        "--platform",
        "--platforms",
        "--referrers-src",
        "--referrers-tgt",
    ],
    switches: &[
        "--digest-tags",
        "--fast",
        "--force-recursive",
        "--include-external",
        "--referrers",
    ],
    not_judged: &["--host"],
};

/// `regctl image copy|cp SRC DST`.
fn regctl_pushes(args: &[Arg]) -> Option<Vec<(String, String)>> {
    let p = positionals(args, &REGCTL_COPY_OPTIONS)?;
    match (p.first()?.written, p.get(1)?.written, p.len()) {
        ("image", "copy" | "cp", 4) => host_at(&p, 3),
        _ => None,
    }
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

    fn assert_not_claimed(lines: &[&str]) {
        for line in lines {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    fn one_push(host: &str, written: &str) -> Vec<(String, String)> {
        vec![(host.to_string(), written.to_string())]
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

    #[test]
    fn crane_reads_the_home_of_its_image_user() {
        let t = parse("--rm -v $HOME/.docker:/home/nonroot/.docker gcr.io/go-containerregistry/crane:v0.20.2 copy ghcr.io/o/a:1 myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.tool, Tool::Crane);
        assert!(t.helpers.is_empty());
        assert_eq!(t.config_in_container, "/home/nonroot/.docker/config.json");
        assert_eq!(
            t.pushes,
            one_push("myreg.azurecr.io", "myreg.azurecr.io/a:1")
        );
        let debug = parse("-v ~/.docker:/root/.docker gcr.io/go-containerregistry/crane:debug --platform linux/amd64 push -v --index img.tar myreg.azurecr.io/a:1").unwrap();
        assert_eq!(debug.pushes[0].0, "myreg.azurecr.io");
        let tag = parse("-v ~/.docker:/root/.docker gcr.io/go-containerregistry/crane/debug:v0.20.2 tag myreg.azurecr.io/a:1 v2").unwrap();
        assert_eq!(tag.pushes[0].1, "myreg.azurecr.io/a:1");
        assert_not_claimed(&[
            // The default image runs as nonroot: /root/.docker is not read.
            "-v ~/.docker:/root/.docker gcr.io/go-containerregistry/crane copy a myreg.azurecr.io/a:1",
            // An option crane's copy does not have: which argument is which is not known.
            "-v ~/.docker:/home/nonroot/.docker gcr.io/go-containerregistry/crane copy --mystery x a myreg.azurecr.io/a:1",
            // Not a push.
            "-v ~/.docker:/home/nonroot/.docker gcr.io/go-containerregistry/crane digest myreg.azurecr.io/a:1",
        ]);
    }

    #[test]
    fn oras_push_names_its_target_first() {
        let t = parse("--rm -v $HOME/.docker:/root/.docker -v /w:/workspace ghcr.io/oras-project/oras:v1.2.0 push --artifact-type application/vnd.x myreg.azurecr.io/art:1,latest a.txt:text/plain").unwrap();
        assert_eq!(t.tool, Tool::Oras);
        assert_eq!(
            t.pushes,
            one_push("myreg.azurecr.io", "myreg.azurecr.io/art:1,latest")
        );
        assert_not_claimed(&[
            "-v ~/.docker:/root/.docker ghcr.io/oras-project/oras:v1.2.0 push -u u -p p myreg.azurecr.io/art:1 a.txt",
            "-v ~/.docker:/root/.docker ghcr.io/oras-project/oras:v1.2.0 push --registry-config /cfg.json myreg.azurecr.io/art:1 a.txt",
            "-v ~/.docker:/root/.docker ghcr.io/oras-project/oras:v1.2.0 pull myreg.azurecr.io/art:1",
        ]);
    }

    #[test]
    fn skopeo_reads_only_the_auth_file_it_is_given() {
        // The image's REGISTRY_AUTH_FILE.
        let t = parse("--rm -v $HOME/.docker/config.json:/tmp/auth.json:ro quay.io/skopeo/stable:v1.16 copy --all docker://ghcr.io/o/a:1 docker://myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.tool, Tool::Skopeo);
        assert_eq!(t.config_in_container, "/tmp/auth.json");
        assert_eq!(
            t.pushes,
            one_push("myreg.azurecr.io", "docker://myreg.azurecr.io/a:1")
        );
        // --authfile, and a folder holding config.json.
        let t = parse("-v ~/.docker:/auth quay.io/skopeo/stable copy --authfile /auth/config.json oci:/w/a docker://myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.config_in_container, "/auth/config.json");
        assert_not_claimed(&[
            // $HOME/.docker is not read while REGISTRY_AUTH_FILE names a file.
            "-v ~/.docker:/root/.docker quay.io/skopeo/stable copy docker://ghcr.io/o/a:1 docker://myreg.azurecr.io/a:1",
            // Another auth file.
            "-v ~/.docker/config.json:/tmp/auth.json quay.io/skopeo/stable copy --authfile /auth.json docker://ghcr.io/o/a:1 docker://myreg.azurecr.io/a:1",
            // Its own credential.
            "-v ~/.docker/config.json:/tmp/auth.json quay.io/skopeo/stable copy --dest-creds u:p docker://ghcr.io/o/a:1 docker://myreg.azurecr.io/a:1",
            // Not to a registry.
            "-v ~/.docker/config.json:/tmp/auth.json quay.io/skopeo/stable copy docker://myreg.azurecr.io/a:1 oci:/w/a",
        ]);
    }

    #[test]
    fn regctl_images_and_their_own_credentials() {
        let t = parse("-v $HOME/.docker:/home/appuser/.docker regclient/regctl:v0.8.0 image copy --referrers ghcr.io/o/a:1 myreg.azurecr.io/a:1").unwrap();
        assert_eq!(t.tool, Tool::Regctl);
        assert!(t.helpers.is_empty());
        assert_eq!(t.pushes[0].0, "myreg.azurecr.io");
        let alpine = parse("-v $HOME/.docker:/home/appuser/.docker ghcr.io/regclient/regctl:v0.8.0-alpine regctl image cp ghcr.io/o/a:1 myreg.azurecr.io/a:1").unwrap();
        assert_eq!(alpine.helpers, REGCTL_ALPINE_HELPERS);
        assert_not_claimed(&[
            "-e DOCKER_AUTH_CONFIG -v ~/.docker:/home/appuser/.docker regclient/regctl image copy a myreg.azurecr.io/a:1",
            "-v ~/.regctl:/home/appuser/.regctl -v ~/.docker:/home/appuser/.docker regclient/regctl image copy a myreg.azurecr.io/a:1",
            "-v ~/.docker:/home/appuser/.docker regclient/regctl --host reg=myreg.azurecr.io,user=u,pass=p image copy a myreg.azurecr.io/a:1",
            // The alpine image needs its program named.
            "-v ~/.docker:/home/appuser/.docker regclient/regctl:alpine image copy a myreg.azurecr.io/a:1",
        ]);
    }
}
