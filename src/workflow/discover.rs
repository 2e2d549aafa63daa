//! Context discovery: the references a job's build steps pull and push, read from the
//! workflow itself, each with the line and column where it is written.
//!
//! Recognised: `docker/build-push-action` (`build-contexts`, `tags` when it pushes,
//! `build-args`), `docker buildx build` / `docker build` (`--build-context`,
//! `--tag`/`-t` with `--push`, `--build-arg`), `docker push`, the image commands
//! `docker tag`, `docker manifest create`/`push` and `docker buildx imagetools create`,
//! docker/bake-action's inline `set: <target>.tags=…` ([`images`]) and the targets of the bake files it and `docker buildx bake` read ([`bake_files`]), `az acr build` (an
//! `oci://` context; `--image`/`-t` in `--registry`/`-r`), `az acr run` (an `oci://`
//! context), in `run:` scripts and in `azure/cli`'s `inlineScript`. Names the build only
//! parses are kept too, for the reference grammar: tags it does not push and registry
//! cache references (`cache-from`/`cache-to`, `--cache-from`/`--cache-to`). A
//! `--build-arg BUILDKIT_CONTEXT=<ref>` is discovered as a context too (and the check
//! says that BuildKit takes named contexts through `--build-context`). Builds that load
//! their image (`load: true`, `--load`) are kept with the platforms they ask for; every
//! build keeps its resolved tags and whether it loads. Builders created by
//! `docker/setup-buildx-action` and `docker buildx create` are kept with their driver.

use super::expr::{EmptyVar, Expanded, Scope, Unresolved};
use super::model::{Job, Step, Workflow};
use super::shell::{self, Command, Dialect, Word};
use super::yaml::Text;
use crate::config::RunEnvironment;
use crate::findings::Location;
use std::collections::HashMap;

mod bake_files;
mod images;
pub mod job_token;
mod workdir;

/// Whether the build pulls the reference or pushes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Context,
    Push,
    /// A tag the step gives its image without pushing it: docker still parses it.
    Tag,
    /// A registry cache the build imports from (`cache-from`, `type=registry,ref=…`).
    CacheFrom,
    /// A registry cache the build exports to (`cache-to`, `type=registry,ref=…`).
    CacheTo,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Context => "context",
            Role::Push => "push target",
            Role::Tag => "tag",
            Role::CacheFrom | Role::CacheTo => "cache reference",
        }
    }

    /// A registry cache reference (`cache-from` or `cache-to`).
    pub fn is_cache(self) -> bool {
        matches!(self, Role::CacheFrom | Role::CacheTo)
    }
}

/// Where in the workflow's build a reference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// `docker/build-push-action` input `build-contexts`.
    BuildPushContexts,
    /// `docker/build-push-action` input `tags`.
    BuildPushTags,
    /// `docker/build-push-action` input `cache-from` or `cache-to`.
    BuildPushCache,
    /// `docker/build-push-action` input `build-args`: `BUILDKIT_CONTEXT=<ref>`.
    BuildPushBuildArg,
    /// `docker buildx build --build-context name=…`.
    BuildContextFlag,
    /// `docker buildx build --tag …`.
    BuildTag,
    /// `docker buildx build --cache-from …` or `--cache-to …`.
    CacheFlag,
    /// `docker build --build-arg BUILDKIT_CONTEXT=<ref>`.
    BuildArg,
    /// `docker push <ref>`.
    DockerPush,
    /// `az acr build … oci://…`.
    AcrBuildContext,
    /// `az acr build --image … --registry …`.
    AcrBuildImage,
    /// `az acr run … oci://…`.
    AcrRunContext,
    /// Azure/acr-build `registry`, `repository`, `image`, `tag`.
    AcrBuildAction,
    /// `docker tag <source> <target>`: the target.
    DockerTag,
    /// `docker manifest create <list> <image>…`: the list.
    ManifestCreate,
    /// `docker manifest push <list>`.
    ManifestPush,
    /// `docker buildx imagetools create --tag …`.
    ImagetoolsCreate,
    /// docker/bake-action `set: <target>.tags=…` (or `.cache-from`/`.cache-to`).
    BakeSet,
    /// A target of a bake file (`tags`, `cache-from`, `cache-to`, `contexts`), read for
    /// docker/bake-action or `docker buildx bake`.
    BakeFile,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::BuildPushContexts => "docker/build-push-action `build-contexts`",
            Origin::BuildPushTags => "docker/build-push-action `tags`",
            Origin::BuildPushCache => "docker/build-push-action `cache-from`/`cache-to`",
            Origin::BuildPushBuildArg => "docker/build-push-action `build-args` BUILDKIT_CONTEXT",
            Origin::BuildContextFlag => "`docker buildx build --build-context`",
            Origin::BuildTag => "`--tag` of a `docker build`",
            Origin::CacheFlag => "`docker buildx build --cache-from`/`--cache-to`",
            Origin::BuildArg => "`--build-arg BUILDKIT_CONTEXT`",
            Origin::DockerPush => "`docker push`",
            Origin::AcrBuildContext => "`az acr build` context",
            Origin::AcrBuildImage => "`az acr build --image`",
            Origin::AcrRunContext => "`az acr run` context",
            Origin::AcrBuildAction => "Azure/acr-build `registry`/`repository`/`tag`",
            Origin::DockerTag => "`docker tag`",
            Origin::ManifestCreate => "`docker manifest create`",
            Origin::ManifestPush => "`docker manifest push`",
            Origin::ImagetoolsCreate => "`docker buildx imagetools create --tag`",
            Origin::BakeSet => "docker/bake-action `set`",
            Origin::BakeFile => "a bake file's target",
        }
    }

    /// A `BUILDKIT_CONTEXT` build argument (which BuildKit does not read as a context).
    pub fn is_buildkit_context_arg(self) -> bool {
        matches!(self, Origin::BuildPushBuildArg | Origin::BuildArg)
    }

    /// A command that names an image in the daemon or a registry without building it
    /// (`docker tag`, `docker manifest …`, `docker buildx imagetools create`).
    pub fn is_image_command(self) -> bool {
        matches!(
            self,
            Origin::DockerTag
                | Origin::ManifestCreate
                | Origin::ManifestPush
                | Origin::ImagetoolsCreate
        )
    }
}

/// What kind of source a context is, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `docker-image://host/repo:tag`.
    DockerImage,
    /// `oci://host/repo:tag` (ACR Tasks).
    Oci,
    /// `oci-layout://path`: a local OCI layout directory, not a registry.
    OciLayout,
    /// A plain image reference.
    Image,
}

impl RefKind {
    fn of(text: &str) -> RefKind {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("docker-image://") {
            RefKind::DockerImage
        } else if lower.starts_with("oci-layout://") {
            RefKind::OciLayout
        } else if lower.starts_with("oci://") {
            RefKind::Oci
        } else {
            RefKind::Image
        }
    }
}

/// The step a reference or build command was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRef {
    /// 0-based index in the job's steps.
    pub index: usize,
    pub label: String,
    /// Line where the step starts.
    pub line: u32,
}

/// One reference found in the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredRef {
    pub role: Role,
    pub origin: Origin,
    pub kind: RefKind,
    /// As written, unquoted, expressions and variables left in (`$REG/app:${{ github.sha }}`).
    pub written: String,
    /// With expressions and variables replaced; `None` when one of them is unresolved.
    pub reference: Option<String>,
    /// The name of a named context (`base` of `base=docker-image://…`).
    pub context_name: Option<String>,
    /// What could not be resolved, each with its own location.
    pub unresolved: Vec<(Unresolved, Location)>,
    /// `env` variables substituted with an empty value that leave the reference
    /// invalid (then `reference` is `None`), each with the location of the `env:`
    /// entry that left it empty (where it is used when no `env:` block sets it).
    pub empty: Vec<(EmptyVar, Location)>,
    /// Where the reference is written (the column only when it is on one line).
    pub location: Location,
    pub step: StepRef,
    /// Whether the step runs after acr-preflight's (true when that step is unknown).
    pub after_preflight: bool,
    /// The parts of `reference` that expressions and variables supplied.
    pub pieces: Vec<Piece>,
}

/// A part of a resolved reference that an expression or variable supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// As written: `${{ github.repository }}`, `$IMAGE`, `${IMAGE}`.
    pub written: String,
    /// Byte range of its value in the resolved reference.
    pub start: usize,
    pub end: usize,
}

impl Piece {
    /// The environment variable a shell step reads the same value from:
    /// `GITHUB_REPOSITORY` for `${{ github.repository }}`, `NAME` for `${{ env.NAME }}`
    /// and `$NAME`; `None` for anything else.
    pub fn variable(&self) -> Option<String> {
        let w = self.written.as_str();
        let ident = |s: &str| {
            !s.is_empty()
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if let Some(inner) = w.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
            let inner = inner.trim();
            if let Some(name) = inner.strip_prefix("env.") {
                return ident(name).then(|| name.to_string());
            }
            let field = inner.strip_prefix("github.")?;
            return ident(field).then(|| format!("GITHUB_{}", field.to_ascii_uppercase()));
        }
        let name = match w.strip_prefix("${") {
            Some(rest) => rest.strip_suffix('}')?,
            None => w.strip_prefix('$')?,
        };
        ident(name).then(|| name.to_string())
    }
}

/// The expression or variable written at byte `offset` of `raw`, if one starts there.
fn substitution_at(raw: &str, offset: usize) -> Option<&str> {
    let rest = raw.get(offset..)?;
    if rest.starts_with("${{") {
        let close = rest.find("}}")?;
        return Some(&rest[..close + 2]);
    }
    if let Some(inner) = rest.strip_prefix("${") {
        let close = inner.find('}')?;
        return Some(&rest[..close + 3]);
    }
    let name = rest.strip_prefix('$')?;
    let n = name
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (n > 0).then(|| &rest[..n + 1])
}

/// The pieces of `expanded.text[lead..lead + len]` (the resolved reference) that come
/// from an expression or variable of `raw`: each run of bytes mapped to the start of a
/// `${{ … }}` or `$NAME` whose value differs from its spelling.
fn pieces(raw: &str, expanded: &Expanded, lead: usize, len: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let end = (lead + len).min(expanded.offsets.len());
    let mut i = lead;
    while i < end {
        let o = expanded.offsets[i];
        let mut j = i + 1;
        while j < end && expanded.offsets[j] == o {
            j += 1;
        }
        if let Some(token) = substitution_at(raw, o)
            && expanded.text.get(i..j).is_some_and(|v| v != token)
        {
            out.push(Piece {
                written: token.to_string(),
                start: i - lead,
                end: j - lead,
            });
        }
        i = j;
    }
    out
}

impl DiscoveredRef {
    /// Whether the reference names a registry (not a local `oci-layout://` directory).
    pub fn is_registry(&self) -> bool {
        self.kind != RefKind::OciLayout
    }
}

impl LoginStep {
    /// The login runs `docker login`, which needs the docker CLI and daemon and writes
    /// the docker config: `docker login`, docker/login-action (which runs `docker login`)
    /// and `az acr login` (which runs `docker login` unless `--expose-token`).
    pub fn runs_docker_login(&self) -> bool {
        matches!(
            self.what.as_str(),
            "docker login" | "docker/login-action" | "az acr login"
        )
    }
}

/// A build or push command found in the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommand {
    /// `docker/build-push-action`, `docker buildx build`, `az acr build`, …
    pub what: String,
    pub location: Location,
    pub step: StepRef,
    pub after_preflight: bool,
    /// Run through `sudo`, so docker reads root's config (`/root/.docker/config.json`),
    /// not the runner user's.
    pub as_root: bool,
    /// The Dockerfile it reads and the build-args it passes, as far as known here.
    pub inputs: BuildInputs,
    /// The image names it tags its result with (`tags`, `-t`/`--tag`), resolved ones
    /// only, whether or not it pushes them.
    pub tags: Vec<String>,
    /// It asks to load its result into the daemon's image store (`load: true`,
    /// `--load`, an output of `type=docker`).
    pub load: bool,
    /// The platforms it builds (`platforms:`, `--platform`), each once, when they are
    /// given and resolve; empty otherwise (the builder's own platform).
    pub platforms: Vec<String>,
    /// Where the platforms are written.
    pub platforms_at: Option<Location>,
    /// The dedicated ACR Tasks agent pool it runs on (`--agent-pool`), as written.
    pub agent_pool: Option<String>,
    /// The builder the build names (`builder:`, `--builder`, `BUILDX_BUILDER`); `None`
    /// when it names none and runs on the builder in use.
    pub builder: Option<BuilderRef>,
    /// The docker config the command line itself names (`DOCKER_CONFIG=/x docker
    /// build`, `env DOCKER_CONFIG=/x docker push`, `docker --config /x build`).
    pub inline_config: Option<InlineConfig>,
}

/// A docker config folder a `run:` command names for itself (P29).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineConfig {
    /// As written: `DOCKER_CONFIG=$RUNNER_TEMP/cfg`, `--config /x`.
    pub written: String,
    /// The folder, when it resolves here.
    pub value: Option<String>,
    pub location: Location,
}

/// A builder name as a build or `docker buildx use` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuilderName {
    /// A name known here (`ci`, `default`).
    Literal(String),
    /// `${{ steps.<id>.outputs.name }}`: the name a step of the job outputs.
    StepOutput(String),
    /// A value that depends on what acr-preflight cannot know.
    Unknown,
}

/// Where and how a builder is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderRef {
    pub name: BuilderName,
    /// As written (`${{ steps.buildx.outputs.name }}`, `ci`).
    pub written: String,
    /// How it is named: ``docker/build-push-action `builder` ``, `--builder`, …
    pub how: String,
    pub location: Location,
}

/// `docker buildx use <name>` in a `run:` step: later builds use that builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderSwitch {
    pub named: BuilderRef,
    pub step: StepRef,
}

/// What decides a build's base images (P38): the Dockerfile's path relative to the
/// workspace (None when the build reads no local file, or its path is not known here)
/// and the build-args (`NAME=value`) whose values are known. `context` is the local
/// context folder relative to the workspace (`.` for the workspace itself; None for a
/// remote, stdin or Git context, or one not known here), whose `.dockerignore` decides
/// what the build is sent (P43).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInputs {
    pub dockerfile: Option<String>,
    pub build_args: Vec<(String, String)>,
    /// The context as given (`context:`, the command's source operand), when one is
    /// given and resolves: a folder, `-`, or a remote URL (`https://…/repo.git#main`).
    pub context: Option<String>,
    /// The context when it is a local folder, without `./` and trailing slashes (`.` for
    /// the workspace itself): the folder whose `.dockerignore` decides what is sent.
    pub local_context: Option<String>,
    /// The build reads its remote context with a token given apart from the URL
    /// (Azure/acr-build's `git_access_token`, which it puts in the URL it builds), or
    /// one in the URL's user part that acr-preflight cannot read.
    pub context_token: Option<super::ContextToken>,
    /// `az acr run -f <file> <folder>`: the task file (workspace-relative) that ACR Tasks
    /// reads from inside the uploaded folder (`acb.yaml` without `-f`); None with
    /// `--cmd`, for a remote context, or when the file is not known here.
    pub task_file: Option<String>,
    /// docker/build-push-action without `context`: it builds the Git context of the
    /// job's own commit (passing its `github-token` as `GIT_AUTH_TOKEN`).
    pub default_git_context: bool,
}

/// A registry login found in the job: `docker/login-action`, `azure/docker-login`,
/// `docker login`, `az acr login`. Each writes the credential to the docker config
/// the later steps read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStep {
    /// `docker/login-action`, `az acr login`, …
    pub what: String,
    /// The registry host it logs in to (lower-case, `docker.io` for Docker Hub);
    /// `None` when it depends on something acr-preflight cannot know.
    pub registry: Option<String>,
    /// Where the login (or its registry) is written.
    pub location: Location,
    pub step: StepRef,
    pub after_preflight: bool,
    /// Run through `sudo`: the credential goes to root's docker config.
    pub as_root: bool,
    /// The username it logs in with, as written (`${{ secrets.ACR_USER }}`); `None`
    /// when it takes none (`az acr login`, which uses the Azure CLI's identity).
    pub username: Option<String>,
    /// The username's value, when every expression and variable in it resolves
    /// (`${{ env.ACR_USER }}` from an `env:` block); `None` otherwise.
    pub username_value: Option<String>,
    /// The password is the job's own `GITHUB_TOKEN` ([`job_token`]), whose rights the
    /// job's `permissions:` decide.
    pub job_token: bool,
    /// The step's environment sets `AWS_ECR_IGNORE_CREDS_STORAGE` to `true`, or sets it
    /// in a way not known here (a secret, its own script, `$GITHUB_ENV`); the
    /// `ecr-login` credential helper then accepts the login without storing it.
    pub ecr_ignore_storage: bool,
}

/// An Azure CLI sign-in or call found in the job: `azure/login` (which runs
/// `az login`), `az login`, and the `az` commands of `run:` scripts and `azure/cli`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzCommand {
    /// `azure/login`, `az login`, `az acr login`, `az acr repository show`, …
    pub what: String,
    /// A sign-in (`azure/login`, `az login`): `Some(true)` when it signs in with a
    /// federated token (OIDC: `client-id` without `creds` or a client secret,
    /// `--federated-token`), which `az` cannot renew once it expires.
    pub login: Option<bool>,
    /// A call that needs an Entra token (`az acr login`, `az acr build`, `az acr run`,
    /// `az acr import`, `az acr repository …`, `az acr manifest …`, `az acr task …`); the
    /// list is kept short on purpose.
    pub needs_token: bool,
    /// Run through `sudo`: `az` reads root's profile (`/root/.azure`).
    pub as_root: bool,
    pub location: Location,
    pub step: StepRef,
    pub after_preflight: bool,
    /// The registry name an `az acr …` call names (`-n`/`--name`, `-r`/`--registry`),
    /// lower-case, when it resolves.
    pub registry: Option<String>,
    /// The subscription written for it: azure/login's `subscription-id`, the one
    /// `az account set -s` selects, an `az` call's own `--subscription`. `Ok` with the
    /// value when it resolves, `Err` with the text as written when it does not (a
    /// secret); `None` when none is written.
    pub subscription: Option<Result<String, String>>,
    /// `az login --identity`: the machine's managed identity (IMDS).
    pub identity: bool,
    /// `az login --service-principal`.
    pub service_principal: bool,
    /// `az login`'s `-u`/`--username`: a service principal's client id, or with
    /// `--identity` the managed identity's client, object or resource id.
    pub username: Option<AzArg>,
    /// The repository action beyond pull and push an `az acr repository …`,
    /// `az acr manifest delete` or `update-metadata` call asks ACR for, when its
    /// repository resolves.
    pub repository_action: Option<RepositoryAction>,
}

/// A repository right an `az acr` command needs that AcrPush does not give: the scope
/// azure-cli asks the token server for, per `acr/repository.py` and `acr/manifest.py`
/// (`RepoAccessTokenPermission` in `acr/_docker_utils.py`) at
/// https://github.com/Azure/azure-cli/tree/dev/src/azure-cli/azure/cli/command_modules/acr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryAction {
    /// The repository it acts on.
    pub repository: String,
    /// The image or repository as the command names it (`team/app:v1`).
    pub target: String,
    /// The actions of the scope azure-cli asks: `metadata_write,metadata_read`,
    /// `delete,metadata_read` or `delete`.
    pub scope_actions: &'static str,
    /// The one action the command cannot do without: `metadata_write` or `delete`.
    pub needs: &'static str,
}

impl RepositoryAction {
    /// The action for `az acr <group> <verb>` with these option names and the
    /// repository value (`--repository`) or image value (`--image`, a manifest spec).
    fn of(
        group: &str,
        verb: &str,
        flags: &[&str],
        repository: Option<&str>,
        image: Option<&str>,
    ) -> Option<RepositoryAction> {
        // `update` without a changed attribute only reads (`metadata_read`).
        const ATTRIBUTES: [&str; 4] = [
            "--write-enabled",
            "--delete-enabled",
            "--read-enabled",
            "--list-enabled",
        ];
        let (scope_actions, needs) = match (group, verb) {
            ("repository", "update") if flags.iter().any(|f| ATTRIBUTES.contains(f)) => {
                ("metadata_write,metadata_read", "metadata_write")
            }
            ("repository", "delete") => ("delete,metadata_read", "delete"),
            ("manifest", "update-metadata") if flags.iter().any(|f| ATTRIBUTES.contains(f)) => {
                ("metadata_write,metadata_read", "metadata_write")
            }
            ("repository", "untag") | ("manifest", "delete") => ("delete", "delete"),
            _ => return None,
        };
        let (target, repository) = match (repository, image) {
            (Some(r), _) => (r.to_string(), r.to_string()),
            (None, Some(i)) => {
                let repo = match i.split_once('@') {
                    Some((r, _)) => r,
                    None => i.rsplit_once(':').map_or(i, |(r, _)| r),
                };
                (i.to_string(), repo.to_string())
            }
            (None, None) => return None,
        };
        (!repository.is_empty()).then_some(RepositoryAction {
            repository,
            target,
            scope_actions,
            needs,
        })
    }
}

/// A value given to an `az` option in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzArg {
    /// As written, without the shell's quotes (`$BUILD_CLIENT_ID`, `${{ vars.ID }}`):
    /// what comparisons with other spellings use.
    pub written: String,
    /// As the script writes it, quotes kept (`"$BUILD_CLIENT_ID"`): what messages show.
    pub quoted: String,
    /// Resolved, when every expression and variable in it is known (may be empty).
    pub value: Option<String>,
    /// The `env` variables in it that were substituted with an empty value.
    pub empty: Vec<EmptyVar>,
}

impl AzCommand {
    /// The client id a sign-in in a script names: `az login --service-principal -u ID`
    /// or `az login --identity -u ID`; `None` for other commands.
    pub fn sign_in_client(&self) -> Option<&AzArg> {
        (self.login.is_some() && (self.service_principal || self.identity))
            .then_some(self.username.as_ref())
            .flatten()
    }

    /// The one definition of "this step signs the job in to Azure with OIDC": an
    /// `azure/login` step with OIDC ([`azure_login_is_oidc`]) or a script's
    /// `az login --federated-token …` (`az login --service-principal --federated-token`
    /// is what azure/login runs with OIDC, https://github.com/Azure/login#readme).
    pub fn signs_in_with_oidc(&self) -> bool {
        self.login == Some(true)
    }

    /// Whether it is an `az acr` command that resolves the registry through ARM and
    /// fails outright when that lookup fails: `az acr build`, `az acr run`,
    /// `az acr import` and `az acr task …`. `az acr login` and `az acr repository` fall
    /// back to the login server `<name>.azurecr.io` instead (`_get_credentials` in
    /// https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_docker_utils.py).
    pub fn resolves_through_arm(&self) -> bool {
        ["az acr build", "az acr run", "az acr import", "az acr task"]
            .iter()
            .any(|c| self.what == *c || self.what.starts_with(&format!("{c} ")))
    }

    /// Whether it runs after `other` in the job (by step, then by line).
    pub fn after(&self, step: &StepRef, location: &Location) -> bool {
        (self.step.index, self.location.line) > (step.index, location.line)
    }
}

/// An `azure/login` step that signs in with OIDC: a `client-id` without `creds` or a
/// client secret, and not `auth-type: IDENTITY` (https://github.com/Azure/login#readme).
pub fn azure_login_is_oidc(step: &Step) -> bool {
    let has = |name: &str| step.input(name).is_some_and(|v| !v.value.trim().is_empty());
    let identity = step
        .input("auth-type")
        .is_some_and(|v| v.value.trim().eq_ignore_ascii_case("IDENTITY"));
    step.action().as_deref() == Some("azure/login")
        && has("client-id")
        // azure/login ignores `creds` when `client-id` and `tenant-id` are given.
        && (!has("creds") || has("tenant-id"))
        && !has("client-secret")
        && !identity
}

impl Found {
    /// The job's first sign-in to Azure with OIDC ([`AzCommand::signs_in_with_oidc`]).
    pub fn first_oidc_sign_in(&self) -> Option<&AzCommand> {
        self.az.iter().find(|a| a.signs_in_with_oidc())
    }
}

/// Everything discovery found in one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub references: Vec<DiscoveredRef>,
    pub builds: Vec<BuildCommand>,
    pub logins: Vec<LoginStep>,
    /// Unresolved values that decide whether a step pushes (`push: ${{ … }}`).
    pub undecided: Vec<(Unresolved, Location, StepRef)>,
    /// Builds that load their result into the local image store.
    pub loads: Vec<LoadedBuild>,
    /// Steps that create a buildx builder (`docker/setup-buildx-action`,
    /// `docker buildx create`).
    pub builders: Vec<BuilderStep>,
    /// Azure CLI sign-ins and calls.
    pub az: Vec<AzCommand>,
    /// `docker buildx use <name>` commands.
    pub switches: Vec<BuilderSwitch>,
    /// `run:` scripts that hand an ARM-audience Entra token to a registry.
    pub arm_tokens: Vec<ArmTokenStep>,
    /// Variables scripts write to `$GITHUB_ENV` (`echo "NAME=value" >> "$GITHUB_ENV"`),
    /// which the job's later steps see.
    pub github_env: Vec<EnvWrite>,
    /// Push tools run from their own image with the runner's docker config mounted.
    pub push_tools: Vec<PushToolStep>,
    /// What discovery could not read (a bake file missing or unparsable, a value it
    /// does not evaluate), one sentence each.
    pub notes: Vec<String>,
}

/// One `NAME=value` a step's script writes to `$GITHUB_ENV`, the value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWrite {
    pub name: String,
    pub value: String,
    pub step: StepRef,
}

/// A step whose script gets an Entra token with the Azure CLI's default (ARM) audience
/// and hands it to a registry ([`super::audience`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmTokenStep {
    pub found: super::audience::ArmTokenUse,
    /// Where `az account get-access-token` is written.
    pub location: Location,
    pub step: StepRef,
}

/// A push tool started with `docker run` from its own image, reading a mounted docker
/// config ([`super::push_tools`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushToolStep {
    pub found: super::push_tools::ContainerTool,
    /// Where the `docker run` command is written.
    pub location: Location,
    pub step: StepRef,
    pub after_preflight: bool,
}

/// A step that creates a buildx builder, with the driver it runs BuildKit in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderStep {
    /// `docker/setup-buildx-action` or `docker buildx create`.
    pub what: String,
    /// The driver, lower-case (`docker-container` when none is given); `None` when it
    /// depends on what acr-preflight cannot know.
    pub driver: Option<String>,
    /// The registry host of the BuildKit image the builder boots from, when one is
    /// given (`driver-opts: image=…`, `--driver-opt image=…`); the builder pulls it
    /// when it boots, with the credentials the docker config holds then.
    pub image_registry: Option<String>,
    /// It becomes the builder later buildx builds use (setup-buildx-action unless
    /// `use: false`; `docker buildx create --use`).
    pub in_use: bool,
    /// Where the builder (or its driver) is written.
    pub location: Location,
    pub step: StepRef,
    /// The builder's name when the step gives one (`name:`, `--name`): a literal, or
    /// [`BuilderName::Unknown`] when it does not resolve. `None`: buildx generates one
    /// (setup-buildx-action outputs it as `steps.<id>.outputs.name`).
    pub name: Option<BuilderName>,
    /// The `id:` of the step, which `steps.<id>.outputs.name` refers to.
    pub step_id: Option<String>,
    /// The proxy variables its driver options pass to BuildKit (`env.https_proxy=…`),
    /// lower-case names (`https_proxy`), each once.
    pub proxy_env: Vec<String>,
    /// The proxy driver options whose value resolves to a proxy on loopback, which the
    /// BuildKit container cannot reach: (variable, `host:port`). Empty with
    /// `network=host`, where loopback is the runner's.
    pub proxy_loopback: Vec<(String, String)>,
}

impl BuilderStep {
    /// Whether BuildKit runs outside the docker daemon (any driver but `docker`), so it
    /// has its own image store and gets registry credentials from the client per build.
    pub fn own_store(&self) -> bool {
        self.driver.as_deref().is_some_and(|d| d != "docker")
    }

    /// Whether the step names its builder `name`.
    pub fn named(&self, name: &str) -> bool {
        matches!(&self.name, Some(BuilderName::Literal(n)) if n == name)
    }

    /// A builder that runs on other machines (`kubernetes`, `remote`).
    pub fn elsewhere(&self) -> bool {
        matches!(self.driver.as_deref(), Some("kubernetes" | "remote"))
    }
}

/// A build that loads its image into the runner's image store (`load: true`,
/// `--load`), with the platforms it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedBuild {
    /// `docker/build-push-action`, `docker buildx build`.
    pub what: String,
    /// Distinct platforms, as written once resolved (`linux/amd64`, `linux/arm64`).
    pub platforms: Vec<String>,
    /// Where the platforms are written.
    pub location: Location,
    pub step: StepRef,
}

/// What discovery reads.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The workspace, where bake files are read (`None`: none are).
    pub files: Option<&'a dyn super::WorkflowFiles>,
    pub workflow: &'a Workflow,
    pub job: &'a Job,
    /// Index of acr-preflight's own step, when known.
    pub preflight: Option<usize>,
    pub process_env: &'a HashMap<String, String>,
    pub run: &'a RunEnvironment,
    /// The cloud whose login-server suffix bare ACR names get.
    pub cloud: crate::cloud::AzureEnvironment,
}

/// Scans every step of the job.
pub fn discover(input: &Input<'_>) -> Found {
    let mut found = Found::default();
    for step in &input.job.steps {
        let mut ctx = StepScan {
            input: *input,
            step,
            step_ref: StepRef {
                index: step.index,
                label: step.label(),
                line: step.pos.line,
            },
            after: input.preflight.is_none_or(|p| step.index > p),
            as_root: false,
            inline_config: None,
            script_sources: HashMap::new(),
            stdin_job_token: false,
            posix: true,
            base: workdir::Base::root(),
            found: &mut found,
        };
        if Some(step.index) == input.preflight {
            continue;
        }
        match step.action().as_deref() {
            Some("docker/build-push-action") => ctx.build_push_action(),
            Some("docker/setup-buildx-action") => ctx.setup_buildx(),
            Some("docker/bake-action") => ctx.bake_action(),
            Some("azure/acr-build") => ctx.acr_build_action(),
            Some(action @ ("docker/login-action" | "azure/docker-login")) => {
                ctx.login_action(action)
            }
            Some("azure/login") => ctx.azure_login(),
            Some("azure/cli") => {
                // The action runs the script in the workspace (`working-directory` is
                // for `run:` steps only).
                if let Some(script) = step.input("inlineScript") {
                    ctx.script(script, Dialect::Posix, workdir::Base::root());
                }
            }
            _ => {}
        }
        if let Some(run) = &step.run {
            let dialect = Dialect::from_shell(step.shell.as_ref().map(|s| s.as_str()));
            let base = ctx.step_base();
            ctx.script(run, dialect, base);
        }
    }
    found
}

struct StepScan<'i, 'f> {
    input: Input<'i>,
    step: &'i Step,
    step_ref: StepRef,
    after: bool,
    /// Whether the shell command being scanned runs through `sudo`.
    as_root: bool,
    /// The docker config the shell command being scanned names for itself.
    inline_config: Option<InlineConfig>,
    /// The variables the step's script has set so far, each with its value as written
    /// (`PAT` → `${{ secrets.GIT_PAT }}`): a token read from one is traced back to it.
    script_sources: HashMap<String, String>,
    /// The shell command being scanned reads the job's token from a pipe
    /// (`echo "${{ secrets.GITHUB_TOKEN }}" | docker login …`).
    stdin_job_token: bool,
    /// The script being read is a POSIX shell's (not PowerShell's).
    posix: bool,
    /// The folder the shell command being scanned runs in: its relative paths are read
    /// from there (the workspace for a `uses:` step).
    base: workdir::Base,
    found: &'f mut Found,
}

/// A value found in a text: its expansion (offsets into the text's value) and its
/// spelling as written.
struct Value {
    expanded: Expanded,
    written: Expanded,
}

impl Value {
    fn start(&self) -> usize {
        self.written.raw_offset(0)
    }

    fn end(&self) -> usize {
        match self.written.text.char_indices().last() {
            Some((i, c)) => self.written.raw_offset(i) + c.len_utf8(),
            None => self.start(),
        }
    }

    /// The value between bytes `from` and `to` of its written form (a field of a
    /// comma-separated list).
    fn between(&self, from: usize, to: usize) -> Value {
        let mut v = self.slice(from);
        if to >= self.written.text.len() {
            return v;
        }
        let raw_to = self.written.raw_offset(to);
        let cut = v.expanded.index_of_raw(raw_to);
        v.expanded = v.expanded.head(cut);
        v.written = v.written.head(to.saturating_sub(from));
        v
    }

    /// The value from byte `from` of its written form on (`name=` or `--tag=` cut off).
    /// The expansion is cut where the same source begins, since variables before the
    /// cut can have another length once expanded.
    fn slice(&self, from: usize) -> Value {
        let written = self.written.tail(from);
        let mut expanded = if from >= self.written.text.len() {
            self.expanded.tail(self.expanded.text.len())
        } else {
            let raw = self.written.raw_offset(from);
            let mut tail = self.expanded.tail(self.expanded.index_of_raw(raw));
            // An empty substitution right at the cut has no byte of its own.
            tail.empty = self
                .expanded
                .empty
                .iter()
                .filter(|e| e.offset >= raw)
                .cloned()
                .collect();
            tail
        };
        if from >= self.written.text.len() {
            expanded.empty.clear();
        }
        Value { expanded, written }
    }
}

impl<'i> StepScan<'i, '_> {
    fn scope(&self) -> Scope<'i> {
        Scope {
            workflow: self.input.workflow,
            job: self.input.job,
            step: Some(self.step),
            preflight: self
                .input
                .preflight
                .and_then(|p| self.input.job.steps.get(p)),
            process_env: self.input.process_env,
            run: self.input.run,
        }
    }

    fn location(&self, text: &Text, start: usize, end: usize) -> Location {
        let (line, column) = text.locate(start..end.max(start));
        Location {
            file: self.input.workflow.path.clone(),
            line: Some(line),
            column,
        }
    }

    fn build(&mut self, what: &str, text: &Text, start: usize, end: usize) {
        let location = self.location(text, start, end);
        self.found.builds.push(BuildCommand {
            what: what.to_string(),
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            as_root: self.as_root,
            inputs: BuildInputs::default(),
            tags: Vec::new(),
            load: false,
            platforms: Vec::new(),
            platforms_at: None,
            agent_pool: None,
            builder: None,
            inline_config: self.inline_config.clone(),
        });
    }

    /// Sets the builder the build just recorded names.
    fn set_build_builder(&mut self, builder: Option<BuilderRef>) {
        if let Some(build) = self.found.builds.last_mut() {
            build.builder = builder;
        }
    }

    /// `BUILDX_BUILDER` as the step's environment sets it (`env:` blocks, acr-preflight's
    /// own environment, or `locals` of a script), with where it is set; `None` when unset.
    fn buildx_builder_env(
        &self,
        fallback: &Location,
        locals: Option<&HashMap<String, Result<String, String>>>,
    ) -> Option<BuilderRef> {
        const VAR: &str = "BUILDX_BUILDER";
        let scope = self.scope();
        let at = |t: &Text| Location {
            file: self.input.workflow.path.clone(),
            line: Some(t.start.line),
            column: Some(t.start.column),
        };
        let key_of = |env: &crate::workflow::model::Env| {
            env.entries
                .iter()
                .rev()
                .find(|(k, _)| k.value == VAR)
                .map(|(k, _)| at(k))
        };
        let (value, location) = if let Some(local) = locals.and_then(|l| l.get(VAR)) {
            (local.clone(), fallback.clone())
        } else {
            let location = key_of(&self.step.env)
                .or_else(|| key_of(&self.input.job.env))
                .or_else(|| key_of(&self.input.workflow.env))
                .or_else(|| {
                    self.input
                        .process_env
                        .contains_key(VAR)
                        .then(|| fallback.clone())
                })?;
            (scope.env_var(VAR), location)
        };
        let name = match &value {
            Ok(v) if v.trim().is_empty() => return None,
            Ok(v) => BuilderName::Literal(v.trim().to_string()),
            Err(_) => BuilderName::Unknown,
        };
        Some(BuilderRef {
            written: value.unwrap_or_else(|_| format!("${VAR}")),
            name,
            how: format!("`{VAR}`"),
            location,
        })
    }

    /// A builder named by `value` (`how` says where), when it names one.
    fn builder_ref(&self, text: &Text, value: &Value, how: &str) -> Option<BuilderRef> {
        let written = value.written.text.trim().to_string();
        if written.is_empty() {
            return None;
        }
        let name = if let Some(id) = step_output_name(&written) {
            BuilderName::StepOutput(id)
        } else if value.expanded.is_resolved() {
            let v = value.expanded.text.trim();
            if v.is_empty() {
                return None;
            }
            BuilderName::Literal(v.to_string())
        } else {
            BuilderName::Unknown
        };
        Some(BuilderRef {
            name,
            written,
            how: how.to_string(),
            location: self.location(text, value.start(), value.end()),
        })
    }

    /// Sets the tags and the load request of the build just recorded.
    fn set_build_output(&mut self, tags: Vec<String>, load: bool) {
        if let Some(build) = self.found.builds.last_mut() {
            build.tags = tags;
            build.load = load;
        }
    }

    /// The distinct platforms of `values` and where they are written, when every value
    /// resolves.
    fn platforms_of(&self, text: &Text, values: &[Value]) -> Option<(Vec<String>, Location)> {
        let (first, last) = (values.first()?, values.last()?);
        if values.iter().any(|v| !v.expanded.is_resolved()) {
            return None;
        }
        let platforms = distinct_platforms(values.iter().map(|v| v.expanded.text.as_str()));
        let location = self.location(text, first.start(), last.end());
        (!platforms.is_empty()).then_some((platforms, location))
    }

    /// Sets the platforms of the build just recorded.
    fn set_build_platforms(&mut self, text: &Text, values: &[Value]) {
        let Some((platforms, location)) = self.platforms_of(text, values) else {
            return;
        };
        if let Some(build) = self.found.builds.last_mut() {
            build.platforms = platforms;
            build.platforms_at = Some(location);
        }
    }

    /// Sets the inputs of the build just recorded, their paths read from the folder the
    /// command runs in.
    fn set_build_inputs(&mut self, inputs: BuildInputs) {
        let inputs = self.rebase(inputs);
        if let Some(build) = self.found.builds.last_mut() {
            build.inputs = inputs;
        }
    }

    /// `docker/build-push-action`: `file` is relative to the workspace, the default is
    /// `<context>/Dockerfile`; without `context` the action builds the Git context of the
    /// same commit, which the checked-out workspace stands for.
    fn build_push_inputs(&self) -> BuildInputs {
        let resolved = |name: &str| -> Option<Option<String>> {
            let Some(text) = self.step.input(name) else {
                return Some(None);
            };
            let e = self.scope().expand(&text.value);
            let v = e.text.trim().to_string();
            (e.is_resolved() && !v.is_empty()).then_some(Some(v))
        };
        let context = resolved("context");
        let dockerfile = match (context.clone(), resolved("file")) {
            (_, Some(Some(file))) => Some(file),
            (Some(context), Some(None)) => {
                dockerfile_in(context.as_deref().unwrap_or("."), "Dockerfile")
            }
            _ => None,
        };
        let mut build_args = Vec::new();
        if let Some(text) = self.step.input("build-args") {
            for (offset, entry) in Self::entries(text, false) {
                let value = self.value_in_text(offset, &entry);
                if let Some(pair) = build_arg(&value) {
                    build_args.push(pair);
                }
            }
        }
        BuildInputs {
            dockerfile,
            build_args,
            local_context: context.clone().flatten().as_deref().and_then(local_dir),
            default_git_context: self.step.input("context").is_none(),
            context: context.flatten(),
            context_token: None,
            task_file: None,
        }
    }

    fn add(
        &mut self,
        role: Role,
        origin: Origin,
        text: &Text,
        value: &Value,
        name: Option<String>,
        extra: Vec<Unresolved>,
    ) {
        let written = value.written.text.trim().to_string();
        if written.is_empty() {
            return;
        }
        let mut unresolved: Vec<(Unresolved, Location)> = value
            .expanded
            .unresolved
            .iter()
            .chain(extra.iter())
            .map(|u| {
                let loc = self.location(text, u.offset, u.offset + u.written.len());
                (u.clone(), loc)
            })
            .collect();
        // ACR Tasks run variables are filled in only when the run starts.
        if matches!(origin, Origin::AcrBuildImage | Origin::AcrBuildContext) {
            let t = &value.expanded.text;
            let mut from = 0;
            while let Some(open) = t[from..].find("{{").map(|o| from + o) {
                let close = t[open..]
                    .find("}}")
                    .map(|c| open + c + 2)
                    .unwrap_or(t.len());
                if t[..open].ends_with('$') {
                    // A GitHub expression left unresolved, already reported.
                    from = close;
                    continue;
                }
                let raw = value.expanded.raw_offset(open);
                let u = Unresolved {
                    written: t[open..close].to_string(),
                    reason: "ACR Tasks fills in its run variables when the run starts".into(),
                    offset: raw,
                };
                let loc = self.location(text, raw, raw + u.written.len());
                unresolved.push((u, loc));
                from = close;
            }
        }
        let resolved = value.expanded.text.trim();
        let mut empty: Vec<(EmptyVar, Location)> = Vec::new();
        if unresolved.is_empty() {
            if resolved.is_empty() {
                // An empty or blank value is no reference at all.
                return;
            }
            // An empty variable matters only when it leaves the reference invalid
            // (`.azurecr.io/app:1`, `docker-image://`); `${{ env.PREFIX }}app` with no
            // prefix is fine.
            if crate::reference::parse_context(resolved).is_err() {
                for e in &value.expanded.empty {
                    let loc = match e.defined {
                        Some(pos) => Location {
                            file: self.input.workflow.path.clone(),
                            line: Some(pos.line),
                            column: Some(pos.column),
                        },
                        None => self.location(text, e.offset, e.offset + e.written.len()),
                    };
                    empty.push((e.clone(), loc));
                }
            }
        }
        let reference = (unresolved.is_empty() && empty.is_empty()).then(|| resolved.to_string());
        let lead = value.expanded.text.len() - value.expanded.text.trim_start().len();
        let pieces = match &reference {
            Some(r) => pieces(&text.value, &value.expanded, lead, r.len()),
            None => Vec::new(),
        };
        let location = self.location(text, value.start(), value.end());
        self.found.references.push(DiscoveredRef {
            role,
            origin,
            kind: RefKind::of(&value.expanded.text),
            written,
            reference,
            context_name: name,
            unresolved,
            empty,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            pieces,
        });
    }

    /// The registry references of a cache entry (`type=registry,ref=<ref>`; for
    /// `cache-from` also the bare `<ref>` form, which means the same), as [`Role::CacheFrom`] or [`Role::CacheTo`].
    /// Other cache types (`gha`, `local`, `inline`, …) name no registry.
    fn cache_entry(&mut self, origin: Origin, text: &Text, value: &Value, from: bool) {
        let role = if from { Role::CacheFrom } else { Role::CacheTo };
        let written = value.written.text.clone();
        let mut fields: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        while let Some(comma) = outside_expressions(&written[start..], ',') {
            fields.push((start, start + comma));
            start += comma + 1;
        }
        fields.push((start, written.len()));
        let has_key = |&(a, b): &(usize, usize)| outside_expressions(&written[a..b], '=').is_some();
        if !fields.iter().any(has_key) {
            if from {
                for (a, b) in fields {
                    let v = value.between(a, b);
                    self.add(role, origin, text, &v, None, Vec::new());
                }
            }
            return;
        }
        let key_of = |(a, b): (usize, usize)| {
            let f = &written[a..b];
            let eq = outside_expressions(f, '=')?;
            Some((f[..eq].trim().to_ascii_lowercase(), a + eq + 1, b))
        };
        let mut registry = false;
        let mut reference = None;
        for field in fields {
            match key_of(field) {
                Some((key, a, b)) if key == "type" => {
                    let v = value.between(a, b);
                    registry = v.expanded.is_resolved()
                        && v.expanded.text.trim().eq_ignore_ascii_case("registry");
                }
                Some((key, a, b)) if key == "ref" => reference = Some(value.between(a, b)),
                _ => {}
            }
        }
        if let (true, Some(v)) = (registry, reference) {
            self.add(role, origin, text, &v, None, Vec::new());
        }
    }

    /// The entries of a list input: split on new lines (and commas), trimmed, with the
    /// byte offset of each in the text.
    fn entries(text: &Text, commas: bool) -> Vec<(usize, String)> {
        let raw = &text.value;
        let mut out = Vec::new();
        let mut start = 0;
        let mut depth_expr = false;
        let bytes = raw.as_bytes();
        let mut i = 0;
        let push = |from: usize, to: usize, out: &mut Vec<(usize, String)>| {
            let piece = &raw[from..to];
            let trimmed = piece.trim_start();
            let lead = piece.len() - trimmed.len();
            let trimmed = trimmed.trim_end();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                out.push((from + lead, trimmed.to_string()));
            }
        };
        while i < bytes.len() {
            // Bytes, not `str` slices: `i` steps through multi-byte characters (found by
            // fuzzing; slicing `raw[i..]` there panicked).
            if bytes[i..].starts_with(b"${{") {
                depth_expr = true;
                i += 3;
                continue;
            }
            if depth_expr && bytes[i..].starts_with(b"}}") {
                depth_expr = false;
                i += 2;
                continue;
            }
            let b = bytes[i];
            if !depth_expr && (b == b'\n' || (commas && b == b',')) {
                push(start, i, &mut out);
                start = i + 1;
            }
            i += 1;
        }
        push(start, raw.len(), &mut out);
        out
    }

    /// An entry of a `with:` input (`offset`: where it starts in the input's value).
    fn value_in_text(&self, offset: usize, entry: &str) -> Value {
        let scope = self.scope();
        let shift = |mut e: Expanded| {
            for o in &mut e.offsets {
                *o += offset;
            }
            for u in &mut e.unresolved {
                u.offset += offset;
            }
            e
        };
        let mut written = Expanded::default();
        for (i, c) in entry.char_indices() {
            written.push_char(c, offset + i);
        }
        Value {
            expanded: shift(scope.expand(entry)),
            written,
        }
    }

    /// `Azure/acr-build` (https://github.com/Azure/acr-build, `action.yml` and
    /// `entrypoint.sh`): it runs `az acr build -r <registry> -f <dockerfile> -t
    /// <repository>[/<image>]:<tag> https://[<git_access_token>@]github.com/<GITHUB_REPOSITORY>.git#<branch>:<folder>`,
    /// with `dockerfile` defaulting to `Dockerfile` (relative to `folder`), `tag` to
    /// the first 8 characters of the commit SHA and `branch` to `master`.
    fn acr_build_action(&mut self) {
        let step = self.step;
        let Some(uses) = step.uses.as_ref() else {
            return;
        };
        self.build("azure/acr-build", uses, 0, uses.value.trim_end().len());
        let resolved = |name: &str| -> Option<String> {
            let text = step.input(name)?;
            let e = self.scope().expand(&text.value);
            let v = e.text.trim().to_string();
            (e.is_resolved() && !v.is_empty()).then_some(v)
        };
        let given = |name: &str| step.input(name).is_some_and(|t| !t.value.trim().is_empty());
        let repository = self.scope().expand("${{ github.repository }}");
        let branch = if given("branch") {
            resolved("branch")
        } else {
            Some("master".to_string())
        };
        let folder = if given("folder") {
            resolved("folder")
        } else {
            Some(String::new())
        };
        let context = match (repository.is_resolved(), branch, &folder) {
            (true, Some(branch), Some(folder)) => Some(format!(
                "https://github.com/{}.git#{branch}:{folder}",
                repository.text.trim()
            )),
            _ => None,
        };
        let dockerfile = match (&folder, given("dockerfile")) {
            (Some(folder), false) => dockerfile_in(or_dot(folder), "Dockerfile"),
            (Some(folder), true) => {
                resolved("dockerfile").and_then(|f| dockerfile_in(or_dot(folder), &f))
            }
            (None, _) => None,
        };
        // The action puts the token in the URL it builds (`https://<token>@github.com/…`).
        let token = step
            .input("git_access_token")
            .filter(|t| !t.value.trim().is_empty())
            .map(|t| match self.scope().secret(&t.value) {
                Ok(value) => super::ContextToken::Known(value),
                Err(u) => super::ContextToken::Unseen {
                    written: u.written,
                    reason: u.reason,
                    through: None,
                },
            });
        self.set_build_inputs(BuildInputs {
            dockerfile,
            context,
            context_token: token,
            ..BuildInputs::default()
        });
        self.acr_build_action_target();
    }

    /// The image Azure/acr-build pushes: `<registry>.azurecr.io/<repository>[/<image>]:<tag>`,
    /// written where `repository` is.
    fn acr_build_action_target(&mut self) {
        let step = self.step;
        let Some(text) = step.input("repository") else {
            return;
        };
        let repository = self.value_in_text(0, &text.value);
        let at = repository.start();
        let mut extra: Vec<Unresolved> = Vec::new();
        let mut part = |name: &str, default: Option<String>| -> Option<String> {
            match step.input(name).filter(|t| !t.value.trim().is_empty()) {
                None => default,
                Some(t) => {
                    let e = self.scope().expand(&t.value);
                    if e.is_resolved() {
                        return Some(e.text.trim().to_string());
                    }
                    extra.extend(
                        e.unresolved
                            .into_iter()
                            .map(|u| Unresolved { offset: at, ..u }),
                    );
                    None
                }
            }
        };
        let registry = part("registry", None);
        let image = part("image", Some(String::new()));
        let sha = self.scope().expand("${{ github.sha }}");
        let short = sha
            .is_resolved()
            .then(|| sha.text.trim().chars().take(8).collect::<String>());
        let tag = part("tag", short);
        if tag.is_none() && extra.is_empty() {
            extra.push(Unresolved {
                written: "tag".into(),
                reason: "Azure/acr-build tags with the first 8 characters of GITHUB_SHA, which this run does not know".into(),
                offset: at,
            });
        }
        let Some(registry) = registry else {
            if step.input("registry").is_none() {
                return;
            }
            let mut v = Value {
                expanded: Expanded::default(),
                written: repository.written.clone(),
            };
            v.expanded.append(repository.expanded.clone());
            self.add(Role::Push, Origin::AcrBuildAction, text, &v, None, extra);
            return;
        };
        let login = if crate::reference::names_a_host(&registry.to_ascii_lowercase()) {
            registry.to_ascii_lowercase()
        } else {
            self.input
                .cloud
                .login_server_for(&registry.to_ascii_lowercase())
        };
        let mut v = Value {
            expanded: Expanded::default(),
            written: repository.written.clone(),
        };
        v.expanded.push_str(&format!("{login}/"), at);
        v.expanded.append(repository.expanded.clone());
        let end = repository.end();
        if let Some(image) = image.filter(|i| !i.is_empty()) {
            v.expanded.push_str(&format!("/{image}"), end);
        }
        if let Some(tag) = tag {
            v.expanded.push_str(&format!(":{tag}"), end);
        }
        self.add(Role::Push, Origin::AcrBuildAction, text, &v, None, extra);
    }

    fn build_push_action(&mut self) {
        let step = self.step;
        let Some(uses) = step.uses.as_ref() else {
            return;
        };
        self.build(
            "docker/build-push-action",
            uses,
            0,
            uses.value.trim_end().len(),
        );
        let inputs = self.build_push_inputs();
        self.set_build_inputs(inputs);
        // The action passes `builder` as `--builder` when it is not empty; else buildx
        // reads BUILDX_BUILDER from the step's environment.
        let named = match step.input("builder") {
            Some(t) => {
                let value = self.value_in_text(0, &t.value);
                self.builder_ref(t, &value, "docker/build-push-action `builder`")
            }
            None => None,
        };
        let named = named.or_else(|| {
            let at = self.location(uses, 0, uses.value.trim_end().len());
            self.buildx_builder_env(&at, None)
        });
        self.set_build_builder(named);
        let resolved_true = |name: &str| {
            step.input(name).is_some_and(|t| {
                let e = self.scope().expand(&t.value);
                e.is_resolved() && e.text.trim().eq_ignore_ascii_case("true")
            })
        };
        let docker_output = step.input("outputs").is_some_and(|t| {
            let e = self.scope().expand(&t.value);
            e.is_resolved() && loads_output(&e.text)
        });
        let load = resolved_true("load") || docker_output;
        let tags = step
            .input("tags")
            .map(|t| {
                Self::entries(t, true)
                    .into_iter()
                    .map(|(offset, entry)| self.value_in_text(offset, &entry))
                    .filter(|v| v.expanded.is_resolved())
                    .map(|v| v.expanded.text.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        self.set_build_output(tags, load);
        if let Some(text) = step.input("build-contexts") {
            for (offset, entry) in Self::entries(text, true) {
                let whole = self.value_in_text(offset, &entry);
                let Some((name, value)) = named_context(&whole) else {
                    if !whole.expanded.is_resolved() {
                        // `${{ cond && format('a=docker-image://{0}', x) || '' }}`: the
                        // entry depends on what cannot be known, as a whole.
                        self.add(
                            Role::Context,
                            Origin::BuildPushContexts,
                            text,
                            &whole,
                            None,
                            Vec::new(),
                        );
                    }
                    continue;
                };
                if is_registry_context(&value.written.text)
                    || is_registry_context(&value.expanded.text)
                {
                    self.add(
                        Role::Context,
                        Origin::BuildPushContexts,
                        text,
                        &value,
                        Some(name),
                        Vec::new(),
                    );
                }
            }
        }
        if let Some(text) = step.input("build-args") {
            for (offset, entry) in Self::entries(text, false) {
                if let Some(rest) = entry.strip_prefix("BUILDKIT_CONTEXT=") {
                    let skip = entry.len() - rest.len();
                    let value = self.value_in_text(offset, &entry).slice(skip);
                    self.add(
                        Role::Context,
                        Origin::BuildPushBuildArg,
                        text,
                        &value,
                        None,
                        Vec::new(),
                    );
                }
            }
        }
        for (input, from) in [("cache-from", true), ("cache-to", false)] {
            if let Some(text) = step.input(input) {
                for (offset, entry) in Self::entries(text, false) {
                    let value = self.value_in_text(offset, &entry);
                    self.cache_entry(Origin::BuildPushCache, text, &value, from);
                }
            }
        }
        self.build_push_load();
        // Does the step push? `push: true`, or an output that goes to a registry.
        let mut pushes = false;
        let mut undecided: Vec<Unresolved> = Vec::new();
        if let Some(text) = step.input("push") {
            let e = self.scope().expand(&text.value);
            if e.is_resolved() {
                pushes = e.text.trim().eq_ignore_ascii_case("true");
            } else {
                undecided = e.unresolved;
            }
        }
        if let Some(text) = step.input("outputs") {
            let e = self.scope().expand(&text.value);
            let lower = e.text.to_ascii_lowercase();
            pushes |= lower.contains("type=registry") || lower.contains("push=true");
        }
        let Some(tags) = step.input("tags") else {
            return;
        };
        if !pushes && !undecided.is_empty() {
            let push_text = step.input("push").cloned();
            for u in &undecided {
                if let Some(t) = &push_text {
                    let loc = self.location(t, u.offset, u.offset + u.written.len());
                    self.found
                        .undecided
                        .push((u.clone(), loc, self.step_ref.clone()));
                }
            }
        }
        // Tags it does not push are still names docker parses.
        let role = if pushes { Role::Push } else { Role::Tag };
        for (offset, entry) in Self::entries(tags, true) {
            let value = self.value_in_text(offset, &entry);
            self.add(role, Origin::BuildPushTags, tags, &value, None, Vec::new());
        }
    }

    /// The `platforms` input, and `load: true` with it.
    fn build_push_load(&mut self) {
        let step = self.step;
        let Some(text) = step.input("platforms") else {
            return;
        };
        let values: Vec<Value> = Self::entries(text, true)
            .into_iter()
            .map(|(offset, entry)| self.value_in_text(offset, &entry))
            .collect();
        self.set_build_platforms(text, &values);
        let loads = step.input("load").is_some_and(|t| {
            let e = self.scope().expand(&t.value);
            e.is_resolved() && e.text.trim().eq_ignore_ascii_case("true")
        });
        if loads {
            self.loaded("docker/build-push-action", text, &values);
        }
    }

    /// Records a loading build when its platforms resolve to more than one.
    fn loaded(&mut self, what: &str, text: &Text, values: &[Value]) {
        let Some((platforms, location)) = self.platforms_of(text, values) else {
            return;
        };
        if platforms.len() < 2 {
            return;
        }
        self.found.loads.push(LoadedBuild {
            what: what.to_string(),
            platforms,
            location,
            step: self.step_ref.clone(),
        });
    }

    /// `docker/setup-buildx-action`: input `driver`, `docker-container` by default.
    fn setup_buildx(&mut self) {
        let step = self.step;
        let Some(uses) = step.uses.as_ref() else {
            return;
        };
        let (driver, text) = match step.input("driver").filter(|t| !t.value.trim().is_empty()) {
            Some(t) => {
                let e = self.scope().expand(&t.value);
                let driver = e.is_resolved().then(|| e.text.trim().to_ascii_lowercase());
                (driver, t)
            }
            None => (Some(DEFAULT_DRIVER.to_string()), uses),
        };
        let location = self.location(text, 0, text.value.trim_end().len());
        let image_registry = step.input("driver-opts").and_then(|t| {
            Self::entries(t, true)
                .into_iter()
                .find_map(|(offset, entry)| image_opt(&self.value_in_text(offset, &entry)))
        });
        let in_use = step.input("use").is_none_or(|t| {
            let e = self.scope().expand(&t.value);
            !(e.is_resolved() && e.text.trim().eq_ignore_ascii_case("false"))
        });
        let name = step
            .input("name")
            .filter(|t| !t.value.trim().is_empty())
            .map(|t| {
                let e = self.scope().expand(&t.value);
                literal_name(e.is_resolved(), &e.text)
            });
        let proxy_env = step
            .input("driver-opts")
            .map(|t| proxy_opts(Self::entries(t, true).iter().map(|(_, e)| e.as_str())))
            .unwrap_or_default();
        let resolved: Vec<String> = step
            .input("driver-opts")
            .map(|t| {
                Self::entries(t, true)
                    .into_iter()
                    .map(|(offset, e)| self.value_in_text(offset, &e).expanded)
                    .filter(|e| e.is_resolved())
                    .map(|e| e.text)
                    .collect()
            })
            .unwrap_or_default();
        let proxy_loopback = super::proxy_url::loopback_opts(resolved.iter().map(String::as_str));
        self.found.builders.push(BuilderStep {
            what: "docker/setup-buildx-action".into(),
            driver,
            image_registry,
            in_use,
            location,
            step: self.step_ref.clone(),
            name,
            step_id: self.step_id(),
            proxy_env,
            proxy_loopback,
        });
    }

    fn step_id(&self) -> Option<String> {
        self.step
            .id
            .as_ref()
            .map(|t| t.value.trim().to_string())
            .filter(|id| !id.is_empty())
    }

    /// `docker buildx create [--driver X]`.
    fn buildx_create(&mut self, args: &[Value], location: Location) {
        let opts = options(
            args,
            &[
                "--driver",
                "--driver-opt",
                "--name",
                "--node",
                "--platform",
                "--buildkitd-flags",
                "--buildkitd-config",
                "--config",
                "--endpoint",
            ],
        );
        let driver = match values_of(&opts, &["--driver"]).next_back() {
            Some(v) => v
                .expanded
                .is_resolved()
                .then(|| v.expanded.text.trim().to_ascii_lowercase()),
            None => Some(DEFAULT_DRIVER.to_string()),
        };
        let image_registry = values_of(&opts, &["--driver-opt"])
            .flat_map(|v| v.expanded.text.split(','))
            .find_map(image_host);
        let name = values_of(&opts, &["--name"])
            .next_back()
            .map(|v| literal_name(v.expanded.is_resolved(), &v.expanded.text));
        let proxy_env = proxy_opts(
            values_of(&opts, &["--driver-opt"])
                .flat_map(|v| v.written.text.split(','))
                .collect::<Vec<_>>()
                .into_iter(),
        );
        let resolved: Vec<&str> = values_of(&opts, &["--driver-opt"])
            .filter(|v| v.expanded.is_resolved())
            .flat_map(|v| v.expanded.text.split(','))
            .collect();
        let proxy_loopback = super::proxy_url::loopback_opts(resolved.into_iter());
        self.found.builders.push(BuilderStep {
            what: "docker buildx create".into(),
            driver,
            image_registry,
            in_use: opts.iter().any(|(n, _)| n == "--use"),
            location,
            step: self.step_ref.clone(),
            name,
            step_id: self.step_id(),
            proxy_env,
            proxy_loopback,
        });
    }

    /// `docker/login-action` (input `registry`) or `azure/docker-login` (input
    /// `login-server`); both default to Docker Hub.
    fn login_action(&mut self, action: &str) {
        let step = self.step;
        let Some(uses) = step.uses.as_ref() else {
            return;
        };
        let input = if action == "docker/login-action" {
            "registry"
        } else {
            "login-server"
        };
        let (registry, text) = match step.input(input).filter(|t| !t.value.trim().is_empty()) {
            Some(t) => {
                let e = self.scope().expand(&t.value);
                let registry = e.is_resolved().then(|| registry_host(&e.text)).flatten();
                (registry, t)
            }
            None => (Some(crate::reference::DEFAULT_DOMAIN.to_string()), uses),
        };
        let location = self.location(text, 0, text.value.trim_end().len());
        self.found.logins.push(LoginStep {
            what: action.to_string(),
            registry,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            as_root: self.as_root,
            username: step
                .input("username")
                .map(|u| u.value.trim().to_string())
                .filter(|u| !u.is_empty()),
            username_value: step
                .input("username")
                .map(|u| self.scope().expand(u.value.trim()))
                .filter(|e| e.is_resolved())
                .map(|e| e.text.trim().to_string())
                .filter(|u| !u.is_empty()),
            job_token: step
                .input("password")
                .is_some_and(|p| self.is_job_token(&p.value)),
            ecr_ignore_storage: self.ecr_ignore_storage(),
        });
    }

    /// `azure/login`: an `az login`, with OIDC or not.
    fn azure_login(&mut self) {
        let Some(uses) = self.step.uses.as_ref() else {
            return;
        };
        let location = self.location(uses, 0, uses.value.trim_end().len());
        let subscription = self
            .step
            .input("subscription-id")
            .filter(|t| !t.value.trim().is_empty())
            .map(|t| {
                let e = self.scope().expand(t.value.trim());
                if e.is_resolved() {
                    Ok(e.text.trim().to_string())
                } else {
                    Err(t.value.trim().to_string())
                }
            });
        // `auth-type: IDENTITY` is `az login --identity`, with `client-id` as its
        // `--username` (https://github.com/Azure/login#login-with-system-assigned-managed-identity).
        let identity = self
            .step
            .input("auth-type")
            .is_some_and(|t| t.value.trim().eq_ignore_ascii_case("IDENTITY"));
        let username = self
            .step
            .input("client-id")
            .filter(|t| identity && !t.value.trim().is_empty())
            .map(|t| {
                let e = self.scope().expand(t.value.trim());
                AzArg {
                    written: t.value.trim().to_string(),
                    quoted: t.value.trim().to_string(),
                    value: e.is_resolved().then(|| e.text.trim().to_string()),
                    empty: Vec::new(),
                }
            });
        self.found.az.push(AzCommand {
            what: "azure/login".to_string(),
            login: Some(azure_login_is_oidc(self.step)),
            needs_token: false,
            as_root: false,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            registry: None,
            subscription,
            identity,
            service_principal: false,
            username,
            repository_action: None,
        });
    }

    /// An `az` command of a script: `words` follow the program name.
    fn az_command(
        &mut self,
        text: &Text,
        words: &[Word],
        span: (usize, usize),
        locals: &HashMap<String, Result<String, String>>,
    ) {
        let lits: Vec<String> = words
            .iter()
            .take(3)
            .map(|w| w.literal().unwrap_or_default())
            .collect();
        let word = |k: usize| lits.get(k).map(String::as_str).unwrap_or_default();
        let login = (word(0) == "login").then(|| {
            words.iter().any(|w| {
                w.literal().is_some_and(|l| {
                    l == "--federated-token" || l.starts_with("--federated-token=")
                })
            })
        });
        let needs_token = word(0) == "acr"
            && matches!(
                word(1),
                "login" | "build" | "run" | "import" | "repository" | "manifest" | "task"
            );
        let flag = |name: &str| {
            word(0) == "login" && words.iter().any(|w| w.literal().is_some_and(|l| l == name))
        };
        let (identity, service_principal) = (flag("--identity"), flag("--service-principal"));
        let what = std::iter::once("az")
            .chain(
                lits.iter()
                    .map(String::as_str)
                    .take_while(|l| !l.is_empty() && !l.starts_with('-')),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let location = self.location(text, span.0, span.1);
        let args = self.expand_all(text, words, locals);
        let opts = options(
            &args,
            &[
                "-n",
                "--name",
                "-r",
                "--registry",
                "--registry-name",
                "-s",
                "--subscription",
                "-g",
                "--resource-group",
                "--source",
                "-t",
                "--image",
                "--repository",
                "-u",
                "--username",
            ],
        );
        let value = |names: &[&str]| {
            opts.iter()
                .find(|(n, _)| names.contains(&n.as_str()))
                .and_then(|(_, v)| v.as_ref())
                .map(|v| {
                    if v.expanded.is_resolved() {
                        Ok(v.expanded.text.trim().to_string())
                    } else {
                        Err(v.written.text.trim().to_string())
                    }
                })
        };
        let manifest = (word(0), word(1)) == ("acr", "manifest");
        let registry_opts = az_acr_registry_options(word(1), word(2));
        let resolved = |names: &[&str]| value(names).and_then(Result::ok);
        // `az acr manifest delete|update-metadata <login server>/<repo>:<tag>`: the
        // manifest and its registry in one positional (azure-cli `acr/manifest.py`,
        // `_parse_fqdn`).
        let manifest_id = manifest
            .then(|| manifest_id(&opts))
            .flatten()
            .filter(|v| v.expanded.is_resolved())
            .and_then(|v| split_manifest_id(v.expanded.text.trim()));
        let repository_action = if word(0) == "acr" {
            let flags: Vec<&str> = opts.iter().map(|(n, _)| n.as_str()).collect();
            let image = match &manifest_id {
                Some((_, spec)) => Some(spec.clone()),
                None if manifest => resolved(&["-n", "--name"]),
                None => resolved(&["--image", "-t"]),
            };
            RepositoryAction::of(
                word(1),
                word(2),
                &flags,
                if manifest {
                    None
                } else {
                    resolved(&["--repository"])
                }
                .as_deref(),
                image.as_deref(),
            )
        } else {
            None
        };
        let registry = (word(0) == "acr")
            .then(|| value(registry_opts))
            .flatten()
            .and_then(Result::ok)
            .or_else(|| manifest_id.map(|(registry, _)| registry))
            .map(|n| n.to_ascii_lowercase())
            .filter(|n| !n.is_empty());
        // `az account set` selects with `-s`/`--subscription` (or `-n`/`--name`);
        // any other command takes `--subscription` for itself.
        let subscription = if (word(0), word(1)) == ("account", "set") {
            value(&["-s", "--subscription", "-n", "--name"])
        } else {
            value(&["--subscription"])
        };
        let username = (word(0) == "login")
            .then(|| {
                opts.iter()
                    .find(|(n, _)| n == "-u" || n == "--username")
                    .and_then(|(_, v)| v.as_ref())
            })
            .flatten()
            .map(|v| AzArg {
                written: v.written.text.trim().to_string(),
                quoted: quoted(&text.value, words, v),
                value: v
                    .expanded
                    .is_resolved()
                    .then(|| v.expanded.text.trim().to_string()),
                empty: v.expanded.empty.clone(),
            });
        self.found.az.push(AzCommand {
            what,
            login,
            needs_token,
            as_root: self.as_root,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            registry,
            subscription,
            identity,
            service_principal,
            username,
            repository_action,
        });
    }

    fn login(
        &mut self,
        what: &str,
        text: &Text,
        start: usize,
        end: usize,
        registry: Option<String>,
        username: Option<(String, Option<String>)>,
    ) {
        let location = self.location(text, start, end);
        let (username, username_value) = match username {
            Some((written, value)) => (Some(written), value),
            None => (None, None),
        };
        self.found.logins.push(LoginStep {
            what: what.to_string(),
            registry,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            as_root: self.as_root,
            username,
            username_value,
            job_token: false,
            ecr_ignore_storage: self.ecr_ignore_storage(),
        });
    }

    /// See [`LoginStep::ecr_ignore_storage`]: `true` in an `env:` block or acr-preflight's
    /// environment, or set where its value is not read here (an unresolved value, the
    /// step's own script, an earlier step's `$GITHUB_ENV`).
    fn ecr_ignore_storage(&self) -> bool {
        const VAR: &str = "AWS_ECR_IGNORE_CREDS_STORAGE";
        let written_elsewhere = self
            .step
            .run
            .as_ref()
            .is_some_and(|r| r.value.contains(VAR))
            || self.found.github_env.iter().any(|w| w.name == VAR);
        let in_env = self.step.env.contains(VAR)
            || self.input.job.env.contains(VAR)
            || self.input.workflow.env.contains(VAR)
            || self.input.process_env.contains_key(VAR);
        match self.scope().env_var(VAR) {
            Ok(v) => v.trim().eq_ignore_ascii_case("true") || written_elsewhere,
            Err(_) => in_env || written_elsewhere,
        }
    }

    /// `inputs` with a context token acr-preflight could not read traced further: see
    /// [`StepScan::trace_token`].
    fn traced(&self, mut inputs: BuildInputs) -> BuildInputs {
        if let Some(super::ContextToken::Unseen {
            written, reason, ..
        }) = &inputs.context_token
        {
            inputs.context_token = Some(self.trace_token(written, reason));
        }
        inputs
    }

    /// A token the build reads its context with, written as `written` (`$PAT`,
    /// `${{ secrets.GIT_PAT }}`), which did not resolve for `reason`. A shell variable
    /// is traced to the value it holds: the script's own assignments before the build
    /// (`PAT=${{ secrets.GIT_PAT }}`, `export PAT="…"`), then the step's, job's and
    /// workflow's `env:`, as the shell sees them. A value that is one `${{ … }}` is then
    /// read as [`Scope::secret`] reads it: known when acr-preflight's own step receives
    /// the same secret. Anything else (a command substitution, a file, a variable set
    /// nowhere in the file) is not traced.
    fn trace_token(&self, written: &str, reason: &str) -> super::ContextToken {
        /// Variables followed from one to the next, at most.
        const HOPS: usize = 8;
        let scope = self.scope();
        let mut current = written.trim().to_string();
        let mut through: Option<String> = None;
        let mut set_by = String::new();
        let mut first = current.clone();
        for _ in 0..=HOPS {
            if whole_expression(&current) {
                return match scope.secret(&current) {
                    Ok(value) => super::ContextToken::Known(value),
                    Err(u) => super::ContextToken::Unseen {
                        written: u.written,
                        reason: u.reason,
                        through,
                    },
                };
            }
            let Some(name) = variable_name(&current).map(str::to_string) else {
                break;
            };
            let env = |e: &super::model::Env| e.get(&name).map(|v| v.value.clone());
            // As the shell sees it: the script's own assignment, the step's `env:`, an
            // earlier step's `$GITHUB_ENV` write, the job's and the workflow's `env:`.
            let written = || {
                self.found
                    .github_env
                    .iter()
                    .rev()
                    .find(|w| w.name == name && w.step.index < self.step_ref.index)
                    .map(|w| {
                        let at =
                            format!("written to $GITHUB_ENV by the step at line {}", w.step.line);
                        (w.value.clone(), at)
                    })
            };
            let found = match self.script_sources.get(&name) {
                Some(v) => Some((v.clone(), "set by the script".to_string())),
                None => env(&self.step.env)
                    .map(|v| (v, "of the step's `env:`".to_string()))
                    .or_else(written)
                    .or_else(|| {
                        env(&self.input.job.env).map(|v| (v, "of the job's `env:`".to_string()))
                    })
                    .or_else(|| {
                        env(&self.input.workflow.env)
                            .map(|v| (v, "of the workflow's `env:`".to_string()))
                    }),
            };
            let Some((value, at)) = found else {
                break;
            };
            if through.is_none() {
                first = current.clone();
                through = Some(format!("`{current}` ({at})"));
            }
            set_by = format!("`{current}` is {at}");
            current = value.trim().to_string();
        }
        let shown: String = current
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        let reason = if set_by.is_empty() {
            format!("not traced: {reason}")
        } else {
            format!(
                "not traced: {set_by} from `{shown}`, which is neither one `${{{{ … }}}}` expression nor another variable (a command substitution or a file is read only when the script runs)"
            )
        };
        super::ContextToken::Unseen {
            written: first,
            reason,
            through: None,
        }
    }

    /// Reads the commands of `script`, which starts in `base`.
    fn script(&mut self, text: &Text, dialect: Dialect, base: workdir::Base) {
        let script = text.value.as_str();
        if let Some(found) = super::audience::arm_token_use(script, dialect) {
            let location = self.location(text, found.at.start, found.at.end);
            self.found.arm_tokens.push(ArmTokenStep {
                found,
                location,
                step: self.step_ref.clone(),
            });
        }
        let commands = shell::parse(script, dialect);
        self.posix = dialect == Dialect::Posix;
        self.script_sources.clear();
        let mut locals: HashMap<String, Result<String, String>> = HashMap::new();
        let mut previous: Option<&Command> = None;
        let mut dirs = workdir::Dirs::new(base);
        for command in &commands {
            self.base = dirs.enter(command).clone();
            if self.change_dir(text, command, &locals, &mut dirs) {
                previous = Some(command);
                continue;
            }
            self.stdin_job_token =
                previous.is_some_and(|p| self.pipes_job_token(script, p, command));
            self.command(text, command, &mut locals);
            previous = Some(command);
        }
        self.base = workdir::Base::root();
    }

    fn command(
        &mut self,
        text: &Text,
        command: &Command,
        locals: &mut HashMap<String, Result<String, String>>,
    ) {
        let script = text.value.as_str();
        let scope = self.scope();
        let words = &command.words;
        let mut i = 0;
        // Assignments: alone they set script variables; before a command, only its env.
        let is_assignment = |w: &Word| {
            let p = w.literal_prefix();
            p.find('=').is_some_and(|eq| {
                eq > 0
                    && p[..eq]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !p.starts_with(|c: char| c.is_ascii_digit())
            })
        };
        let assign = |w: &Word, locals: &mut HashMap<String, Result<String, String>>| {
            let e = w.expand(script, &scope, locals);
            if let Some(eq) = e.text.find('=') {
                let name = e.text[..eq].to_string();
                let value = match e.unresolved.first() {
                    None => Ok(e.text[eq + 1..].to_string()),
                    Some(u) => Err(format!(
                        "the script sets it from {}: {}",
                        u.written, u.reason
                    )),
                };
                locals.insert(name, value);
            }
        };
        // The value as written, for tracing a token back to the expression it holds.
        let source = |w: &Word| {
            let written = w.as_written(script).text;
            written
                .split_once('=')
                .map(|(name, value)| (name.to_string(), value.to_string()))
        };
        while i < words.len() && is_assignment(&words[i]) {
            i += 1;
        }
        if i == words.len() {
            for w in words {
                assign(w, locals);
                self.script_sources.extend(source(w));
            }
            return;
        }
        let lit = |k: usize| words.get(k).and_then(Word::literal).unwrap_or_default();
        // `echo "NAME=value" >> "$GITHUB_ENV"`: the redirection's target is the last word.
        let to_github_env = words.last().is_some_and(|w| {
            matches!(w.parts.as_slice(), [shell::Part::Var { name, .. }] if name == "GITHUB_ENV")
        });
        if to_github_env && matches!(lit(i).as_str(), "echo" | "printf") {
            for w in &words[i + 1..words.len() - 1] {
                if let Some((name, value)) =
                    source(w).filter(|(n, _)| variable_name(&format!("${n}")) == Some(n))
                {
                    self.found.github_env.push(EnvWrite {
                        name,
                        value,
                        step: self.step_ref.clone(),
                    });
                }
            }
            return;
        }
        if matches!(
            lit(i).as_str(),
            "export" | "declare" | "local" | "readonly" | "typeset"
        ) {
            for w in &words[i + 1..] {
                if is_assignment(w) {
                    assign(w, locals);
                    self.script_sources.extend(source(w));
                }
            }
            return;
        }
        // Wrappers that run the next word as the command.
        self.as_root = false;
        let mut prefix: Vec<&Word> = words[..i].iter().collect();
        while let "sudo" | "time" | "exec" | "command" | "nohup" | "env" = lit(i).as_str() {
            let sudo = lit(i) == "sudo";
            let wrapper_at = words.get(i).map_or(0, |w| w.raw.start);
            self.as_root |= sudo;
            i += 1;
            let mut keep_env = !sudo;
            while i < words.len() && (lit(i).starts_with('-') || is_assignment(&words[i])) {
                if is_assignment(&words[i]) {
                    prefix.push(&words[i]);
                } else if lit(i) == "-E" || lit(i).starts_with("--preserve-env") {
                    keep_env = true;
                }
                i += 1;
            }
            // `sudo` resets the environment (env_reset) unless told to keep it (`-E`):
            // only the assignments after it reach the command.
            if !keep_env {
                prefix.retain(|w| w.raw.start > wrapper_at);
            }
        }
        self.inline_config = prefix
            .iter()
            .rfind(|w| w.literal_prefix().starts_with("DOCKER_CONFIG="))
            .map(|w| {
                let e = w.expand(script, &scope, locals);
                let written = script.get(w.raw.clone()).unwrap_or_default().to_string();
                let value = e
                    .unresolved
                    .is_empty()
                    .then(|| e.text.split_once('=').map(|(_, v)| v.to_string()))
                    .flatten();
                let (line, column) = text.locate(w.raw.clone());
                InlineConfig {
                    written,
                    value,
                    location: Location {
                        file: self.input.workflow.path.clone(),
                        line: Some(line),
                        column,
                    },
                }
            });
        let program = lit(i);
        let program = program.rsplit('/').next().unwrap_or("").to_string();
        let start = words.get(i).map(|w| w.raw.start).unwrap_or(0);
        let end = words.last().map(|w| w.raw.end).unwrap_or(start);
        let first_line_end = script[start..end]
            .find('\n')
            .map(|n| start + n)
            .unwrap_or(end);
        let span = (start, first_line_end);
        if program == "az" {
            self.az_command(text, &words[i + 1..], span, locals);
        }
        if matches!(program.as_str(), "sh" | "bash" | "dash") {
            self.shell_c(text, &words[i + 1..]);
        }
        match program.as_str() {
            "docker" => self.docker_command(text, &words[i + 1..], span, locals),
            "az" if lit(i + 1) == "acr" && lit(i + 2) == "login" => {
                self.az_acr_login(text, &words[i + 3..], span, locals)
            }
            "az" if lit(i + 1) == "acr" && lit(i + 2) == "task" && lit(i + 3) == "run" => {
                self.build("az acr task run", text, start, first_line_end);
                let args = self.expand_all(text, &words[i + 4..], locals);
                self.set_build_inputs(task_run_inputs(&args));
            }
            "az" if lit(i + 1) == "acr" && matches!(lit(i + 2).as_str(), "build" | "run") => {
                let sub = if lit(i + 2) == "build" {
                    "az acr build"
                } else {
                    "az acr run"
                };
                self.build(sub, text, start, first_line_end);
                let args = self.expand_all(text, &words[i + 3..], locals);
                self.az_acr(text, &args, sub == "az acr build");
            }
            _ => {}
        }
    }

    /// `docker …` after the program name: a login, or a build or push (with its global
    /// options skipped). `span` is the command's start and the end of its first line.
    fn docker_command(
        &mut self,
        text: &Text,
        words: &[Word],
        (start, first_line_end): (usize, usize),
        locals: &mut HashMap<String, Result<String, String>>,
    ) {
        let lit = |k: usize| words.get(k).and_then(Word::literal).unwrap_or_default();
        let mut k = 0;
        // Global options before the subcommand.
        while lit(k).starts_with('-') {
            let opt = lit(k);
            let at = k;
            k += 1;
            if opt == "--config" || opt.starts_with("--config=") {
                // `docker --config /x build`: this command reads /x/config.json.
                let from = if opt == "--config" { k } else { at };
                if let Some(value) = words.get(from) {
                    let args = self.expand_all(text, std::slice::from_ref(value), locals);
                    if let (Some(v), Some(first)) = (args.first(), words.get(at)) {
                        let e = &v.expanded;
                        let raw = first.raw.start..value.raw.end;
                        let script = text.value.as_str();
                        let (line, column) = text.locate(raw.clone());
                        self.inline_config = Some(InlineConfig {
                            written: script.get(raw).unwrap_or_default().to_string(),
                            value: e.unresolved.is_empty().then(|| {
                                e.text
                                    .strip_prefix("--config=")
                                    .unwrap_or(&e.text)
                                    .to_string()
                            }),
                            location: Location {
                                file: self.input.workflow.path.clone(),
                                line: Some(line),
                                column,
                            },
                        });
                    }
                }
            }
            if matches!(
                opt.as_str(),
                "--config" | "-c" | "--context" | "-H" | "--host" | "-l" | "--log-level"
            ) {
                k += 1;
            }
        }
        if lit(k) == "login" {
            let args = self.expand_all(text, &words[(k + 1).min(words.len())..], locals);
            let opts = options(&args, &["-u", "--username", "-p", "--password"]);
            let registry = match opts.iter().find(|(n, _)| n.is_empty()) {
                Some((_, Some(v))) => v
                    .expanded
                    .is_resolved()
                    .then(|| registry_host(&v.expanded.text))
                    .flatten(),
                _ => Some(crate::reference::DEFAULT_DOMAIN.to_string()),
            };
            let username = values_of(&opts, &["-u", "--username"])
                .next_back()
                .map(|v| {
                    let value = v
                        .expanded
                        .is_resolved()
                        .then(|| v.expanded.text.trim().to_string())
                        .filter(|u| !u.is_empty());
                    (v.written.text.trim().to_string(), value)
                });
            let login_words = &words[(k + 1).min(words.len())..];
            let job_token = self.login_job_token(text.value.as_str(), login_words);
            self.login(
                "docker login",
                text,
                start,
                first_line_end,
                registry,
                username,
            );
            if let Some(login) = self.found.logins.last_mut() {
                login.job_token = job_token;
            }
            return;
        }
        if (lit(k).as_str(), lit(k + 1).as_str()) == ("buildx", "use") {
            let args = self.expand_all(text, &words[(k + 2).min(words.len())..], locals);
            let opts = options(&args, &["--builder"]);
            if let Some((_, Some(v))) = opts.iter().find(|(n, _)| n.is_empty())
                && let Some(named) = self.builder_ref(text, v, "`docker buildx use`")
            {
                self.found.switches.push(BuilderSwitch {
                    named,
                    step: self.step_ref.clone(),
                });
            }
            return;
        }
        if (lit(k).as_str(), lit(k + 1).as_str()) == ("buildx", "create") {
            let args = self.expand_all(text, &words[(k + 2).min(words.len())..], locals);
            let location = self.location(text, start, first_line_end);
            self.buildx_create(&args, location);
            return;
        }
        if lit(k) == "run" || (lit(k).as_str(), lit(k + 1).as_str()) == ("container", "run") {
            let from = if lit(k) == "run" { k + 1 } else { k + 2 };
            let args = self.expand_all(text, &words[from.min(words.len())..], locals);
            self.container_push_tool(text, &args, start, first_line_end);
            return;
        }
        let bake_from = match (lit(k).as_str(), lit(k + 1).as_str()) {
            ("buildx", "bake") => Some(k + 2),
            ("bake", _) => Some(k + 1),
            _ => None,
        };
        if let Some(from) = bake_from {
            self.build("docker buildx bake", text, start, first_line_end);
            self.bake_command(text, &words[from.min(words.len())..], locals);
            return;
        }
        if self.image_command(
            text,
            &words[k.min(words.len())..],
            (start, first_line_end),
            locals,
        ) {
            return;
        }
        let (sub, args_from) = match (lit(k).as_str(), lit(k + 1).as_str()) {
            ("buildx", "build" | "b") => ("docker buildx build", k + 2),
            ("build", _) => ("docker build", k + 1),
            ("image", "build") => ("docker build", k + 2),
            ("push", _) => ("docker push", k + 1),
            ("image", "push") => ("docker push", k + 2),
            _ => return,
        };
        self.build(sub, text, start, first_line_end);
        let args = self.expand_all(text, &words[args_from.min(words.len())..], locals);
        if sub == "docker push" {
            self.docker_push(text, &args);
            return;
        }
        self.docker_build(sub, text, &args);
        if sub == "docker buildx build" {
            let opts = options(&args, &["--builder"]);
            let flag = values_of(&opts, &["--builder"]).next_back();
            let named = match flag {
                Some(v) => self.builder_ref(text, v, "`--builder`"),
                None => {
                    let at = self.location(text, start, first_line_end);
                    self.buildx_builder_env(&at, Some(locals))
                }
            };
            self.set_build_builder(named);
        }
    }

    /// `sh -c '…'`: the `docker run` commands of the inner script, read one level deep
    /// ([`shell::inner_commands`]), for the push tools they start (P29). The inner shell
    /// is another process: the outer script's unexported variables are not its.
    fn shell_c(&mut self, text: &Text, words: &[Word]) {
        if !self.posix {
            return;
        }
        let lit = |k: usize| words.get(k).and_then(Word::literal).unwrap_or_default();
        let mut k = 0;
        let mut c = false;
        // Options before the command string: `--norc`, `-e`, `-o pipefail`, `-ec`.
        while lit(k).starts_with(['-', '+']) {
            let opt = lit(k);
            k += 1;
            if opt.starts_with("--") {
                continue;
            }
            c |= opt.starts_with('-') && opt.contains('c');
            if opt.ends_with('o') || opt.ends_with('O') {
                k += 1;
            }
        }
        let Some(inner) = words
            .get(k)
            .filter(|_| c)
            .and_then(|w| shell::inner_commands(text.value.as_str(), w))
        else {
            return;
        };
        let locals = HashMap::new();
        for command in &inner {
            let words = &command.words;
            let lit = |k: usize| words.get(k).and_then(Word::literal).unwrap_or_default();
            if lit(0).rsplit('/').next() != Some("docker") {
                continue;
            }
            let from = match (lit(1).as_str(), lit(2).as_str()) {
                ("run", _) => 2,
                ("container", "run") => 3,
                _ => continue,
            };
            let start = words.first().map_or(0, |w| w.raw.start);
            let end = words.last().map_or(start, |w| w.raw.end);
            let first_line_end = text.value.as_str()[start..end]
                .find('\n')
                .map_or(end, |n| start + n);
            let args = self.expand_all(text, &words[from.min(words.len())..], &locals);
            self.container_push_tool(text, &args, start, first_line_end);
        }
    }

    /// `docker run` of a push tool's image with a docker config mounted in (P29).
    fn container_push_tool(&mut self, text: &Text, args: &[Value], start: usize, end: usize) {
        let resolved: Vec<Option<&str>> = args
            .iter()
            .map(|a| a.expanded.is_resolved().then_some(a.expanded.text.as_str()))
            .collect();
        let words: Vec<super::push_tools::Arg> = args
            .iter()
            .zip(&resolved)
            .map(|(a, value)| super::push_tools::Arg {
                value: *value,
                written: a.written.text.as_str(),
            })
            .collect();
        if let Some(found) = super::push_tools::docker_run(&words) {
            let location = self.location(text, start, end);
            self.found.push_tools.push(PushToolStep {
                found,
                location,
                step: self.step_ref.clone(),
                after_preflight: self.after,
            });
        }
    }

    /// `az acr login` and its arguments: the login server it logs in to (a name expands
    /// with the cloud's suffix); none with `--expose-token`, which writes no docker config.
    fn az_acr_login(
        &mut self,
        text: &Text,
        words: &[Word],
        (start, first_line_end): (usize, usize),
        locals: &mut HashMap<String, Result<String, String>>,
    ) {
        let args = self.expand_all(text, words, locals);
        let opts = options(
            &args,
            &[
                "-n",
                "--name",
                "-u",
                "--username",
                "-p",
                "--password",
                "--suffix",
                "--subscription",
            ],
        );
        if opts.iter().any(|(n, _)| n == "--expose-token" || n == "-t") {
            return;
        }
        let name = opts
            .iter()
            .find(|(n, _)| n == "-n" || n == "--name")
            .and_then(|(_, v)| v.as_ref());
        let registry = name.and_then(|v| {
            if !v.expanded.is_resolved() {
                return None;
            }
            let n = v.expanded.text.trim().to_ascii_lowercase();
            if n.is_empty() {
                None
            } else if crate::reference::names_a_host(&n) {
                registry_host(&n)
            } else {
                Some(self.input.cloud.login_server_for(&n))
            }
        });
        self.login("az acr login", text, start, first_line_end, registry, None);
    }

    fn expand_all(
        &self,
        text: &Text,
        words: &[Word],
        locals: &HashMap<String, Result<String, String>>,
    ) -> Vec<Value> {
        let script = text.value.as_str();
        let scope = self.scope();
        words
            .iter()
            .map(|w| Value {
                expanded: w.expand(script, &scope, locals),
                written: w.as_written(script),
            })
            .collect()
    }

    fn docker_build(&mut self, what: &str, text: &Text, args: &[Value]) {
        let opts = options(
            args,
            &[
                "-t",
                "--tag",
                "--build-context",
                "--build-arg",
                "-o",
                "--output",
                "-f",
                "--file",
                "--target",
                "--platform",
                "--cache-from",
                "--cache-to",
                "--label",
                "--secret",
                "--ssh",
                "--network",
                "--progress",
                "--iidfile",
                "--metadata-file",
                "--builder",
                "--attest",
                "--sbom",
                "--provenance",
                "--annotation",
                "--add-host",
                "--shm-size",
                "--ulimit",
                "--allow",
                "--call",
                "--cgroup-parent",
            ],
        );
        let inputs = self.traced(cli_build_inputs(&opts));
        self.set_build_inputs(inputs);
        let tags = values_of(&opts, &["-t", "--tag"])
            .filter(|v| v.expanded.is_resolved())
            .map(|v| v.expanded.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let load = opts.iter().any(|(n, v)| match (n.as_str(), v) {
            ("--load", None) => true,
            ("-o" | "--output", Some(v)) => loads_output(&v.expanded.text),
            _ => false,
        });
        self.set_build_output(tags, load);
        let mut push = false;
        let mut load = false;
        let mut platforms: Vec<Value> = Vec::new();
        for (name, value) in &opts {
            match (name.as_str(), value) {
                ("--push", None) => push = true,
                ("--load", None) => load = true,
                ("--platform", Some(v)) => platforms.push(v.slice(0)),
                ("-o" | "--output", Some(v)) => {
                    let lower = v.expanded.text.to_ascii_lowercase();
                    push |= lower.contains("type=registry") || lower.contains("push=true");
                }
                _ => {}
            }
        }
        self.set_build_platforms(text, &platforms);
        if load {
            self.loaded(what, text, &platforms);
        }
        for (name, value) in opts {
            let Some(value) = value else { continue };
            match name.as_str() {
                "--build-context" => {
                    let Some((ctx_name, v)) = named_context(&value) else {
                        if !value.expanded.is_resolved() {
                            self.add(
                                Role::Context,
                                Origin::BuildContextFlag,
                                text,
                                &value,
                                None,
                                Vec::new(),
                            );
                        }
                        continue;
                    };
                    if is_registry_context(&v.written.text) || is_registry_context(&v.expanded.text)
                    {
                        self.add(
                            Role::Context,
                            Origin::BuildContextFlag,
                            text,
                            &v,
                            Some(ctx_name),
                            Vec::new(),
                        );
                    }
                }
                "--build-arg" => self.buildkit_arg(text, &value, Origin::BuildArg),
                "-t" | "--tag" => {
                    let role = if push { Role::Push } else { Role::Tag };
                    self.add(role, Origin::BuildTag, text, &value, None, Vec::new())
                }
                "--cache-from" => self.cache_entry(Origin::CacheFlag, text, &value, true),
                "--cache-to" => self.cache_entry(Origin::CacheFlag, text, &value, false),
                _ => {}
            }
        }
    }

    fn buildkit_arg(&mut self, text: &Text, value: &Value, origin: Origin) {
        let prefix = "BUILDKIT_CONTEXT=";
        if value.written.text.starts_with(prefix) {
            let v = value.slice(prefix.len());
            self.add(Role::Context, origin, text, &v, None, Vec::new());
        }
    }

    fn docker_push(&mut self, text: &Text, args: &[Value]) {
        for (name, value) in options(args, &["--platform"]) {
            if name.is_empty()
                && let Some(v) = value
            {
                self.add(Role::Push, Origin::DockerPush, text, &v, None, Vec::new());
            }
        }
    }

    fn az_acr(&mut self, text: &Text, args: &[Value], build: bool) {
        let opts = options(
            args,
            &[
                "-r",
                "--registry",
                "-t",
                "--image",
                "-f",
                "--file",
                "--build-arg",
                "--secret-build-arg",
                "--platform",
                "--target",
                "--timeout",
                "-g",
                "--resource-group",
                "--agent-pool",
                "--log-template",
                "--source-acr-auth-id",
                "--auth-mode",
                "--set",
                "--set-secret",
                "--values",
                "--cmd",
                "--subscription",
                "--output",
                "-o",
                "--query",
            ],
        );
        if build {
            // For a local folder, `--file` is relative to the working directory, not to
            // the folder (azure-cli `acr/build.py`: "If docker_file_path is not
            // specified, the default is Dockerfile in source_location. Otherwise, it's
            // based on current working directory."); a remote context's Dockerfile is
            // not a workspace file.
            let mut inputs = self.traced(cli_build_inputs(&opts));
            if inputs.local_context.is_none() {
                inputs.dockerfile = None;
            }
            self.set_build_inputs(inputs);
        } else {
            self.set_build_inputs(run_inputs(&opts));
        }
        let no_push = opts.iter().any(|(n, _)| n == "--no-push");
        if let Some(build) = self.found.builds.last_mut()
            && let Some((_, Some(pool))) = opts.iter().find(|(n, _)| n == "--agent-pool")
        {
            build.agent_pool = Some(pool.written.text.trim().to_string());
        }
        let registry = opts
            .iter()
            .find(|(n, _)| n == "-r" || n == "--registry")
            .and_then(|(_, v)| v.as_ref());
        for (name, value) in &opts {
            let Some(value) = value else { continue };
            match name.as_str() {
                "" if value
                    .expanded
                    .text
                    .to_ascii_lowercase()
                    .starts_with("oci://")
                    || value
                        .written
                        .text
                        .to_ascii_lowercase()
                        .starts_with("oci://") =>
                {
                    let origin = if build {
                        Origin::AcrBuildContext
                    } else {
                        Origin::AcrRunContext
                    };
                    self.add(Role::Context, origin, text, value, None, Vec::new());
                }
                "--build-arg" => self.buildkit_arg(text, value, Origin::BuildArg),
                "-t" | "--image" if build && !no_push => {
                    let Some(registry) = registry else {
                        // az falls back to `az configure --defaults acr=…`.
                        let missing = Unresolved {
                            written: "--registry".into(),
                            reason: "the command gives no `--registry`, so az uses its configured default (`az configure --defaults acr=…`), which acr-preflight does not read".into(),
                            offset: value.start(),
                        };
                        self.add(
                            Role::Push,
                            Origin::AcrBuildImage,
                            text,
                            value,
                            None,
                            vec![missing],
                        );
                        continue;
                    };
                    let login = if registry.expanded.is_resolved() {
                        let r = registry.expanded.text.trim().to_ascii_lowercase();
                        if crate::reference::names_a_host(&r) {
                            r
                        } else {
                            self.input.cloud.login_server_for(&r)
                        }
                    } else {
                        registry.written.text.clone()
                    };
                    let mut v = Value {
                        expanded: Expanded::default(),
                        written: value.written.clone(),
                    };
                    let image = value.expanded.text.trim_start_matches('/');
                    let prefixed = if image.to_ascii_lowercase().starts_with(&format!("{login}/")) {
                        String::new()
                    } else {
                        format!("{login}/")
                    };
                    v.expanded.push_str(&prefixed, value.start());
                    v.expanded.append(value.expanded.clone());
                    let extra = registry.expanded.unresolved.clone();
                    self.add(Role::Push, Origin::AcrBuildImage, text, &v, None, extra);
                }
                _ => {}
            }
        }
    }
}

/// The driver of a builder created without one (buildx and setup-buildx-action alike).
const DEFAULT_DRIVER: &str = "docker-container";

/// An output that loads into the daemon's image store: `type=docker` (not `type=docker`
/// with a `dest=`, which writes a tarball).
fn loads_output(output: &str) -> bool {
    output.lines().flat_map(|l| l.split(';')).any(|o| {
        let fields: Vec<&str> = o.split(',').map(str::trim).collect();
        fields.iter().any(|f| f.eq_ignore_ascii_case("type=docker"))
            && !fields
                .iter()
                .any(|f| f.to_ascii_lowercase().starts_with("dest="))
    })
}

/// The registry host of a driver option `image=REF` (Docker Hub when REF names none).
fn image_host(opt: &str) -> Option<String> {
    let (key, image) = opt.trim().split_once('=')?;
    if !key.trim().eq_ignore_ascii_case("image") || image.trim().is_empty() {
        return None;
    }
    let image = image.trim();
    Some(match image.split_once('/') {
        Some((first, _)) if crate::reference::names_a_host(first) => {
            crate::reference::login_registry(first)
        }
        _ => crate::reference::DEFAULT_DOMAIN.to_string(),
    })
}

/// The proxy variables that driver options set in BuildKit's environment
/// (`env.http_proxy=…`, `"env.no_proxy='a,b'"`), lower-case, each once.
fn proxy_opts<'a>(entries: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in entries {
        let entry = entry.trim().trim_start_matches(['"', '\'']);
        let Some((key, _)) = entry.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let Some(name) = key.strip_prefix("env.") else {
            continue;
        };
        if PROXY_VARIABLES.contains(&name) && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// The proxy variables Go's `net/http` (docker, BuildKit) reads, lower-case; each is
/// also read in upper case.
pub const PROXY_VARIABLES: &[&str] = &["http_proxy", "https_proxy", "no_proxy"];

/// A builder name given as `value`: a literal when it resolves to one.
fn literal_name(resolved: bool, value: &str) -> BuilderName {
    match value.trim() {
        v if resolved && !v.is_empty() => BuilderName::Literal(v.to_string()),
        _ => BuilderName::Unknown,
    }
}

/// `${{ steps.<id>.outputs.name }}`, the whole value: the step id.
fn step_output_name(written: &str) -> Option<String> {
    let inner = written
        .trim()
        .strip_prefix("${{")?
        .strip_suffix("}}")?
        .trim();
    let id = inner
        .strip_prefix("steps.")?
        .strip_suffix(".outputs.name")?;
    (!id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then(|| id.to_string())
}

/// [`image_host`] of a resolved driver-opts entry.
fn image_opt(value: &Value) -> Option<String> {
    value
        .expanded
        .is_resolved()
        .then(|| image_host(&value.expanded.text))
        .flatten()
}

/// `name=value` of a named context, split at the first `=` outside `${{ … }}`; when
/// the only `=` comes from a resolved expression, at the first `=` of its value.
/// `None` when there is no `=` that is known to be there.
fn named_context(whole: &Value) -> Option<(String, Value)> {
    let written = &whole.written.text;
    if let Some(eq) = outside_expressions(written, '=') {
        return Some((written[..eq].trim().to_string(), whole.slice(eq + 1)));
    }
    if !whole.expanded.is_resolved() {
        return None;
    }
    let eq = whole.expanded.text.find('=')?;
    let name = whole.expanded.text[..eq].trim().to_string();
    Some((
        name,
        Value {
            expanded: whole.expanded.tail(eq + 1),
            written: whole.written.clone(),
        },
    ))
}

/// The byte index of the first `c` of `s` outside `${{ … }}`.
fn outside_expressions(s: &str, c: char) -> Option<usize> {
    let mut in_expr = false;
    let mut i = 0;
    while i < s.len() {
        let rest = &s.as_bytes()[i..];
        if !in_expr && rest.starts_with(b"${{") {
            in_expr = true;
            i += 3;
            continue;
        }
        if in_expr && rest.starts_with(b"}}") {
            in_expr = false;
            i += 2;
            continue;
        }
        if !in_expr && s.is_char_boundary(i) && s[i..].starts_with(c) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The registry host a login names (`https://MyReg.azurecr.io/` → `myreg.azurecr.io`),
/// Docker Hub's names as `docker.io`; `None` when it is blank.
fn registry_host(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(&v);
    let host = v.split('/').next().unwrap_or("").trim();
    if host.is_empty() {
        return None;
    }
    Some(crate::reference::login_registry(host))
}

/// `docker-image://` or `oci-layout://` (the named-context sources that are images).
fn is_registry_context(value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    lower.starts_with("docker-image://") || lower.starts_with("oci-layout://")
}

/// The platforms of `platforms:` entries or `--platform` values (each may list several,
/// comma-separated), each once, in order.
fn distinct_platforms<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for platform in values.flat_map(|v| v.split(',')).map(str::trim) {
        if !platform.is_empty() && !out.iter().any(|p| p.eq_ignore_ascii_case(platform)) {
            out.push(platform.to_string());
        }
    }
    out
}

/// The Dockerfile and build-args of a command-line build: `--file` is relative to the
/// working directory (taken as the workspace), for `docker build` and for `az acr
/// build` of a local folder alike; without it, `Dockerfile` in the context folder.
/// A value that resolves to a non-empty text, trimmed.
fn known(v: &Value) -> Option<String> {
    let t = v.expanded.text.trim();
    (v.expanded.is_resolved() && !t.is_empty()).then(|| t.to_string())
}

/// `az acr run [-f <file> | --cmd <command>] <source>` (azure-cli `acr/run.py`): a local
/// folder is packed and uploaded without a Dockerfile, and ACR Tasks reads the task
/// file (`-f`, `acb.yaml` by default) from inside the upload; `--cmd` reads none, and
/// `/dev/null` sends no folder.
fn run_inputs(opts: &[(String, Option<Value>)]) -> BuildInputs {
    let mut inputs = cli_build_inputs(opts);
    inputs.dockerfile = None;
    inputs.build_args.clear();
    if inputs
        .context
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("/dev/null"))
    {
        inputs.local_context = None;
    }
    let Some(context) = inputs.local_context.clone() else {
        return inputs;
    };
    if values_of(opts, &["--cmd"]).next().is_some() {
        return inputs;
    }
    let file = match values_of(opts, &["-f", "--file"]).next_back() {
        None => Some("acb.yaml".to_string()),
        Some(v) => known(v),
    };
    inputs.task_file = file
        .map(|f| f.trim_start_matches("./").to_string())
        .filter(|f| f != "-" && !f.starts_with('/') && !f.starts_with("../"))
        .and_then(|f| dockerfile_in(&context, &f));
    inputs
}

/// The options that name the registry of `az acr <group> [<command>]`. In azure-cli's
/// `acr/_params.py`, `registry_name` is `--name`/`-n` for the registry's own commands
/// (`login`, `show`, `repository …`, `import`, where `-r` names the *source* registry),
/// and `--registry`/`-r` in the groups whose `-n` names something else: a build or run,
/// a task, a manifest, a token…
/// <https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_params.py>
/// The positional manifest id of an `az acr manifest` command: the first operand after
/// the command words that is not the value of an attribute flag (`--write-enabled false`:
/// azure-cli's three-state flags take an optional value).
fn manifest_id(opts: &[(String, Option<Value>)]) -> Option<&Value> {
    const COMMAND_WORDS: usize = 3;
    let mut operands = 0;
    let mut after_flag = false;
    for (name, value) in opts {
        if !name.is_empty() {
            after_flag = value.is_none() && name.ends_with("-enabled");
            continue;
        }
        let flag_value = std::mem::take(&mut after_flag);
        operands += 1;
        if operands > COMMAND_WORDS && !flag_value {
            return value.as_ref();
        }
    }
    None
}

/// `("myreg", "team/app:v1")` for `myreg.azurecr.io/team/app:v1` (an `https://` prefix
/// allowed): the registry is the ACR login server's name, as azure-cli reads it.
fn split_manifest_id(id: &str) -> Option<(String, String)> {
    let id = id.strip_prefix("https://").unwrap_or(id);
    let (host, spec) = id.split_once('/')?;
    let host = host.to_ascii_lowercase();
    let registry = crate::cloud::acr_registry(&host)?;
    (!spec.is_empty()).then(|| (registry.to_string(), spec.to_string()))
}

fn az_acr_registry_options(group: &str, command: &str) -> &'static [&'static str] {
    const NAMED_BY_REGISTRY: &[&str] = &[
        "build",
        "run",
        "pack",
        "task",
        "taskrun",
        "manifest",
        "webhook",
        "replication",
        "scope-map",
        "token",
        "agentpool",
        "connected-registry",
        "cache",
        "credential-set",
        "private-endpoint-connection",
    ];
    let config_policy =
        group == "config" && ["retention", "soft-delete", "content-trust"].contains(&command);
    if NAMED_BY_REGISTRY.contains(&group) || config_policy {
        &["-r", "--registry", "--registry-name"]
    } else {
        &["-n", "--name"]
    }
}

/// `az acr task run -n <task> --context <folder> [--file <file>]` (azure-cli
/// `acr/task.py`, `acr_task_run`, and `acr/_utils.py`, `prepare_source_location`): a
/// local folder is packed as `az acr build` packs it, `--file` relative to the working
/// directory. Without `--file` the task's own file is built, which is not known here
/// (`dockerfile` None); a remote context, or a `--file` that does not resolve, leaves
/// the command without inputs.
fn task_run_inputs(args: &[Value]) -> BuildInputs {
    let opts = options(
        args,
        &[
            "-n",
            "--name",
            "-r",
            "--registry",
            "-c",
            "--context",
            "-f",
            "--file",
            "--set",
            "--set-secret",
            "--arg",
            "--secret-arg",
            "--target",
            "--agent-pool",
            "--update-trigger-token",
            "--log-template",
            "-g",
            "--resource-group",
            "--subscription",
            "--output",
            "-o",
            "--query",
        ],
    );
    let Some(given) = values_of(&opts, &["-c", "--context"])
        .next_back()
        .and_then(known)
    else {
        return BuildInputs::default();
    };
    let local = local_dir(&given).filter(|c| !c.eq_ignore_ascii_case("/dev/null"));
    let dockerfile = match values_of(&opts, &["-f", "--file"]).next_back() {
        None => None,
        Some(v) => match known(v) {
            Some(f) => Some(f),
            None => return BuildInputs::default(),
        },
    };
    // Only a local folder is judged: a remote context is left to the stored task.
    if local.is_none() {
        return BuildInputs::default();
    }
    BuildInputs {
        dockerfile,
        build_args: values_of(&opts, &["--arg"]).filter_map(build_arg).collect(),
        context: Some(given),
        local_context: local,
        ..BuildInputs::default()
    }
}

fn cli_build_inputs(opts: &[(String, Option<Value>)]) -> BuildInputs {
    let context = opts
        .iter()
        .find(|(n, _)| n.is_empty())
        .and_then(|(_, v)| v.as_ref());
    let mut given = context.and_then(known);
    let mut context_token = None;
    if given.is_none()
        && let Some((url, token)) = context.and_then(userinfo_token)
    {
        given = Some(url);
        context_token = Some(token);
    }
    let context = match context {
        Some(_) => given.clone(),
        None => Some(".".to_string()),
    };
    let file = values_of(opts, &["-f", "--file"]).next_back();
    let local = context.as_deref().and_then(local_dir);
    let dockerfile = match (context, file) {
        (Some(ctx), None) => dockerfile_in(&ctx, "Dockerfile"),
        (_, Some(f)) => known(f).filter(|f| f != "-"),
        (None, None) => None,
    };
    let build_args = values_of(opts, &["--build-arg"])
        .filter_map(build_arg)
        .collect();
    BuildInputs {
        dockerfile,
        build_args,
        context: given,
        local_context: local,
        context_token,
        ..BuildInputs::default()
    }
}

/// A remote context URL whose only unknown part is its user part
/// (`https://${{ secrets.GIT_PAT }}@github.com/o/r.git#main`, `https://x:$PAT@…`): the
/// URL without the user part, and the token it carries, which acr-preflight cannot read.
fn userinfo_token(value: &Value) -> Option<(String, super::ContextToken)> {
    let text = value.expanded.text.trim();
    let (scheme, rest) = text.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return None;
    }
    let authority = rest.find('/').map_or(rest, |end| &rest[..end]);
    let at = authority.rfind('@')?;
    let (user, after) = (&rest[..at], &rest[at + 1..]);
    // With a user name and a password (`x:$PAT`), the password is the token.
    let first = value.expanded.unresolved.last()?;
    let inside = value
        .expanded
        .unresolved
        .iter()
        .all(|u| user.contains(u.written.as_str()));
    if !inside || after.contains('$') || after.is_empty() {
        return None;
    }
    Some((
        format!("{scheme}://{after}"),
        super::ContextToken::Unseen {
            written: first.written.clone(),
            reason: first.reason.clone(),
            through: None,
        },
    ))
}

/// Whether `value` is exactly one `${{ … }}` expression.
fn whole_expression(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("${{") && v.ends_with("}}") && v.matches("${{").count() == 1
}

/// `NAME` of a value that is exactly `$NAME` or `${NAME}`.
fn variable_name(value: &str) -> Option<&str> {
    let v = value.trim();
    if v.starts_with("${{") {
        return None;
    }
    let name = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| v.strip_prefix('$'))?;
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}

fn values_of<'a>(
    opts: &'a [(String, Option<Value>)],
    names: &'a [&str],
) -> impl DoubleEndedIterator<Item = &'a Value> {
    opts.iter()
        .filter(move |(n, _)| names.contains(&n.as_str()))
        .filter_map(|(_, v)| v.as_ref())
}

/// `.` for an empty folder (the repository's root).
fn or_dot(folder: &str) -> &str {
    let f = folder.trim_matches('/');
    if f.is_empty() { "." } else { f }
}

/// `<dir>/<file>` for a local context folder; None for a remote or stdin context.
fn dockerfile_in(dir: &str, file: &str) -> Option<String> {
    let dir = local_dir(dir)?;
    Some(if dir == "." {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    })
}

/// A local context folder without `./` and trailing slashes (`.` for the workspace
/// itself); None for a remote (`https://…`, `git@…`) or stdin (`-`) context.
fn local_dir(dir: &str) -> Option<String> {
    if dir == "-" || dir.contains("://") || dir.starts_with("git@") {
        return None;
    }
    let mut dir = dir.trim_end_matches('/');
    while let Some(rest) = dir.strip_prefix("./") {
        dir = rest;
    }
    Some(if dir.is_empty() || dir == "." {
        ".".to_string()
    } else {
        dir.to_string()
    })
}

/// `NAME=value` with both known; a bare `NAME` takes its value from the environment,
/// which is not known here.
fn build_arg(value: &Value) -> Option<(String, String)> {
    if !value.expanded.is_resolved() {
        return None;
    }
    let (name, v) = value.expanded.text.trim().split_once('=')?;
    (!name.is_empty()).then(|| (name.to_string(), v.to_string()))
}

/// Options and operands of a command line: `(name, value)` for options, `("", value)`
/// for operands. `valued` lists the options that take a value (`--tag x`, `--tag=x`,
/// and for one-letter options `-tx`).
/// `value`, one of `words` or the part of one after its option (`--username=`), as the
/// script writes it: quotes and escapes kept (`"$BUILD_CLIENT_ID"`).
fn quoted(script: &str, words: &[Word], value: &Value) -> String {
    let start = value.start();
    match words.iter().find(|w| w.raw.contains(&start)) {
        Some(word) => {
            let whole = word.as_written(script).text.len();
            let from = whole.saturating_sub(value.written.text.len());
            word.source(script, from).trim().to_string()
        }
        None => value.written.text.trim().to_string(),
    }
}

fn options(args: &[Value], valued: &[&str]) -> Vec<(String, Option<Value>)> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut operands_only = false;
    while i < args.len() {
        let arg = &args[i];
        let text = arg.written.text.as_str();
        i += 1;
        if operands_only || !text.starts_with('-') || text == "-" {
            out.push((String::new(), Some(arg.slice(0))));
            continue;
        }
        if text == "--" {
            operands_only = true;
            continue;
        }
        if let Some(eq) = text.find('=')
            && text.starts_with("--")
        {
            out.push((text[..eq].to_string(), Some(arg.slice(eq + 1))));
            continue;
        }
        if valued.contains(&text) {
            let value = args.get(i).map(|v| v.slice(0));
            i += 1;
            out.push((text.to_string(), value));
            continue;
        }
        if !text.starts_with("--")
            && text.len() > 2
            && let Some(short) = text.get(..2)
            && valued.contains(&short)
        {
            out.push((short.to_string(), Some(arg.slice(2))));
            continue;
        }
        out.push((text.to_string(), None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::yaml::Pos;

    /// Discovery over the first job, with `IMAGE=Reg.io/App` and the commit `abc`.
    pub(super) fn scan(yaml: &str) -> Found {
        let workflow = Workflow::parse("w.yml", yaml).unwrap();
        let env = HashMap::from([("IMAGE".to_string(), "Reg.io/App".to_string())]);
        let run = RunEnvironment {
            sha: Some("abc".into()),
            ..RunEnvironment::default()
        };
        discover(&Input {
            files: None,
            workflow: &workflow,
            job: &workflow.jobs[0],
            preflight: None,
            process_env: &env,
            run: &run,
            cloud: crate::cloud::AzureEnvironment::AzureCloud,
        })
    }

    #[test]
    fn az_login_s_username_keeps_the_script_s_quotes_for_messages() {
        let found = scan(
            r#"on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: az login --service-principal -u "$BUILD_CLIENT_ID" --tenant t --federated-token x
      - run: az login --identity --username='${{ vars.MI }}'
"#,
        );
        let users: Vec<(String, String)> = found
            .az
            .iter()
            .filter_map(|a| a.username.as_ref())
            .map(|u| (u.written.clone(), u.quoted.clone()))
            .collect();
        assert_eq!(
            users,
            vec![
                (
                    "$BUILD_CLIENT_ID".to_string(),
                    r#""$BUILD_CLIENT_ID""#.to_string()
                ),
                ("${{ vars.MI }}".to_string(), "'${{ vars.MI }}'".to_string()),
            ]
        );
    }

    pub(super) fn names(yaml: &str) -> Vec<(Role, String, Option<String>)> {
        scan(yaml)
            .references
            .into_iter()
            .map(|r| (r.role, r.written, r.reference))
            .collect()
    }

    #[test]
    fn az_acr_lock_and_delete_commands_name_the_repository_action_azure_cli_asks() {
        let found = scan(
            "jobs:\n  b:\n    env:\n      REPO: team/app\n    steps:\n      - run: |\n          az acr repository update -n MyReg --image team/app:v1 --write-enabled false\n          az acr repository update -n myreg --repository \"$REPO\" --delete-enabled=false\n          az acr repository update -n myreg --image team/app:v1\n          az acr repository delete -n myreg --image team/app@sha256:abc --yes\n          az acr repository untag -n myreg --image team/app:old\n          az acr manifest delete -n team/app:v2 -r myreg --yes\n          az acr repository update -n myreg --image \"$UNKNOWN\" --write-enabled false\n          az acr manifest update-metadata MyReg.azurecr.io/team/app:v1 --write-enabled false\n          az acr manifest update-metadata --delete-enabled false https://myreg.azurecr.io/team/app@sha256:abc\n          az acr manifest update-metadata --list-enabled -r myreg -n team/app:v3 --read-enabled=false\n          az acr manifest update-metadata myreg.azurecr.io/team/app:v1\n          az acr manifest delete myreg.azurecr.io/team/app:v2 --yes\n          az acr manifest delete docker.io/team/app:v2 --yes\n",
        );
        type Got<'a> = (
            String,
            Option<String>,
            Option<(String, String, &'a str, &'a str)>,
        );
        let got: Vec<Got> = found
            .az
            .iter()
            .map(|a| {
                (
                    a.what.clone(),
                    a.registry.clone(),
                    a.repository_action.as_ref().map(|r| {
                        (
                            r.repository.clone(),
                            r.target.clone(),
                            r.scope_actions,
                            r.needs,
                        )
                    }),
                )
            })
            .collect();
        let action = |repo: &str, target: &str, scope, needs| {
            Some((repo.to_string(), target.to_string(), scope, needs))
        };
        let reg = Some("myreg".to_string());
        let update = "az acr repository update".to_string();
        let meta = "az acr manifest update-metadata".to_string();
        let lock = |target: &str| {
            action(
                "team/app",
                target,
                "metadata_write,metadata_read",
                "metadata_write",
            )
        };
        assert_eq!(
            got,
            vec![
                (
                    update.clone(),
                    reg.clone(),
                    action(
                        "team/app",
                        "team/app:v1",
                        "metadata_write,metadata_read",
                        "metadata_write"
                    )
                ),
                (
                    update.clone(),
                    reg.clone(),
                    action(
                        "team/app",
                        "team/app",
                        "metadata_write,metadata_read",
                        "metadata_write"
                    )
                ),
                // Only reads the attributes.
                (update.clone(), reg.clone(), None),
                (
                    "az acr repository delete".into(),
                    reg.clone(),
                    action(
                        "team/app",
                        "team/app@sha256:abc",
                        "delete,metadata_read",
                        "delete"
                    )
                ),
                (
                    "az acr repository untag".into(),
                    reg.clone(),
                    action("team/app", "team/app:old", "delete", "delete")
                ),
                (
                    "az acr manifest delete".into(),
                    reg.clone(),
                    action("team/app", "team/app:v2", "delete", "delete")
                ),
                // A repository that does not resolve is not judged.
                (update, reg.clone(), None),
                // The manifest id's login server names the registry.
                (meta.clone(), reg.clone(), lock("team/app:v1")),
                // A flag's value before the manifest id is not taken for it.
                (meta.clone(), reg.clone(), lock("team/app@sha256:abc")),
                (meta.clone(), reg.clone(), lock("team/app:v3")),
                // Only reads the attributes.
                (meta, reg.clone(), None),
                (
                    "az acr manifest delete".into(),
                    reg,
                    action("team/app", "team/app:v2", "delete", "delete")
                ),
                // Not an ACR login server: azure-cli refuses it.
                ("az acr manifest delete".into(), None, None),
            ]
        );
    }

    #[test]
    fn the_registry_of_an_az_acr_command_is_read_from_the_option_its_group_uses() {
        let found = scan(
            "jobs:\n  b:\n    steps:\n      - run: |\n          az acr task run -n nightly -r MyReg\n          az acr import -n target --source docker.io/library/alpine:3 -r source\n          az acr login -n loginreg\n          az acr build -r buildreg -t app:1 .\n          az acr token create -n ci -r tokenreg --scope-map _repositories_pull\n          az acr config retention update -r policyreg --days 7\n          az acr private-endpoint-connection list --registry-name pereg\n",
        );
        let got: Vec<(String, Option<String>)> = found
            .az
            .iter()
            .map(|a| (a.what.clone(), a.registry.clone()))
            .collect();
        let want = |what: &str, registry: &str| (what.to_string(), Some(registry.to_string()));
        assert_eq!(
            got,
            vec![
                // `-n` names the task; `-r` the registry.
                want("az acr task run", "myreg"),
                // `-r` names the source registry; `-n` the one imported into.
                want("az acr import", "target"),
                want("az acr login", "loginreg"),
                want("az acr build", "buildreg"),
                want("az acr token create", "tokenreg"),
                want("az acr config retention", "policyreg"),
                want("az acr private-endpoint-connection list", "pereg"),
            ]
        );
    }

    #[test]
    fn registry_caches_and_unpushed_tags_are_names() {
        let got = names(
            "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          tags: a/b:1\n          cache-from: |\n            type=gha\n            r.io/c:1\n            type=registry,ref=r.io/d:1\n          cache-to: type=registry,mode=max,ref=r.io/e:1\n      - run: docker buildx build --cache-to r.io/f:1 --cache-from type=local,src=x --cache-from=type=registry,ref=r.io/g .\n",
        );
        let want = |role, s: &str| (role, s.to_string(), Some(s.to_string()));
        assert_eq!(
            got,
            vec![
                want(Role::CacheFrom, "r.io/c:1"),
                want(Role::CacheFrom, "r.io/d:1"),
                want(Role::CacheTo, "r.io/e:1"),
                want(Role::Tag, "a/b:1"),
                want(Role::CacheFrom, "r.io/g"),
            ]
        );
    }

    #[test]
    fn pieces_name_the_expressions_that_supplied_them() {
        let found = scan(
            "jobs:\n  b:\n    steps:\n      - run: docker build -t \"$IMAGE:${{ github.sha }}\" .\n",
        );
        let r = &found.references[0];
        assert_eq!(r.reference.as_deref(), Some("Reg.io/App:abc"));
        let pieces: Vec<(&str, usize, usize, Option<String>)> = r
            .pieces
            .iter()
            .map(|p| (p.written.as_str(), p.start, p.end, p.variable()))
            .collect();
        assert_eq!(
            pieces,
            vec![
                ("$IMAGE", 0, 10, Some("IMAGE".into())),
                ("${{ github.sha }}", 11, 14, Some("GITHUB_SHA".into())),
            ]
        );
    }

    #[test]
    fn builders_are_named_by_flag_script_variable_and_step_output() {
        let found = scan(
            "jobs:\n  b:\n    steps:\n      - id: bx\n        uses: docker/setup-buildx-action@v3\n        with:\n          name: ci\n          driver-opts: |\n            image=moby/buildkit:v0.16.0\n            env.HTTPS_PROXY=${{ env.HTTPS_PROXY }}\n            \"env.no_proxy='a,b'\"\n      - run: |\n          export BUILDX_BUILDER=ci\n          docker buildx build .\n          docker buildx build --builder=\"$NAME\" .\n          docker buildx use default\n          docker buildx create --name x --driver-opt env.http_proxy=$P,env.no_proxy=q\n      - uses: docker/build-push-action@v6\n        with:\n          builder: ${{ steps.bx.outputs.name }}\n",
        );
        let b = &found.builders[0];
        assert_eq!(b.name, Some(BuilderName::Literal("ci".into())));
        assert_eq!(b.step_id.as_deref(), Some("bx"));
        assert_eq!(b.proxy_env, vec!["https_proxy", "no_proxy"]);
        assert_eq!(found.builders[1].proxy_env, vec!["http_proxy", "no_proxy"]);
        let names: Vec<Option<BuilderName>> = found
            .builds
            .iter()
            .map(|b| b.builder.as_ref().map(|n| n.name.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                Some(BuilderName::Literal("ci".into())),
                Some(BuilderName::Unknown),
                Some(BuilderName::StepOutput("bx".into())),
            ]
        );
        assert_eq!(found.switches.len(), 1);
        assert_eq!(
            found.switches[0].named.name,
            BuilderName::Literal("default".into())
        );
    }

    #[test]
    fn list_entries_split_around_multibyte_characters() {
        // Found by fuzzing (fuzz/corpus/workflow_yaml/regression-multibyte-entries): a
        // `tags:`-like value with a character of several bytes made entries() slice a
        // `str` inside it and panic.
        let text = Text::at("\u{fffd}${{ env.A }}\u{fffd},b\n\u{fffd}}}", Pos::new(1, 1));
        let entries = StepScan::entries(&text, true);
        let values: Vec<&str> = entries.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            vec!["\u{fffd}${{ env.A }}\u{fffd}", "b", "\u{fffd}}}"]
        );
    }

    #[test]
    fn only_a_bare_variable_or_one_expression_is_traced() {
        assert_eq!(variable_name("$PAT"), Some("PAT"));
        assert_eq!(variable_name(" ${GIT_TOKEN} "), Some("GIT_TOKEN"));
        assert_eq!(variable_name("${{ secrets.X }}"), None);
        assert_eq!(variable_name("$(cat f)"), None);
        assert_eq!(variable_name("${PAT:-x}"), None);
        assert_eq!(variable_name("$1"), None);
        assert!(whole_expression(" ${{ secrets.GIT_PAT }} "));
        assert!(!whole_expression("ghp_${{ secrets.GIT_PAT }}"));
        assert!(!whole_expression("${{ secrets.A }}${{ secrets.B }}"));
    }
}
