//! The workflow reader: the workflow file acr-preflight runs in, parsed with the line
//! and column of every value, the job and step that run it, and the references the
//! job's build steps pull and push.
//!
//! - [`yaml`]: YAML with per-character positions (saphyr underneath).
//! - [`model`]: the typed workflow: permissions, env, jobs, steps, inputs.
//! - [`locate`]: `GITHUB_WORKFLOW_REF`, `GITHUB_JOB`, `GITHUB_ACTION` to file, job, step.
//! - [`expr`]: `${{ … }}` and environment variables, resolved only where the run knows.
//! - [`shell`]: `run:` scripts split into commands and words, with offsets.
//! - [`discover`]: contexts and push targets of the build steps.
//! - [`audience`]: ARM-audience Entra tokens a script hands to a registry.
//!
//! The check that reports on all this is `checks::workflow`; this module only reads.

pub mod audience;
pub mod bake;
pub mod discover;
pub mod expr;
pub mod locate;
pub mod model;
pub mod proxy_url;
pub mod push_tools;
pub mod shell;
pub mod yaml;

pub use discover::{
    AzCommand, BuildCommand, BuildInputs, BuilderStep, DiscoveredRef, InlineConfig, LoginStep,
    Origin, Piece, PushToolStep, RefKind, Role, StepRef,
};
pub use locate::{LocateError, Located, StepMatch, WorkflowFiles, Workspace, locate};
pub use model::{Environment, Grant, Job, Permissions, PermissionsKind, Step, Workflow};
pub use yaml::{Pos, Text};

use crate::findings::Location;

/// What the workflow check found for the rest of the run: where acr-preflight runs
/// and the references the build will use, each with its location in the workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// True when neither `--context` nor `--push` was given, so the discovered
    /// references stand in for them.
    pub applies: bool,
    /// The workflow file holding the job (workspace-relative).
    pub workflow: Option<String>,
    pub job: Option<String>,
    /// acr-preflight's own step.
    pub step: Option<StepRef>,
    /// Every reference found in the job, before and after acr-preflight's step.
    pub references: Vec<DiscoveredRef>,
    /// Every build or push command found in the job.
    pub builds: Vec<BuildCommand>,
    /// Every registry login found in the job.
    pub logins: Vec<LoginStep>,
    /// Every step of the job that creates a buildx builder.
    pub builders: Vec<BuilderStep>,
    /// Every Azure CLI sign-in and `az` call of the job.
    pub az: Vec<AzCommand>,
    /// Every step whose script hands an ARM-audience Entra token to a registry.
    pub arm_tokens: Vec<discover::ArmTokenStep>,
    /// Every push tool run from its own image with a docker config mounted in.
    pub push_tools: Vec<PushToolStep>,
    /// The entries of acr-preflight's own `context` and `push` inputs: the value as
    /// the run received it (a `--context`/`--push` value) and where it is written.
    pub inputs: Vec<(String, Location)>,
    /// The OIDC subject the job's `environment:` implies, when it declares one and the
    /// job uses OIDC: compared with what the job presented once the identity check ran.
    pub environment_subject: Option<String>,
    /// The job's `azure/login` steps, for the identity check's facts about them.
    pub azure_logins: Vec<AzureLogin>,
    /// The job's ACR Tasks builds that sign in as an identity of their own: the
    /// `Azure/acr-build` steps, with their `service_principal` as the client id, and the
    /// `az acr build`/`az acr run` calls of scripts, with the client id of the Azure CLI
    /// session they run in (the rest of [`AzureLogin`] unused).
    pub acr_build_logins: Vec<AzureLogin>,
    /// The `az acr` commands after acr-preflight's step that resolve the registry
    /// through ARM, with the identity of the Azure CLI session each runs in.
    pub arm_az_calls: Vec<ArmAzCall>,
    /// The `az acr login` calls and the repository actions (tag locks, deletes) after
    /// acr-preflight's step that name their registry, with their session's identity.
    pub acr_az_calls: Vec<AcrAzCall>,
    /// The BuildKit images that builds after acr-preflight's step pull when they boot a
    /// builder of buildx's store whose container the docker daemon does not have.
    pub stored_boots: Vec<BaseRef>,
    /// Secret values written literally in the workflow (a `creds` JSON's
    /// `clientSecret`): registered with the run's secrets so no output shows them.
    pub literal_secrets: Vec<String>,
    /// The job's `timeout-minutes`.
    pub timeout: JobTimeout,
}

/// The job's `timeout-minutes`: the longest its later steps (the build) can run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JobTimeout {
    /// Not written: GitHub's default of 360 minutes.
    #[default]
    Default,
    /// A number of minutes, where it is written.
    Set { minutes: u64, location: Location },
    /// An expression or a value that is not a whole number of minutes.
    Unknown,
}

impl JobTimeout {
    /// GitHub's limit when `timeout-minutes` is not set
    /// (<https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idtimeout-minutes>).
    pub const DEFAULT_MINUTES: u64 = 360;

    /// Reads `timeout-minutes` of a job's mapping.
    pub fn of(job: &Job, file: &str) -> JobTimeout {
        let Some(node) = job.node.get("timeout-minutes") else {
            return JobTimeout::Default;
        };
        let Some(text) = node.as_text() else {
            return JobTimeout::Unknown;
        };
        match text.value.trim().parse::<u64>() {
            Ok(minutes) if minutes > 0 => JobTimeout::Set {
                minutes,
                location: Location {
                    file: file.to_string(),
                    line: Some(text.start.line),
                    column: Some(text.start.column),
                },
            },
            _ => JobTimeout::Unknown,
        }
    }

    /// The limit in minutes, when known.
    pub fn minutes(&self) -> Option<u64> {
        match self {
            JobTimeout::Default => Some(Self::DEFAULT_MINUTES),
            JobTimeout::Set { minutes, .. } => Some(*minutes),
            JobTimeout::Unknown => None,
        }
    }
}

/// What the credentials check needs to know about the steps after acr-preflight's:
/// empty unless acr-preflight's own step is known (else nothing is "after").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFacts {
    /// Every registry login after acr-preflight's step, in workflow order.
    pub logins_after: Vec<LoginStep>,
    /// Every build or push command after acr-preflight's step.
    pub builds_after: Vec<BuildCommand>,
    /// Every push tool after acr-preflight's step that reads a mounted docker config.
    pub push_tools_after: Vec<PushToolStep>,
    pub timeout: JobTimeout,
}

impl JobFacts {
    /// The first later login that runs `docker login` (docker/login-action, `docker
    /// login`, `az acr login` without `--expose-token`), so writes the docker config.
    pub fn docker_login_after(&self) -> Option<&LoginStep> {
        self.logins_after.iter().find(|l| l.runs_docker_login())
    }

    /// Whether a login after acr-preflight's step may replace the credential for
    /// `host` (its registry is `host` or not known).
    pub fn relogin_for(&self, host: &str) -> bool {
        self.logins_after.iter().any(|l| {
            l.registry
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case(host))
        })
    }
}

/// An `azure/login` step of the job, as the identity check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureLogin {
    pub step: StepRef,
    /// Where its `uses:` is written.
    pub location: Location,
    /// `client-id` as written, when given.
    pub client_id: Option<String>,
    /// `client-id` resolved, when it could be.
    pub client_id_value: Option<String>,
    /// Whether `client-id` is written exactly as acr-preflight's own `client-id` input
    /// (the same variable or secret), so the step signs in as the identity checked.
    pub same_client_id_input: bool,
    /// `allow-no-subscriptions: true`.
    pub allow_no_subscriptions: bool,
    /// `auth-type: IDENTITY`: a managed identity of the runner's machine.
    pub managed_identity: bool,
    /// For a build that signs in through another step: how (`the Azure CLI session
    /// that step … opened with …`); `None` for a step that signs in itself.
    pub session: Option<String>,
}

/// An `az acr` command after acr-preflight's step that resolves the registry through
/// ARM ([`discover::AzCommand::resolves_through_arm`]), so needs
/// `Microsoft.ContainerRegistry/registries/read` for the identity it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmAzCall {
    /// `az acr build`, `az acr task run`, …
    pub what: String,
    pub step: StepRef,
    pub location: Location,
    /// The identity of the Azure CLI session it runs in (the call's step and location,
    /// the sign-in's client id, and in `session` how it opened); `None` when the
    /// workflow does not tell: no sign-in before it in the job, or one without a
    /// written client id (`creds`).
    pub identity: Option<AzureLogin>,
}

impl ArmAzCall {
    /// Whether it runs as the identity with `client_id`: `Some(true)` when its session
    /// signs in with acr-preflight's own `client-id` input or the same client id,
    /// `Some(false)` when with another one, `None` when the workflow does not tell.
    pub fn runs_as(&self, client_id: Option<&str>) -> Option<bool> {
        let login = self.identity.as_ref()?;
        if login.same_client_id_input {
            return Some(true);
        }
        let value = login.client_id_value.as_deref()?.trim();
        let client = client_id?;
        (!value.is_empty()).then(|| value.eq_ignore_ascii_case(client))
    }

    /// The client id its session signs in with, as resolved (empty when not).
    pub fn session_client_id(&self) -> &str {
        self.identity
            .as_ref()
            .and_then(|l| l.client_id_value.as_deref())
            .unwrap_or_default()
            .trim()
    }

    /// How its session opened (`` `az acr login` runs in the Azure CLI session that
    /// step … opened with … ``), empty when the workflow does not tell.
    pub fn session(&self) -> &str {
        self.identity
            .as_ref()
            .and_then(|l| l.session.as_deref())
            .unwrap_or_default()
    }
}

/// An `az acr login` or an `az acr` repository action (lock, delete, untag) after
/// acr-preflight's step, on a registry it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcrAzCall {
    pub call: ArmAzCall,
    /// The registry name (`-n`/`-r`), lower-case.
    pub registry: String,
    /// The repository right it needs; `None` for `az acr login`.
    pub action: Option<discover::RepositoryAction>,
}

/// A base image (`FROM`) of a build that runs after acr-preflight's step (P38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRef {
    /// The image after `ARG` substitution, as the build pulls it.
    pub image: String,
    /// As written in the Dockerfile, before substitution.
    pub written: String,
    /// The `FROM` image in the Dockerfile (workspace-relative path, line, column).
    pub location: Location,
    /// The build step that reads the Dockerfile.
    pub step: StepRef,
    /// The BuildKit image a builder boots from, not a `FROM` of a Dockerfile: `location`
    /// is the step that creates the builder, or for a builder of buildx's store
    /// ([`BaseRef::stored`]) the build that boots it.
    pub boot: bool,
    /// The builder of buildx's store (no step creates it) whose container the docker
    /// daemon does not have, so that `step`, its first build, creates it and pulls `image`.
    pub stored: Option<String>,
}

/// The base images of the builds, and the Dockerfiles that could not be read
/// (workspace-relative path, why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaseImages {
    pub images: Vec<BaseRef>,
    /// The BuildKit image on Docker Hub of the first builder created after acr-preflight's
    /// step with the docker-container driver and buildx's default image (located at its
    /// step), and of each builder of buildx's store that a build boots (located at the
    /// build); each image once, at its first pull.
    pub builders: Vec<BaseRef>,
    pub unreadable: Vec<(String, String)>,
    /// The base images of builds that ask for platforms, with the platforms each is
    /// pulled for (see [`base_platforms`]).
    pub platform_requests: Vec<PlatformRequest>,
}

/// The platforms a build that asks for `build` pulls a `FROM` image for: the build's
/// own without `--platform` (or with `$TARGETPLATFORM`), the one written in a literal
/// `--platform=os/arch`; none (not compared) for `$BUILDPLATFORM`, the builder's own,
/// or another variable.
pub fn base_platforms(flag: Option<&str>, build: &[String]) -> Vec<String> {
    match flag.map(str::trim) {
        None => build.to_vec(),
        Some("$TARGETPLATFORM" | "${TARGETPLATFORM}") => build.to_vec(),
        Some(p) if p.contains('/') && !p.contains('$') => vec![p.to_string()],
        Some(_) => Vec::new(),
    }
}

/// The image buildx boots a docker-container builder from when none is given
/// (docker/buildx, `driver/bkimage`).
pub const BUILDKIT_DEFAULT_IMAGE: &str = "moby/buildkit:buildx-stable-1";

impl BuilderStep {
    /// Whether the builder boots from buildx's default BuildKit image
    /// ([`BUILDKIT_DEFAULT_IMAGE`], on Docker Hub): a `docker-container` builder given
    /// no `image=` driver option.
    pub fn boots_default_image(&self) -> bool {
        self.driver.as_deref() == Some("docker-container") && self.image_registry.is_none()
    }

    /// The registry the builder pulls its BuildKit image from when it boots: the one
    /// its `image=` option names, else Docker Hub for the default image.
    pub fn boot_registry(&self) -> Option<&str> {
        match &self.image_registry {
            Some(r) => Some(r),
            None if self.boots_default_image() => Some(crate::reference::DEFAULT_DOMAIN),
            None => None,
        }
    }
}

impl LoginStep {
    /// Whether it may log in to Docker Hub: its registry is Docker Hub, or is not known
    /// here.
    pub fn may_be_docker_hub(&self) -> bool {
        self.registry
            .as_deref()
            .is_none_or(crate::reference::is_docker_hub)
    }

    /// Whether it runs before what `step` runs at `line` of the workflow (by step, then
    /// by line; `None`: anywhere in that step, which it must then precede).
    pub fn before(&self, step: &StepRef, line: Option<u32>) -> bool {
        let own = (
            self.step.index,
            self.location.line.unwrap_or(self.step.line),
        );
        own < (step.index, line.unwrap_or(u32::MAX))
    }

    /// `` `docker/login-action` (build.yml:12) ``, as messages name it.
    pub fn describe(&self) -> String {
        format!("`{}` ({})", self.what, self.location.file_line())
    }
}

/// A remote URL context of a build after acr-preflight's step (P42): the run agent or
/// BuildKit downloads it itself, so a wrong URL, a missing ref or a private repository
/// fails the build with `failed to download context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteContext {
    /// The context as resolved (`https://github.com/org/repo.git#main:app`); empty for
    /// the default Git context of docker/build-push-action (`default_git`).
    pub url: String,
    /// The build command (`az acr build`, `docker buildx build`, …).
    pub what: String,
    /// Where the build is written.
    pub location: Location,
    /// The token the build reads the context with, given apart from the URL as
    /// written (Azure/acr-build's `git_access_token`, a `${{ secrets.X }}` in the URL's
    /// user part), or the job's `github-token` for `default_git`.
    pub token: Option<ContextToken>,
    /// docker/build-push-action without `context`: the Git context of the job's own
    /// commit, which the action reads with its `github-token`.
    pub default_git: bool,
}

/// A token a build reads its remote context with.
#[derive(Clone, PartialEq, Eq)]
pub enum ContextToken {
    /// Its value, known here: a literal, or resolved from acr-preflight's own
    /// environment. A secret: registered with [`crate::secrets::Secrets`] before use.
    Known(String),
    /// It comes from something acr-preflight cannot read: as written
    /// (`${{ secrets.GIT_PAT }}`) and why. `through` names the shell variable the
    /// build reads it from and where that variable is set (``$PAT`, set by the
    /// script``), when the expression was traced through one; a variable that could
    /// not be traced is `written` itself (`$PAT`), with `through` empty.
    Unseen {
        written: String,
        reason: String,
        through: Option<String>,
    },
}

impl std::fmt::Debug for ContextToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately opaque about the value.
        match self {
            ContextToken::Known(_) => f.write_str("Known(..)"),
            ContextToken::Unseen { written, .. } => write!(f, "Unseen({written})"),
        }
    }
}

impl RemoteContext {
    /// The build runs in ACR Tasks (`az acr build`, Azure/acr-build), whose agent
    /// fetches the context.
    pub fn tasks(&self) -> bool {
        matches!(self.what.as_str(), "az acr build" | "azure/acr-build")
    }
}

/// A registry login that runs after acr-preflight's step while none runs before it:
/// handed to the credentials check, which reports it instead of a missing credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterLogin {
    /// The registry host (lower-case; `docker.io` for Docker Hub).
    pub registry: String,
    /// `docker/login-action`, `az acr login`, …
    pub what: String,
    /// How messages name the login's step.
    pub step_label: String,
    /// Where the login is written.
    pub location: Location,
    /// The line where acr-preflight's step starts.
    pub preflight_line: u32,
}

/// A registry image a build reads as a named context (`docker-image://`), with the
/// platforms that build asks for: BuildKit pulls the context once per platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRequest {
    /// The context as discovered (`docker-image://host/repo:tag`).
    pub reference: String,
    pub platforms: Vec<String>,
    /// Where the platforms are written.
    pub location: Location,
    /// The build step.
    pub step: StepRef,
}

impl Discovery {
    /// The `docker-image://` contexts of the builds after acr-preflight's step that ask
    /// for platforms, each with the platforms of its build (the last build of the same
    /// step that starts at or before the context's line).
    pub fn platform_requests(&self) -> Vec<PlatformRequest> {
        let mut out: Vec<PlatformRequest> = Vec::new();
        for r in self.contexts() {
            let (Some(reference), true) = (&r.reference, r.kind == RefKind::DockerImage) else {
                continue;
            };
            let line = r.location.line.unwrap_or(r.step.line);
            let same_step = || {
                self.builds
                    .iter()
                    .filter(|b| b.step.index == r.step.index && b.after_preflight)
            };
            let build = same_step()
                .rfind(|b| b.location.line.is_none_or(|l| l <= line))
                .or_else(|| same_step().next());
            let Some((build, at)) = build.and_then(|b| b.platforms_at.clone().map(|at| (b, at)))
            else {
                continue;
            };
            out.push(PlatformRequest {
                reference: reference.clone(),
                platforms: build.platforms.clone(),
                location: at,
                step: build.step.clone(),
            });
        }
        out
    }

    fn usable(&self, role: Role) -> Vec<&DiscoveredRef> {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for r in &self.references {
            let Some(reference) = r.reference.as_deref() else {
                continue;
            };
            if r.role != role || !r.after_preflight || !r.is_registry() {
                continue;
            }
            if seen.contains(&reference) {
                continue;
            }
            seen.push(reference);
            out.push(r);
        }
        out
    }

    /// Registry contexts the build pulls after acr-preflight's step, resolved, each
    /// once (first occurrence), in workflow order.
    pub fn contexts(&self) -> Vec<&DiscoveredRef> {
        self.usable(Role::Context)
    }

    /// Push targets of the build steps after acr-preflight's, resolved, each once.
    pub fn pushes(&self) -> Vec<&DiscoveredRef> {
        self.usable(Role::Push)
    }

    /// The registry caches the build steps after acr-preflight's import (`cache-from`)
    /// and export (`cache-to`), resolved, each once per direction.
    pub fn cache_refs(&self) -> Vec<crate::config::CacheRef> {
        [Role::CacheFrom, Role::CacheTo]
            .into_iter()
            .flat_map(|role| self.usable(role))
            .filter_map(|r| {
                Some(crate::config::CacheRef {
                    reference: r.reference.clone()?,
                    export: r.role == Role::CacheTo,
                    step: r.step.label.clone(),
                })
            })
            .collect()
    }

    /// [`Discovery::contexts`] as `--context` values.
    pub fn context_refs(&self) -> Vec<String> {
        self.contexts()
            .iter()
            .filter_map(|r| r.reference.clone())
            .collect()
    }

    /// [`Discovery::pushes`] as `--push` values.
    pub fn push_refs(&self) -> Vec<String> {
        self.pushes()
            .iter()
            .filter_map(|r| r.reference.clone())
            .collect()
    }

    /// The logins that run after acr-preflight's step, for registries no login before
    /// it covers (empty when acr-preflight's step is not known).
    pub fn later_logins(&self) -> Vec<LaterLogin> {
        let Some(step) = &self.step else {
            return Vec::new();
        };
        let mut out: Vec<LaterLogin> = Vec::new();
        for login in &self.logins {
            let Some(registry) = &login.registry else {
                continue;
            };
            let earlier = self
                .logins
                .iter()
                .any(|l| !l.after_preflight && l.registry.as_ref().is_none_or(|r| r == registry));
            if !login.after_preflight || earlier || out.iter().any(|l| &l.registry == registry) {
                continue;
            }
            out.push(LaterLogin {
                registry: registry.clone(),
                what: login.what.clone(),
                step_label: login.step.label.clone(),
                location: login.location.clone(),
                preflight_line: step.line,
            });
        }
        out
    }

    /// The facts of the steps after acr-preflight's for the credentials check.
    pub fn job_facts(&self) -> JobFacts {
        if self.step.is_none() {
            return JobFacts::default();
        }
        JobFacts {
            logins_after: self
                .logins
                .iter()
                .filter(|l| l.after_preflight)
                .cloned()
                .collect(),
            builds_after: self
                .builds
                .iter()
                .filter(|b| b.after_preflight)
                .cloned()
                .collect(),
            push_tools_after: self
                .push_tools
                .iter()
                .filter(|t| t.after_preflight)
                .cloned()
                .collect(),
            timeout: self.timeout.clone(),
        }
    }

    /// The registries of the logins before acr-preflight's step (`None` where a login's
    /// registry is not known); `None` when acr-preflight's step is not known.
    pub fn earlier_logins(&self) -> Option<Vec<Option<String>>> {
        self.step.as_ref()?;
        Some(
            self.logins
                .iter()
                .filter(|l| !l.after_preflight)
                .map(|l| l.registry.clone())
                .collect(),
        )
    }

    /// The `FROM` images of the Dockerfiles the builds after acr-preflight's step read,
    /// and the default BuildKit image of the builders created after it, each image once;
    /// images whose value depends on what is not known here (an `ARG`
    /// without default or build-arg) are left out. Each Dockerfile is read once, bounded.
    pub fn base_images(&self, files: &dyn WorkflowFiles) -> BaseImages {
        let mut out = BaseImages::default();
        let mut read: Vec<String> = Vec::new();
        for build in self.builds.iter().filter(|b| b.after_preflight) {
            let Some(path) = build.inputs.dockerfile.as_deref() else {
                continue;
            };
            let text = match files.read(path) {
                Ok(text) => text,
                Err(e) => {
                    if !out.unreadable.iter().any(|(p, _)| p == path) {
                        out.unreadable.push((path.to_string(), e.to_string()));
                    }
                    continue;
                }
            };
            let bases = crate::dockerfile::base_images(&text, &build.inputs.build_args);
            if let Some(at) = &build.platforms_at {
                for base in bases.iter().filter(|b| !b.unresolved) {
                    let platforms = base_platforms(base.platform.as_deref(), &build.platforms);
                    let known = out
                        .platform_requests
                        .iter()
                        .any(|r| r.reference == base.image && r.platforms == platforms);
                    if platforms.is_empty() || known {
                        continue;
                    }
                    out.platform_requests.push(PlatformRequest {
                        reference: base.image.clone(),
                        platforms,
                        location: at.clone(),
                        step: build.step.clone(),
                    });
                }
            }
            let key = format!("{path}\n{:?}", build.inputs.build_args);
            if read.contains(&key) {
                continue;
            }
            read.push(key);
            for base in bases {
                if base.unresolved || out.images.iter().any(|b| b.image == base.image) {
                    continue;
                }
                out.images.push(BaseRef {
                    image: base.image,
                    written: base.written,
                    location: Location {
                        file: path.to_string(),
                        line: u32::try_from(base.line).ok(),
                        column: u32::try_from(base.column).ok(),
                    },
                    step: build.step.clone(),
                    boot: false,
                    stored: None,
                });
            }
        }
        // A builder given its own image (`driver-opts: image=…`) names only its registry
        // here; one without boots from buildx's default image, on Docker Hub.
        let after = |b: &&BuilderStep| self.step.as_ref().is_none_or(|p| b.step.index > p.index);
        let booted = self
            .builders
            .iter()
            .filter(after)
            .find(|b| b.boots_default_image());
        if let Some(b) = booted {
            out.builders.push(BaseRef {
                image: BUILDKIT_DEFAULT_IMAGE.to_string(),
                written: BUILDKIT_DEFAULT_IMAGE.to_string(),
                location: b.location.clone(),
                step: b.step.clone(),
                boot: true,
                stored: None,
            });
        }
        // A builder of the store without its container boots at its first build
        // (the workflow check asked the docker daemon).
        for boot in &self.stored_boots {
            let on_hub =
                crate::reference::parse_normalized(&boot.image).is_ok_and(|r| r.is_docker_hub());
            if !on_hub {
                continue;
            }
            let order = |b: &BaseRef| (b.step.index, b.location.line);
            match out.builders.iter_mut().find(|b| b.image == boot.image) {
                Some(known) if order(known) > order(boot) => *known = boot.clone(),
                Some(_) => {}
                None => out.builders.push(boot.clone()),
            }
        }
        out
    }

    /// The remote URL contexts (`http(s)://…`) of the builds after acr-preflight's step,
    /// each once.
    pub fn remote_contexts(&self) -> Vec<RemoteContext> {
        let mut out: Vec<RemoteContext> = Vec::new();
        for build in self.builds.iter().filter(|b| b.after_preflight) {
            if build.inputs.default_git_context {
                if !out.iter().any(|c| c.default_git) {
                    out.push(RemoteContext {
                        url: String::new(),
                        what: build.what.clone(),
                        location: build.location.clone(),
                        token: Some(ContextToken::Unseen {
                            written: "github-token".into(),
                            reason: "the action reads it from the runner".into(),
                            through: None,
                        }),
                        default_git: true,
                    });
                }
                continue;
            }
            let Some(url) = build.inputs.context.as_deref() else {
                continue;
            };
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                continue;
            }
            if out.iter().any(|c| c.url == url && c.what == build.what) {
                continue;
            }
            out.push(RemoteContext {
                url: url.to_string(),
                what: build.what.clone(),
                location: build.location.clone(),
                token: build.inputs.context_token.clone(),
                default_git: false,
            });
        }
        out
    }

    /// How messages name the job's first login to Docker Hub (`docker/login-action` at
    /// build.yml:12), when a step of the job logs in to it; a login whose registry is not
    /// known here counts, as it may be Docker Hub.
    pub fn docker_hub_login(&self) -> Option<String> {
        self.logins
            .iter()
            .find(|l| l.may_be_docker_hub())
            .map(LoginStep::describe)
    }

    /// Where a reference is written in the workflow: an entry of acr-preflight's own
    /// `context`/`push` input holding it, else a discovered reference (as resolved, e.g.
    /// a `--context` value built from [`Discovery::context_refs`]). Where the build uses
    /// it before where it only names it (`docker manifest push myapp:1` rather than the
    /// `docker manifest create myapp:1` before it).
    pub fn location_of(&self, reference: &str) -> Option<&Location> {
        let wanted = reference.trim();
        if let Some((_, loc)) = self.inputs.iter().find(|(v, _)| v == wanted) {
            return Some(loc);
        }
        let later = || {
            self.references
                .iter()
                .filter(|r| r.after_preflight && r.reference.as_deref() == Some(wanted))
        };
        later()
            .find(|r| r.role != Role::Tag)
            .or_else(|| later().next())
            .or_else(|| {
                self.references
                    .iter()
                    .find(|r| r.reference.as_deref() == Some(wanted))
            })
            .map(|r| &r.location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_image_is_pulled_for_the_target_platforms_unless_from_fixes_another() {
        let build = vec!["linux/amd64".to_string(), "linux/arm64".to_string()];
        assert_eq!(base_platforms(None, &build), build);
        assert_eq!(base_platforms(Some("${TARGETPLATFORM}"), &build), build);
        assert_eq!(
            base_platforms(Some("linux/arm/v7"), &build),
            vec!["linux/arm/v7".to_string()]
        );
        assert!(base_platforms(Some("$BUILDPLATFORM"), &build).is_empty());
        assert!(base_platforms(Some("${PLAT}"), &build).is_empty());
    }
}
