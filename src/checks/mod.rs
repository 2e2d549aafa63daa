//! One module per check. Each exposes one async function from the shared context to
//! a `CheckReport`; none of them prints.

mod cli_version;
pub mod credentials;
pub mod identity;
pub mod reference;
pub mod registry;
pub mod workflow;

use crate::config::Config;
use crate::secrets::Secrets;
use std::time::Instant;

/// What every check receives: the configuration, the secret registry, and the run's
/// deadline (no check may run past it).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub config: std::sync::Arc<Config>,
    pub secrets: Secrets,
    pub deadline: Instant,
    /// The docker config (`<docker config dir>/config.json`) as the run read it, once:
    /// every check that needs it reads it here.
    pub docker_config: std::sync::Arc<crate::docker::config::Read>,
    /// Registry logins the workflow runs after acr-preflight's step (from the workflow
    /// check's discovery): the credentials check names them instead of a missing
    /// credential.
    pub later_logins: Vec<crate::workflow::LaterLogin>,
    /// The registries the job logs in to before acr-preflight's step (`None` for a
    /// login whose registry is not known); `None` when that step is not known.
    pub earlier_logins: Option<Vec<Option<String>>>,
    /// Named contexts the workflow's builds read for the platforms they ask for: the
    /// registry check reads a single image's platform for these (CONTEXT_PLATFORM_MISSING).
    pub platform_requests: Vec<crate::workflow::PlatformRequest>,
    /// The `FROM` images of the builds after acr-preflight's step (from the workflow
    /// check's discovery): those on a registry the run checks are checked like contexts.
    pub base_images: crate::workflow::BaseImages,
    /// How messages name the job's login to Docker Hub, when a step of the job logs in
    /// to it (its pulls are then not anonymous).
    pub docker_hub_login: Option<String>,
    /// The remote URL contexts of the builds after acr-preflight's step (P42).
    pub remote_contexts: Vec<crate::workflow::RemoteContext>,
    /// Every registry login of the job (from the workflow check's discovery): the
    /// credentials check compares their usernames with ARM's facts.
    pub logins: Vec<crate::workflow::LoginStep>,
    /// The job's `azure/login` steps: the identity check tells them what it finds out
    /// about the identity they sign in as.
    pub azure_logins: Vec<crate::workflow::AzureLogin>,
    /// The job's `Azure/acr-build` steps: they queue ACR Tasks runs as their own
    /// `service_principal`, which TASKS_ROLE_MISSING compares with this run's identity.
    pub acr_build_logins: Vec<crate::workflow::AzureLogin>,
    /// The `az acr` commands after acr-preflight's step that resolve the registry
    /// through ARM: ARM_READ_DENIED says which of them fails for want of ARM read.
    pub arm_az_calls: Vec<crate::workflow::ArmAzCall>,
    /// `az acr login` and the repository actions after acr-preflight's step: the
    /// registry check proves their rights, CRED_REJECTED predicts the login's fall-back.
    pub acr_az_calls: Vec<crate::workflow::AcrAzCall>,
    /// The proxy variables set (not empty) in acr-preflight's environment, as spelled
    /// (`HTTPS_PROXY`), each once; their values are registered as secrets.
    pub proxy_vars: Vec<String>,
    /// The logins, builds and time limit of the steps after acr-preflight's (the
    /// credentials check's runner-side checks).
    pub job: crate::workflow::JobFacts,
}

impl Ctx {
    /// A context that reads the docker config itself.
    pub fn new(config: Config, secrets: Secrets) -> Ctx {
        let docker_config = crate::docker::config::load(&config.docker_config.dir, &secrets);
        Ctx::with_docker_config(config, secrets, std::sync::Arc::new(docker_config))
    }

    /// A context with the docker config the run has already read.
    pub fn with_docker_config(
        config: Config,
        secrets: Secrets,
        docker_config: std::sync::Arc<crate::docker::config::Read>,
    ) -> Ctx {
        let deadline = Instant::now() + config.timeout;
        Ctx {
            config: std::sync::Arc::new(config),
            secrets,
            deadline,
            docker_config,
            later_logins: Vec::new(),
            earlier_logins: None,
            platform_requests: Vec::new(),
            base_images: crate::workflow::BaseImages::default(),
            docker_hub_login: None,
            remote_contexts: Vec::new(),
            logins: Vec::new(),
            azure_logins: Vec::new(),
            acr_build_logins: Vec::new(),
            arm_az_calls: Vec::new(),
            acr_az_calls: Vec::new(),
            proxy_vars: Vec::new(),
            job: crate::workflow::JobFacts::default(),
        }
    }

    /// Time left before the run's deadline (zero when it has passed).
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A registry client on the run's shared HTTP client, under the run's deadline.
    pub fn registry_client(&self, http: reqwest::Client) -> crate::registry::Client {
        crate::registry::Client::new(http, self.deadline, self.secrets.clone())
            .with_resolve(self.config.resolve.iter().map(|r| (r.host.clone(), r.addr)))
    }
}
