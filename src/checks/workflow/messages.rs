//! The words of the workflow check: titles, messages, fixes and the workflow edits they
//! name. Reading the workflow and deciding what is wrong live in `mod.rs`.

use super::*;

pub(super) fn describe_location(l: &Located) -> String {
    let job = l.job();
    let mut s = format!(
        "{}: job `{}` (line {})",
        l.workflow.path, job.id.value, job.id.start.line
    );
    if let Some((caller, id)) = &l.caller {
        s.push_str(&format!(", called by job `{id}` of {}", caller.path));
    }
    match (l.step(), l.step) {
        (Some(step), Some((_, how))) => s.push_str(&format!(
            ", acr-preflight is step {} `{}` (line {}; {})",
            step.index + 1,
            step.label(),
            step.pos.line,
            how.describe()
        )),
        _ => s.push_str(", acr-preflight's step not recognised"),
    }
    s
}

pub(super) fn missing_id_token(
    workflow: &Workflow,
    job: &Job,
    eff: &Effective<'_>,
    why: &str,
    l: &Located,
) -> Finding {
    let id = &job.id.value;
    let consequence = "Without it the runner gives the job no ACTIONS_ID_TOKEN_REQUEST_URL, and the login fails with \"Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable\" (azure/login: \"Failed to fetch federated token from GitHub\").";
    let caller_note = match (&l.caller, std::ptr::eq(workflow, &l.workflow)) {
        (Some((_, caller_id)), false) => format!(
            " Job `{caller_id}` calls the reusable workflow {} that runs acr-preflight; a called workflow never gets more permissions than its caller.",
            l.workflow.path
        ),
        _ => String::new(),
    };
    let (pos, seen, base): (Pos, String, Vec<(String, String)>) = match eff {
        Effective::Job(p) => {
            let shadowed = workflow
                .permissions
                .as_ref()
                .filter(|w| w.grant("id-token") == Grant::Write)
                .map(|w| format!(" The workflow-level `id-token: write` (line {}) does not apply: a job-level `permissions:` replaces the workflow-level block entirely.", w.key.line))
                .unwrap_or_else(|| " A job-level `permissions:` replaces the workflow-level block entirely, and every scope it does not list is `none`.".into());
            let read_all = read_all_note(p);
            (
                p.key,
                format!(
                    "Job `{id}` sets `permissions:` at line {} ({}) without `id-token: write`.{read_all}{shadowed}",
                    p.key.line,
                    p.describe()
                ),
                p.scopes(),
            )
        }
        Effective::Workflow(p) => (
            p.key,
            format!(
                "Job `{id}` has no `permissions:` of its own, so the workflow-level block at line {} ({}) applies, and it has no `id-token: write`.{}",
                p.key.line,
                p.describe(),
                read_all_note(p)
            ),
            p.scopes(),
        ),
        Effective::Default => (
            job.id.start,
            format!(
                "Neither job `{id}` nor the workflow sets `permissions:`, so the job runs with the repository's default GITHUB_TOKEN permissions, which never include `id-token: write`."
            ),
            vec![("contents".into(), "read".into())],
        ),
    };
    let yaml = permissions_with_write(job, base, "id-token");
    let fix = format!(
        "Give job `{id}` ({}:{}) this `permissions:` block (it replaces the workflow-level one for this job, so it lists every scope the job needs):\n{}",
        workflow.path,
        job.id.start.line,
        yaml.trim_end()
    );
    at(
        finding(
            Code::WORKFLOW_OIDC_PERMISSION,
            Severity::Error,
            format!("job `{id}` uses OIDC but its permissions lack `id-token: write`"),
            format!("{seen}{caller_note} OIDC is in use: {why}. {consequence}"),
            fix,
        ),
        &workflow.path,
        pos,
    )
}

pub(super) fn missing_packages_write(
    workflow: &Workflow,
    job: &Job,
    perms: &Permissions,
    login: &discover::LoginStep,
    push: &DiscoveredRef,
) -> Finding {
    let id = &job.id.value;
    let target = push.reference.as_deref().unwrap_or(&push.written);
    let writes = if push.role == discover::Role::CacheTo {
        format!("exports its registry cache to `{target}`")
    } else {
        format!("pushes `{target}`")
    };
    let how = if login.what == "docker/login-action" {
        String::new()
    } else {
        format!(" (`{}`)", login.what)
    };
    let level = if job.permissions.is_some() {
        "its own `permissions:`"
    } else {
        "the workflow-level `permissions:`"
    };
    let yaml = permissions_with_write(job, perms.scopes(), "packages");
    at(
        finding(
            Code::WORKFLOW_PACKAGES_PERMISSION,
            Severity::Error,
            format!(
                "job `{id}` pushes to ghcr.io with GITHUB_TOKEN but its permissions lack `packages: write`"
            ),
            format!(
                "Step `{}` (line {}) logs in to ghcr.io with the job's GITHUB_TOKEN{how}, and the job {writes} (line {}). Job `{id}` takes {level} at line {} ({}), which has no `packages: write`: every scope a `permissions:` block does not list is `none`. The push fails with \"denied: installation not allowed to Write organization package\" or \"denied: permission_denied: write_package\".",
                login.step.label,
                login.step.line,
                push.location.line.unwrap_or(push.step.line),
                perms.key.line,
                perms.describe()
            ),
            format!(
                "Give job `{id}` ({}:{}) this `permissions:` block (it lists every scope the job needs); if the package already exists, also give this repository Write under the package's *Manage Actions access*:\n{}",
                workflow.path,
                job.id.start.line,
                yaml.trim_end()
            ),
        ),
        &workflow.path,
        perms.key,
    )
}

/// The job's `permissions:` block as YAML, at the job's indentation: the scopes it
/// already lists (at least `contents: read`, which a replacing block would otherwise
/// drop) plus `scope: write`.
fn permissions_with_write(job: &Job, base: Vec<(String, String)>, scope: &str) -> String {
    let id = &job.id.value;
    let mut scopes: Vec<(String, String)> = base.into_iter().filter(|(k, _)| k != scope).collect();
    if scopes.is_empty() {
        scopes.push(("contents".into(), "read".into()));
    }
    scopes.push((scope.into(), "write".into()));
    let indent = " ".repeat(job.id.start.column.saturating_sub(1) as usize);
    let mut yaml = format!("{indent}{id}:\n{indent}  permissions:\n");
    for (k, v) in &scopes {
        yaml.push_str(&format!("{indent}    {k}: {v}\n"));
    }
    yaml
}

pub(super) fn config_mismatch_sudo(
    path: &str,
    build: &discover::BuildCommand,
    login: &discover::LoginStep,
) -> Finding {
    const ROOT: &str = "/root/.docker/config.json";
    const USER: &str =
        "the runner user's docker config ($DOCKER_CONFIG, else ~/.docker/config.json)";
    let side = |as_root: bool| {
        if as_root {
            format!("through sudo, so it uses {ROOT}")
        } else {
            format!("without sudo, so it uses {USER}")
        }
    };
    let fix = if build.as_root {
        "Drop `sudo` from the build (the runner user can use docker), or run the login with `sudo` too."
    } else {
        "Drop `sudo` from the login, so it writes the credential where the build reads it."
    };
    finding(
        Code::WORKFLOW_CONFIG_MISMATCH,
        Severity::Warning,
        format!(
            "`{}` in step `{}` does not read the credential `{}` in step `{}` writes",
            build.what, build.step.label, login.what, login.step.label
        ),
        format!(
            "Step `{}` (line {}) runs `{}` {}. Every login of the job runs on the other side, for example `{}` in step `{}` (line {}), which runs {}. The build sends no credential for the registry, and a push fails with \"unauthorized: authentication required\" (a private base image with \"pull access denied\").",
            build.step.label,
            build.location.line.unwrap_or(build.step.line),
            build.what,
            side(build.as_root),
            login.what,
            login.step.label,
            login.location.line.unwrap_or(login.step.line),
            side(login.as_root)
        ),
        fix.to_string(),
    )
    .at(path, build.location.line, build.location.column)
}

pub(super) fn config_mismatch_step_env(
    path: &str,
    build: &discover::BuildCommand,
    own: &crate::workflow::yaml::Text,
    checked: &str,
) -> Finding {
    let value = own.value.trim();
    at(
        finding(
            Code::WORKFLOW_CONFIG_MISMATCH,
            Severity::Warning,
            format!(
                "step `{}` builds with DOCKER_CONFIG `{value}`, not the docker config acr-preflight checked",
                build.step.label
            ),
            format!(
                "Step `{}` sets `DOCKER_CONFIG: {value}` in its own `env:` (line {}), so its `{}` (line {}) reads `{value}/config.json`. acr-preflight checked {checked}/config.json, so the credentials it reported on are not the ones this build sends.",
                build.step.label,
                own.start.line,
                build.what,
                build.location.line.unwrap_or(build.step.line)
            ),
            "Set `DOCKER_CONFIG` once in the job's `env:`, so the login, acr-preflight and the build share one docker config, and drop it from the step.".into(),
        ),
        path,
        own.start,
    )
}

/// A `run:` command that names its own docker config (`DOCKER_CONFIG=/x docker build`,
/// `docker --config /x push`).
pub(super) fn config_mismatch_inline(
    build: &discover::BuildCommand,
    inline: &discover::InlineConfig,
    checked: &str,
) -> Finding {
    let (title_value, reads) = match &inline.value {
        Some(v) => (format!("`{v}`"), format!("reads `{v}/config.json`")),
        None => (
            format!("`{}`", inline.written),
            "reads a config folder acr-preflight cannot resolve here".to_string(),
        ),
    };
    at_location(
        finding(
            Code::WORKFLOW_CONFIG_MISMATCH,
            Severity::Warning,
            format!(
                "`{}` in step `{}` reads the docker config {title_value}, not the one acr-preflight checked",
                build.what, build.step.label
            ),
            format!(
                "Step `{}` runs `{}` with `{}` (line {}), so that command {reads}. acr-preflight checked {checked}/config.json, so the credentials it reported on are not the ones this build sends; a login made without the same setting wrote its credential elsewhere, and the build fails with \"unauthorized: authentication required\" (\"no basic auth credentials\" on a push).",
                build.step.label,
                build.what,
                inline.written,
                inline.location.line.unwrap_or(build.step.line),
            ),
            "Set `DOCKER_CONFIG` once in the job's `env:`, so the login, acr-preflight and the build share one docker config, and drop it from the command:\nenv:\n  DOCKER_CONFIG: ${{ runner.temp }}/docker".into(),
        ),
        &inline.location,
    )
}

pub(super) fn read_all_note(p: &Permissions) -> &'static str {
    if matches!(p.kind, PermissionsKind::ReadAll) {
        " `read-all` grants read on every scope; the OIDC token needs `id-token: write`."
    } else {
        ""
    }
}

pub(super) fn buildkit_context_arg(r: &DiscoveredRef) -> Finding {
    let value = r.reference.clone().unwrap_or_else(|| r.written.clone());
    let image = value
        .strip_prefix("docker-image://")
        .or_else(|| value.strip_prefix("oci://"))
        .unwrap_or(&value)
        .to_string();
    let fix = match r.origin {
        discover::Origin::BuildPushBuildArg => format!(
            "Pass it as a named context: `build-contexts: base=docker-image://{image}` on the docker/build-push-action step, with `FROM base` (or `COPY --from=base`) in the Dockerfile."
        ),
        _ => format!(
            "Pass it as a named context: `docker buildx build --build-context base=docker-image://{image} …`, with `FROM base` (or `COPY --from=base`) in the Dockerfile."
        ),
    };
    finding(
        Code::WORKFLOW_BUILDKIT_CONTEXT_ARG,
        Severity::Notice,
        format!("`BUILDKIT_CONTEXT={}` is a build argument, not a build context", r.written),
        format!(
            "Step `{}` (line {}) passes `BUILDKIT_CONTEXT={}` as a build argument ({}). BuildKit reads no build argument of that name: named contexts reach it through `--build-context NAME=docker-image://REF` (docker buildx build) or the `build-contexts` input (docker/build-push-action), and the Dockerfile uses them as `FROM NAME`. acr-preflight still checks `{value}` as a context.",
            r.step.label,
            r.step.line,
            r.written,
            r.origin.describe()
        ),
        fix,
    )
    .at(r.location.file.clone(), r.location.line, r.location.column)
}

/// A reference as the build would get it, with its empty variables left out.
pub(super) fn resolved_with_empty(r: &DiscoveredRef) -> String {
    let mut s = r.written.clone();
    for (e, _) in &r.empty {
        s = s.replace(&e.written, "");
    }
    s
}

/// WORKFLOW_EMPTY_VARIABLE: the references built from an empty variable, where it is set
/// empty, and whether a later step may still fill it.
pub(super) fn empty_variable_finding(
    l: &Located,
    group: &EmptyVariable<'_>,
    set_in: Option<&str>,
    setter: Option<&Step>,
) -> Finding {
    let (name, loc) = (&group.name, &group.at);
    let first = group.refs[0];
    let line = loc.line.unwrap_or(first.step.line);
    // A reference in a bake file is named by its file and line.
    let place = |r: &DiscoveredRef| {
        let line = r.location.line.unwrap_or(r.step.line);
        if r.location.file == l.workflow.path {
            format!("line {line}")
        } else {
            format!("{}:{line}", r.location.file)
        }
    };
    let uses: Vec<String> = group
        .refs
        .iter()
        .map(|r| {
            format!(
                "the {} `{}` of step `{}` ({})",
                r.role.as_str(),
                r.written,
                r.step.label,
                place(r)
            )
        })
        .collect();
    let (severity, later) = match setter {
        Some(s) => (
            Severity::Warning,
            format!(
                " Step `{}` (line {}) writes to $GITHUB_ENV before the build and may set `{name}` there; acr-preflight cannot know what it writes.",
                s.label(),
                s.pos.line
            ),
        ),
        None => (
            Severity::Error,
            " No step before the build sets it otherwise, so the build fails with `invalid reference format`."
                .to_string(),
        ),
    };
    let (message, fix) = match set_in {
        Some(level) => (
            format!(
                "`{name}` is set to an empty value at line {line} ({level}), and {} is built from it: without a value the reference is `{}`, which is not valid.{later}{}",
                uses.join(", "),
                resolved_with_empty(first),
                if loc.file == l.workflow.path {
                    " Template workflows ship this entry empty for you to fill in."
                } else {
                    ""
                }
            ),
            if loc.file != l.workflow.path {
                format!(
                    "Give `{name}` its value at {}:{line} (`default = \"myregistry.azurecr.io\"`), or set `{name}` in the step's `env:` (bake reads a variable from the environment first): `{name}: ${{{{ vars.{name} }}}}`.",
                    loc.file
                )
            } else {
                format!(
                    "Give `{name}` its value at {}:{line} (for a registry, its name or login server, e.g. `{name}: myregistry`), or set it from a variable: `{name}: ${{{{ vars.{name} }}}}`.",
                    l.workflow.path
                )
            },
        ),
        None => (
            format!(
                "`{name}` is empty in acr-preflight's environment and no `env:` block of the workflow sets it, and {} is built from it: without a value the reference is `{}`, which is not valid.{later}",
                uses.join(", "),
                resolved_with_empty(first)
            ),
            format!(
                "Set `{name}` in the workflow's or the job's `env:` of {}, or give the reference in full.",
                l.workflow.path
            ),
        ),
    };
    finding(
        Code::WORKFLOW_EMPTY_VARIABLE,
        severity,
        format!(
            "`{name}` is empty, so the {} `{}` at {} is not a valid reference",
            first.role.as_str(),
            first.written,
            place(first)
        ),
        message,
        fix,
    )
    .at(loc.file.clone(), loc.line, loc.column)
}

/// A build that loads a multi-platform result into the image store, which the docker
/// exporter cannot hold.
pub(super) fn load_multiplatform(load: &discover::LoadedBuild) -> Finding {
    let platforms = load.platforms.join(", ");
    finding(
        Code::WORKFLOW_LOAD_MULTIPLATFORM,
        Severity::Error,
        format!(
            "step `{}` loads a build for {} platforms ({platforms})",
            load.step.label,
            load.platforms.len()
        ),
        format!(
            "Step {} `{}` runs `{}` with a load into the runner's image store and the platforms {platforms}. Docker's classic image store holds one platform of an image, so the build fails with \"docker exporter does not currently support exporting manifest lists\" after it has built every platform (only a daemon that uses the containerd image store can load several).",
            load.step.index + 1,
            load.step.label,
            load.what
        ),
        format!(
            "Either drop the load (`load: true` / `--load`) and push the multi-platform image, or build one platform when loading (for example `platforms: {}`).",
            load.platforms.first().map(String::as_str).unwrap_or("linux/amd64")
        ),
    )
    .at(load.location.file.clone(), load.location.line, load.location.column)
}

pub(super) fn at_location(f: Finding, l: &Location) -> Finding {
    f.at(l.file.clone(), l.line, l.column)
}

fn driver_of(builder: &discover::BuilderStep) -> &str {
    builder.driver.as_deref().unwrap_or("?")
}

/// A builder with its own BuildKit created before a login that a later build needs.
pub(super) fn builder_before_login(
    builder: &discover::BuilderStep,
    login: &discover::LoginStep,
    build: &discover::BuildCommand,
) -> Finding {
    let line = |l: &Location, s: &StepRef| l.line.unwrap_or(s.line);
    let registry = login.registry.as_deref().unwrap_or("its registry");
    let boots_from_it =
        login.registry.is_some() && login.registry.as_deref() == builder.boot_registry();
    let (severity, consequence) = if boots_from_it && builder.boots_default_image() {
        // A public image: the boot pull works without the login, anonymously.
        (
            Severity::Notice,
            format!(
                "The builder boots from buildx's default BuildKit image `{}` on Docker Hub, which it pulls when it is created, before the login exists: that pull is anonymous (the image is public, so it works) and counts against the anonymous pull limit of the runner's address; once that is used up, the set-up fails with `toomanyrequests: You have reached your unauthenticated pull rate limit`.",
                crate::workflow::BUILDKIT_DEFAULT_IMAGE
            ),
        )
    } else if boots_from_it {
        (
            Severity::Error,
            format!(
                "The builder boots from a BuildKit image on {registry} (`driver-opts` `image=`), which it pulls when it is created, before the login exists: the set-up fails with \"unauthorized\" or \"pull access denied\"."
            ),
        )
    } else {
        (
            Severity::Notice,
            "A builder whose driver is not `docker` runs BuildKit outside the docker daemon and asks the client for registry credentials during each build, so a later login is usually seen; builds are still reported failing with \"failed to fetch oauth token: 401 Unauthorized\" while `docker push` works when the login came after the builder was created and booted, and the builder's boot pulls its image with whatever credentials the docker config holds at that moment.".to_string(),
        )
    };
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
            severity,
            format!(
                "the buildx builder of step `{}` is created before the login in step `{}`",
                builder.step.label, login.step.label
            ),
            format!(
                "Step `{}` runs `{}` (line {}), which creates a builder with the `{}` driver; `{}` in step `{}` (line {}) logs in to {registry} only after it, and `{}` in step `{}` (line {}) builds with that builder. {consequence}",
                builder.step.label,
                builder.what,
                line(&builder.location, &builder.step),
                driver_of(builder),
                login.what,
                login.step.label,
                line(&login.location, &login.step),
                build.what,
                build.step.label,
                line(&build.location, &build.step),
            ),
            format!(
                "Order the steps login → setup-buildx → build: move step `{}` (line {}) below step `{}` (line {}).",
                builder.step.label, builder.step.line, login.step.label, login.step.line
            ),
        ),
        &builder.location,
    )
}

/// A builder on other machines: the credential must be in the client's docker config.
pub(super) fn builder_remote(
    builder: &discover::BuilderStep,
    build: &discover::BuildCommand,
    checked: &std::path::Path,
) -> Finding {
    let driver = driver_of(builder);
    let seen = format!(
        "Step `{}` runs `{}` (line {}) with the `{driver}` driver, so BuildKit runs away from the runner (in a pod, or at a remote endpoint), and `{}` in step `{}` (line {}) builds there.",
        builder.step.label,
        builder.what,
        builder.location.line.unwrap_or(builder.step.line),
        build.what,
        build.step.label,
        build.location.line.unwrap_or(build.step.line),
    );
    remote(build, driver, seen, checked, &builder.location)
}

/// WORKFLOW_BUILDER_REMOTE: `seen` says where the builder comes from and that `build`
/// runs on it; the rest is the same for every builder on other machines.
pub(super) fn remote(
    build: &discover::BuildCommand,
    driver: &str,
    seen: String,
    checked: &std::path::Path,
    at: &Location,
) -> Finding {
    at_location(
        finding(
            Code::WORKFLOW_BUILDER_REMOTE,
            Severity::Notice,
            format!(
                "step `{}` builds on a `{driver}` builder: registry credentials come from the runner's docker config",
                build.step.label
            ),
            format!(
                "{seen} BuildKit asks the client for registry credentials during each build, and the client answers from its own docker config: a credential that exists only where BuildKit runs (a pod's managed identity or pull secret, a login inside the builder) is not used, and pulls and pushes fail with \"failed to fetch anonymous token: 401 Unauthorized\". acr-preflight checked the client's docker config ({}/config.json), which is the one that counts.",
                checked.display()
            ),
            "Log in on the runner before the build (docker/login-action, or `az acr login -n <registry>` after azure/login), so the client's docker config holds the credential, and keep any credential helper it names installed on the runner.".to_string(),
        ),
        at,
    )
}

/// A `FROM` image that an earlier step loaded into the daemon, built on a builder that
/// has its own image store.
pub(super) fn local_image_invisible(
    build: &discover::BuildCommand,
    builder: &Chosen<'_>,
    loaded: &PutInDaemon<'_>,
    used: &UsedImage<'_>,
) -> Finding {
    let (base, dockerfile, instruction) = (used.base, used.dockerfile, used.instruction);
    let image = &base.image;
    let bare = image.split(['@', ':']).next().unwrap_or(image);
    let hub = if bare.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let line = |b: &discover::BuildCommand| b.location.line.unwrap_or(b.step.line);
    let driver = builder.driver().unwrap_or("?");
    let put = match loaded.verb {
        "tags" => format!("tags an image of the docker daemon's image store as `{image}`"),
        verb => format!("{verb} `{image}` into the docker daemon's image store"),
    };
    let f = finding(
        Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE,
        Severity::Error,
        format!(
            "`{instruction}{image}` in {dockerfile} names the image step `{}` loaded, which the `{}` builder cannot see",
            loaded.step.label, driver
        ),
        format!(
            "Step `{}` {put} (`{}`, line {}). Step `{}` then builds {dockerfile}, whose `{instruction}{image}` (line {}) names that image, with `{}` (line {}) on {}, driver `{}`. That builder runs BuildKit with its own image store and never looks in the daemon's: a name without a registry host means `{hub}`, so the build fails with \"pull access denied, repository does not exist or may require authorization\". It looks like a login problem and is not one.",
            loaded.step.label,
            loaded.what,
            loaded.line,
            build.step.label,
            base.line,
            build.what,
            line(build),
            builder.origin(),
            driver
        ),
        format!(
            "Run step `{}` on a builder with the docker driver, which reads the daemon's images: the runner's `default` builder (`builder: default` on docker/build-push-action, `--builder default` on docker buildx build) or one set up with `driver: docker`; only there can `build-contexts: {bare}=docker-image://{image}` point at the loaded image. Or push `{image}` to your registry in step `{}` and write `{instruction}<registry>/{image}` with the full name.",
            build.step.label, loaded.step.label
        ),
    );
    at_location(f, &build.location)
}

/// The build logs in with a static credential, not the OIDC identity the job signs in as.
pub(super) fn login_differs(
    config: &Config,
    registry: &crate::config::Registry,
    login: &discover::LoginStep,
    source: &OidcSource,
) -> Finding {
    let host = &registry.host;
    let name = registry.acr_name.as_deref().unwrap_or(host);
    let client = config.azure.client_id.as_deref().unwrap_or("<client-id>");
    let user = login
        .username
        .as_deref()
        .map(|u| format!(" with the username `{u}` and a password"))
        .unwrap_or_else(|| " with a username and password".into());
    let retired = if login.what == "azure/docker-login" {
        " azure/docker-login takes nothing but a username and password; it is no longer maintained and has been removed from the GitHub Marketplace."
    } else {
        ""
    };
    let (title_who, who) = match source {
        OidcSource::Preflight => (
            "the OIDC identity acr-preflight checks".to_string(),
            format!(
                "acr-preflight signs in to Azure with OIDC (client id {client}) and proves what that identity may pull and push on {host}. The build does not use that identity:"
            ),
        ),
        OidcSource::Step { label, line, what } => {
            let how = if what == "azure/login" {
                "azure/login with a `client-id` and no secret"
            } else {
                "`az login --federated-token`"
            };
            (
                format!("the OIDC identity step `{label}` signs in as"),
                format!(
                    "Step `{label}` (line {line}) signs the job in to Azure with OIDC ({how}), so the job has an Entra identity that `az acr login` could turn into a registry token. The build does not use it:"
                ),
            )
        }
    };
    let fix = format!(
        "After the OIDC sign-in, log in to the registry as the OIDC identity instead of step `{}`: run `az acr login -n {name}` (it writes the identity's ACR token into the docker config), or hand a token to docker/login-action:\n{}",
        login.step.label,
        token_login_yaml(name, host)
    );
    at_location(
        finding(
            Code::WORKFLOW_LOGIN_DIFFERS,
            Severity::Warning,
            format!(
                "step `{}` logs in to {host} with a static credential, not {title_who}",
                login.step.label
            ),
            format!(
                "{who} `{}` in step `{}` (line {}) logs in to {host}{user}, a static credential (the registry's admin user, a service principal secret or a repository token), and that is what the docker config will hold for the build. A pass here says nothing about it: it can be expired, rotated or lack the push right the OIDC identity has.{retired}",
                login.what,
                login.step.label,
                login.location.line.unwrap_or(login.step.line)
            ),
            fix,
        ),
        &login.location,
    )
}

/// Where a step is, for messages: `step `label` (line N)`.
fn az_at(a: &discover::AzCommand) -> String {
    format!(
        "`{}` in step `{}` (line {})",
        a.what,
        a.step.label,
        a.location.line.unwrap_or(a.step.line)
    )
}

pub(super) fn config_mismatch_az_sudo(
    call: &discover::AzCommand,
    signin: &discover::AzCommand,
) -> Finding {
    let side = |as_root: bool| {
        if as_root {
            "through sudo, so it uses root's Azure CLI profile (/root/.azure)"
        } else {
            "without sudo, so it uses the runner user's Azure CLI profile ($AZURE_CONFIG_DIR, else ~/.azure)"
        }
    };
    let fix = if call.as_root {
        format!(
            "Drop `sudo` from `{}`: the runner user can run az (and docker, being in the `docker` group on GitHub-hosted runners).",
            call.what
        )
    } else {
        format!(
            "Drop `sudo` from `{}`, so the session is the one later az calls read.",
            signin.what
        )
    };
    let loc = &call.location;
    finding(
        Code::WORKFLOW_CONFIG_MISMATCH,
        Severity::Warning,
        format!(
            "`{}` in step `{}` does not see the Azure CLI sign-in of step `{}`",
            call.what, call.step.label, signin.step.label
        ),
        format!(
            "{} runs {}. The job signs in with {}, which runs {}. That profile holds no session for the call, so az fails with \"Please run 'az login' to setup account.\"",
            az_at(call),
            side(call.as_root),
            az_at(signin),
            side(signin.as_root)
        ),
        fix,
    )
    .at(&loc.file, loc.line, loc.column)
}

pub(super) fn config_mismatch_preflight_sudo(
    config: &crate::config::Config,
    sudo_user: &str,
    build: &discover::BuildCommand,
) -> Finding {
    let checked = config.docker_config.dir.join("config.json");
    let az = if config.auth_mode == crate::config::AuthMode::AzureCli {
        " and root's Azure CLI profile (/root/.azure)"
    } else {
        ""
    };
    let loc = &build.location;
    finding(
        Code::WORKFLOW_CONFIG_MISMATCH,
        Severity::Warning,
        format!(
            "acr-preflight runs through sudo, but `{}` in step `{}` does not",
            build.what, build.step.label
        ),
        format!(
            "acr-preflight runs as root through sudo (SUDO_USER={sudo_user}, HOME=/root), so it checked {}{az}. Step `{}` (line {}) runs `{}` without sudo, as {sudo_user}, which reads {sudo_user}'s docker config ($DOCKER_CONFIG, else ~/.docker/config.json){}: what acr-preflight proved is not what the build will present.",
            checked.display(),
            build.step.label,
            loc.line.unwrap_or(build.step.line),
            build.what,
            if az.is_empty() { "" } else { " and Azure CLI profile (~/.azure)" }
        ),
        format!(
            "Run acr-preflight without sudo, as {sudo_user} (the user the build runs as), so it reads the same docker config{}.",
            if az.is_empty() { "" } else { " and Azure CLI session" }
        ),
    )
    .at(&loc.file, loc.line, loc.column)
}

pub(super) fn az_after_build_finding(
    call: &discover::AzCommand,
    signin: &discover::AzCommand,
    build: &discover::BuildCommand,
) -> Finding {
    let loc = &call.location;
    let build_line = build.location.line.unwrap_or(build.step.line);
    finding(
        Code::WORKFLOW_AZ_AFTER_BUILD,
        Severity::Notice,
        format!(
            "`{}` runs after the build, when the OIDC sign-in may no longer renew az's tokens",
            call.what
        ),
        format!(
            "{} signs in with a GitHub ID token (OIDC), valid for minutes; az renews its cached tokens only while that token is valid. `{}` in step `{}` (line {build_line}) runs before {}, which needs a token: if the build outlasts the token az cached at sign-in (60 to 90 minutes), the call fails with \"AADSTS700024: Client assertion is not within its valid time range\".",
            az_at(signin),
            build.what,
            build.step.label,
            az_at(call)
        ),
        format!(
            "Run `{}` before the build (step `{}`), or repeat the `{}` step, with the same inputs, right before step `{}`: it fetches a new ID token.",
            call.what, build.step.label, signin.what, call.step.label
        ),
    )
    .at(&loc.file, loc.line, loc.column)
}

/// The steps that get an ACR token for the signed-in Azure identity and log in with it.
fn token_login_yaml(name: &str, host: &str) -> String {
    format!(
        "- id: acr\n  run: |\n    token=$(az acr login -n {name} --expose-token --query accessToken -o tsv)\n    echo \"::add-mask::$token\"\n    echo \"token=$token\" >> \"$GITHUB_OUTPUT\"\n- uses: docker/login-action@v3\n  with:\n    registry: {host}\n    username: {TOKEN_USERNAME}\n    password: ${{{{ steps.acr.outputs.token }}}}"
    )
}

/// `uses: azure/docker-login`: retired, with the replacement.
pub(super) fn docker_login_retired(login: &discover::LoginStep) -> Finding {
    let host = login.registry.as_deref().unwrap_or("<registry>");
    let name = crate::cloud::acr_registry(host).unwrap_or("<registry-name>");
    let user = login.username.as_deref().unwrap_or("<username>");
    at_location(
        finding(
            Code::WORKFLOW_LOGIN_DIFFERS,
            Severity::Warning,
            format!(
                "step `{}` uses azure/docker-login, which is no longer maintained",
                login.step.label
            ),
            format!(
                "Step `{}` (line {}) logs in to {host} with azure/docker-login. That action takes nothing but a username and password, runs on a Node version GitHub has retired, is no longer maintained and has been removed from the GitHub Marketplace.",
                login.step.label,
                login.location.line.unwrap_or(login.step.line)
            ),
            format!(
                "Replace it with docker/login-action, which takes the same credential (input `registry` instead of `login-server`):\n- uses: docker/login-action@v3\n  with:\n    registry: {host}\n    username: {user}\n    password: <the same password expression>\nBetter, sign in to Azure with OIDC (azure/login with `client-id`, `tenant-id`, `subscription-id`) and log in as that identity: `az acr login -n {name}`, or:\n{}",
                token_login_yaml(name, host)
            ),
        ),
        &login.location,
    )
}
