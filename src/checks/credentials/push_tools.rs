//! CRED_TOOL_NO_HELPER (P29): a push tool run from its own image after acr-preflight's
//! step reads the runner's docker config through a mount, but the config keeps the
//! credential of the registry it pushes to in a helper that image does not carry.
//! The workflow check found the tools ([`crate::workflow::push_tools`]); this reads the
//! same config docker does and names the helper the tool would have to run.

use super::Ctx;
use crate::docker::config::{DockerConfig, EntryKind};
use crate::docker::credential::{HelperVia, Resolution};
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use crate::workflow::PushToolStep;
use crate::workflow::push_tools::{SpecFile, Tool};

/// One finding per tool and registry whose credential sits in a helper its image
/// lacks; what was seen for the others becomes a verified fact.
pub fn unreadable_credentials(ctx: &Ctx, config: &DockerConfig, report: &mut CheckReport) {
    for step in &ctx.job.push_tools_after {
        // A mount of another folder than the one checked (a job that moves
        // DOCKER_CONFIG, and a tool that still mounts ~/.docker) is not judged here.
        if let Some(source) = &step.found.mount_source
            && source.starts_with('/')
            && !is_config(source, config)
        {
            report.verified(format!(
                "{} in step `{}` (line {}) reads the docker config mounted from {source}, not the one acr-preflight checked ({}): its credential is not judged",
                step.found.tool.name(),
                step.step.label,
                step.step.line,
                config.path.display()
            ));
            continue;
        }
        let pushes = match &step.found.spec {
            None => step.found.pushes.clone(),
            Some(spec) => match spec_target(ctx, spec) {
                Ok(target) => vec![target],
                Err(why) => {
                    report.verified(format!(
                        "{} in step `{}` (line {}) pushes to the `image:` of its spec `{}`, which {why}: its credential is not judged",
                        step.found.tool.name(),
                        step.step.label,
                        step.step.line,
                        spec.written
                    ));
                    continue;
                }
            },
        };
        for (host, written) in &pushes {
            let quiet = |why: String| {
                format!(
                    "{} in step `{}` (line {}) pushes to {host} with {why}",
                    step.found.tool.name(),
                    step.step.label,
                    step.step.line
                )
            };
            let resolution = config.resolve(host);
            // A tool that does not read `credsStore` (skopeo) reads the `auths` entry
            // docker's `credsStore` hides.
            if let Resolution::Helper {
                key,
                via: HelperVia::CredsStore,
                ..
            } = &resolution
                && !step.found.tool.reads_creds_store()
                && let Some(entry) = config.auths.iter().find(|a| &a.key == key)
                && entry.kind() != EntryKind::Empty
            {
                report.verified(quiet(format!(
                    "the plain {} entry of the mounted docker config (it does not read credsStore)",
                    crate::docker::config::key_path(&["auths", key])
                )));
                continue;
            }
            match resolution {
                Resolution::Helper {
                    name,
                    key,
                    via,
                    line,
                } if !step.found.helpers.contains(&name.as_str())
                    || (via == HelperVia::CredsStore && !step.found.tool.reads_creds_store()) =>
                {
                    let kept = match via {
                        HelperVia::CredsStore => "credsStore".to_string(),
                        HelperVia::CredHelpers => {
                            crate::docker::config::key_path(&["credHelpers", &key])
                        }
                    };
                    report.push(finding(
                        config,
                        step,
                        Target { host, written },
                        &name,
                        (&kept, via),
                        line,
                    ));
                }
                Resolution::Helper { name, .. } => report.verified(quiet(format!(
                    "`docker-credential-{name}`, which its image `{}` carries",
                    step.found.image
                ))),
                Resolution::File { key, .. } => report.verified(quiet(format!(
                    "the plain {} entry of the mounted docker config",
                    crate::docker::config::key_path(&["auths", &key])
                ))),
                // No credential at all is CRED_NOT_FOUND's, for the registries this run
                // checks.
                Resolution::None { .. } => {}
            }
        }
    }
}

/// The largest spec file read.
const SPEC_CAP: u64 = 64 * 1024;

/// The registry a `manifest-tool push from-spec` file names in its top-level `image:`,
/// with how the finding quotes it; why not, when it cannot be told.
fn spec_target(ctx: &Ctx, spec: &SpecFile) -> Result<(String, String), String> {
    let on_runner = spec
        .on_runner
        .as_deref()
        .ok_or("no bind mount maps to the workspace or to an absolute path")?;
    let path = match &ctx.config.env.github_workspace {
        Some(workspace) => workspace.join(on_runner),
        None if on_runner.starts_with('/') => std::path::PathBuf::from(on_runner),
        None => return Err("is in the workspace, and GITHUB_WORKSPACE is not set".into()),
    };
    let bytes = crate::fsread::read_capped(&path, SPEC_CAP)
        .map_err(|e| format!("could not be read at {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let yaml = crate::workflow::yaml::parse(&text)
        .map_err(|_| format!("at {} is not YAML acr-preflight reads", path.display()))?;
    let image = yaml
        .get("image")
        .and_then(|n| n.as_str())
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| format!("at {} has no top-level `image:`", path.display()))?;
    let host = crate::reference::parse_normalized(image)
        .ok()
        .and_then(|r| r.domain.map(|d| crate::reference::login_registry(&d)))
        .ok_or_else(|| {
            format!(
                "at {} names `image: {image}`, not an image reference",
                path.display()
            )
        })?;
    Ok((host, format!("image: {image} in {}", spec.written)))
}

/// Whether a mount's source is the checked config's folder or file.
fn is_config(source: &str, config: &DockerConfig) -> bool {
    let source = std::path::Path::new(source.trim_end_matches('/'));
    source == config.path || Some(source) == config.path.parent()
}

/// The registry a tool pushes to, and the argument that names it.
struct Target<'a> {
    host: &'a str,
    written: &'a str,
}

fn finding(
    config: &DockerConfig,
    step: &PushToolStep,
    target: Target,
    helper: &str,
    (where_kept, via): (&str, HelperVia),
    line: Option<u32>,
) -> Finding {
    let Target { host, written } = target;
    let tool = &step.found;
    let at_line = line.map(|l| format!(", line {l}")).unwrap_or_default();
    let carried = if tool.helpers.is_empty() {
        "none".to_string()
    } else {
        tool.helpers
            .iter()
            .map(|h| format!("`docker-credential-{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ignored = via == HelperVia::CredsStore && !tool.tool.reads_creds_store();
    let title = if ignored {
        format!(
            "{} in step `{}` does not read `credsStore` (`docker-credential-{helper}`), which holds the credential for {host}",
            tool.tool.name(),
            step.step.label
        )
    } else {
        format!(
            "{} in step `{}` cannot run `docker-credential-{helper}` ({where_kept}), which holds the credential for {host}",
            tool.tool.name(),
            step.step.label
        )
    };
    let message = format!(
        "Step `{}` (line {}) runs {} from its image `{}` with a docker config mounted in (`{}`), so it reads {}, and pushes to {host} (`{written}`). The docker config acr-preflight checked ({}) sends that registry to helper `{helper}` ({where_kept}{at_line}), not to an `auths` entry. {}",
        step.step.label,
        step.step.line,
        tool.tool.name(),
        tool.image,
        tool.mount,
        tool.config_in_container,
        config.path.display(),
        if ignored {
            format!(
                "{} never reads `credsStore` (containers/image reads only `credHelpers` and `auths`), and `auths` holds no credential for it, so it gets no credential: the push fails (`unauthorized` or `authentication required`) although `docker push` on the runner works.",
                tool.tool.name()
            )
        } else {
            format!(
                "Inside the container the tool can run only the helpers its image carries ({carried}), so it finds no `docker-credential-{helper}` and gets no credential: the push fails (`unauthorized`, or `docker-credential-{helper}` not found in $PATH) although `docker push` on the runner works."
            )
        }
    );
    let (token, user) = match crate::cloud::acr_registry(host) {
        Some(name) => (
            format!("TOKEN=$(az acr login -n {name} --expose-token --query accessToken -o tsv)"),
            crate::cloud::ACR_TOKEN_USER.to_string(),
        ),
        None => (
            "TOKEN=<password or token for the registry>".to_string(),
            "<user>".to_string(),
        ),
    };
    let write_auths = [
        "mkdir -p \"$RUNNER_TEMP/push-auth\"".to_string(),
        token.clone(),
        format!(
            "printf '{{\"auths\":{{\"{host}\":{{\"auth\":\"%s\"}}}}}}' \"$(printf '%s:%s' '{user}' \"$TOKEN\" | base64 -w0)\" > \"$RUNNER_TEMP/push-auth/config.json\""
        ),
    ];
    let mount = format!(
        "-v \"$RUNNER_TEMP/push-auth/config.json:{}:ro\"",
        tool.config_in_container
    );
    let variant = match (tool.tool, helper) {
        (Tool::Kaniko, "gcr" | "ecr-login" | "acr-env") => Some(
            "Or run the full executor image (not `-slim`), which carries `docker-credential-{h}`.",
        ),
        (Tool::ManifestTool, "gcloud" | "ecr-login" | "acr-env") => {
            Some("Or run `mplatform/manifest-tool:alpine`, which carries `docker-credential-{h}`.")
        }
        (Tool::Regctl, "ecr-login" | "gcr") => Some(
            "Or run `regclient/regctl:alpine` (its arguments then start with `regctl`), which carries `docker-credential-{h}`.",
        ),
        _ => None,
    }
    .map(|s| format!(" {}", s.replace("{h}", helper)))
    .unwrap_or_default();
    let (lead, commands) = match tool.tool {
        Tool::Kaniko | Tool::Crane | Tool::Regctl => (
            format!(
                "Mount a docker config that holds the credential itself, in `auths`, written for this job, instead of the runner's:\n{}\nthen in `docker run`: {mount}.{variant}",
                write_auths.join("\n")
            ),
            write_auths.to_vec(),
        ),
        Tool::ManifestTool => (
            format!(
                "Give manifest-tool the credential on its command line, before `push`:\n{token}\n… mplatform/manifest-tool --username {user} --password \"$TOKEN\" push {} …\nor mount a docker config that holds it in `auths` ({}; then {mount}).{variant}",
                if tool.spec.is_some() {
                    "from-spec"
                } else {
                    "from-args"
                },
                write_auths.join("; ")
            ),
            vec![token.clone()],
        ),
        Tool::Oras => (
            format!(
                "Give oras the credential on its command line, read from stdin:\n{token}\necho \"$TOKEN\" | docker run -i … ghcr.io/oras-project/oras push --username {user} --password-stdin …\nor mount a docker config that holds it in `auths` ({}; then {mount}).",
                write_auths.join("; ")
            ),
            vec![token.clone()],
        ),
        Tool::Skopeo => (
            format!(
                "Give skopeo the credential for the destination on its command line:\n{token}\n… quay.io/skopeo/stable copy --dest-creds \"{user}:$TOKEN\" …\nor mount a file that holds it in `auths` ({}; then {mount}).",
                write_auths.join("; ")
            ),
            vec![token.clone()],
        ),
        Tool::DotnetSdk => {
            let export = format!(
                "export SDK_CONTAINER_REGISTRY_UNAME={user} SDK_CONTAINER_REGISTRY_PWORD=\"$TOKEN\""
            );
            (
                format!(
                    "Give the SDK the credential in the variables it reads instead of the docker config:\n{token}\n{export}\nthen in `docker run`: -e SDK_CONTAINER_REGISTRY_UNAME -e SDK_CONTAINER_REGISTRY_PWORD. Or mount a docker config that holds it in `auths` ({}; then {mount}).",
                    write_auths.join("; ")
                ),
                vec![token.clone(), export],
            )
        }
    };
    Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_TOOL_NO_HELPER,
        Severity::Warning,
        title,
        message,
        lead,
    )
    .with_commands(commands)
    .at(
        step.location.file.clone(),
        step.location.line,
        step.location.column,
    )
}
