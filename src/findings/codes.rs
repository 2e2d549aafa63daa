//! The catalogue of finding codes: one entry per code, each stable once shipped and
//! documented in `docs/checks.md` (its section is the code's anchor; `explain` prints it).

use std::fmt;

/// Declares the finding codes once: the enum, its stable string, and the list used
/// by `explain` and by the test that keeps `docs/checks.md` complete.
macro_rules! finding_codes {
    ($($variant:ident),+ $(,)?) => {
        /// A stable finding code. Never rename or remove a shipped code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum Code { $($variant),+ }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => stringify!($variant)),+ }
            }

            pub fn from_name(name: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(name))
            }
        }
    };
}

finding_codes! {
    // run
    RUN_TIMEOUT,
    RUN_NOTHING_TO_CHECK,
    // reference
    REF_INVALID,
    REF_WRONG_REGISTRY,
    REF_MUTABLE_TAG,
    REF_NO_REGISTRY,
    REF_PUSH_DIGEST,
    // credential helpers / docker config
    DOCKER_CONFIG_INVALID,
    DOCKER_CONFIG_MISSING,
    CONTAINER_PATH_UNMOUNTED,
    HELPER_NOT_FOUND,
    HELPER_UNVERIFIABLE,
    HELPER_FAILED,
    HELPER_NO_CREDENTIALS,
    CRED_NOT_FOUND,
    CRED_EXPIRED,
    CRED_ADMIN_DISABLED,
    CRED_PREEXISTING,
    CRED_TOOL_NO_HELPER,
    RUNNER_SHARED_CONFIG,
    DOCKER_DAEMON_NO_PROXY,
    HELPER_ENV_MISSING,
    HELPER_DEFAULT_STORE_HEADLESS,
    HELPER_STORE_UNSUPPORTED,
    DOCKER_CONFIG_NOT_WRITABLE,
    DOCKER_UNAVAILABLE,
    // registry
    NET_DNS,
    NET_CONNECT,
    NET_TLS,
    NET_TIMEOUT,
    NET_FORBIDDEN,
    NET_DATA_ENDPOINT,
    REGISTRY_CHALLENGE,
    REGISTRY_UNEXPECTED,
    REGISTRY_THROTTLED,
    REGISTRY_REALM_ELSEWHERE,
    REGISTRY_DOCKERHUB_ANONYMOUS,
    CRED_REJECTED,
    ROLE_PULL_MISSING,
    ROLE_PUSH_MISSING,
    ROLE_PUSH_UNVERIFIED,
    REGISTRY_WRITE_LOCKED,
    ROLE_ACTION_MISSING,
    CONTEXT_NOT_FOUND,
    CONTEXT_ACCESS_DENIED,
    CONTEXT_READ_LOCKED,
    CONTEXT_NOT_AN_ARTIFACT,
    CONTEXT_PLATFORM_MISSING,
    CONTEXT_GIT_URL_FORM,
    CONTEXT_GIT_REF_MISSING,
    CONTEXT_GIT_UNREADABLE,
    CONTEXT_GIT_SUBMODULES,
    CONTEXT_GIT_TOKEN_REFUSED,
    CONTEXT_GIT_TOKEN_UNSEEN,
    CONTEXT_URL_UNREADABLE,
    CONTEXT_URL_NOT_ARCHIVE,
    // workflow
    WORKFLOW_NOT_FOUND,
    WORKFLOW_INVALID,
    WORKFLOW_OIDC_PERMISSION,
    WORKFLOW_PACKAGES_PERMISSION,
    WORKFLOW_ENVIRONMENT_SUBJECT,
    WORKFLOW_BUILD_BEFORE_PREFLIGHT,
    WORKFLOW_BUILDKIT_CONTEXT_ARG,
    WORKFLOW_UNRESOLVED_EXPRESSION,
    WORKFLOW_EMPTY_VARIABLE,
    WORKFLOW_LOGIN_AFTER_PREFLIGHT,
    WORKFLOW_SECRETS_WITHHELD,
    WORKFLOW_INPUT_EMPTY,
    WORKFLOW_LOAD_MULTIPLATFORM,
    WORKFLOW_CONFIG_MISMATCH,
    WORKFLOW_BUILDER_BEFORE_LOGIN,
    WORKFLOW_BUILDER_REMOTE,
    WORKFLOW_BUILDER_UNKNOWN,
    WORKFLOW_BUILDER_NO_PROXY,
    WORKFLOW_BUILDER_PROXY_LOOPBACK,
    WORKFLOW_LOCAL_IMAGE_INVISIBLE,
    WORKFLOW_LOGIN_DIFFERS,
    WORKFLOW_AZURE_LOGIN_INPUTS,
    WORKFLOW_AZURE_LOGIN_IDENTITY,
    WORKFLOW_AZURE_CREDS_UNCHECKED,
    TASKS_BASE_REGISTRY_CREDENTIAL,
    WORKFLOW_CONTEXT_IGNORED_SOURCE,
    WORKFLOW_CONTEXT_IGNORED_DOCKERFILE,
    TASKS_CONTEXT_UPLOAD_LARGE,
    TASKS_CONTEXT_LINK_OUTSIDE,
    WORKFLOW_AZ_AFTER_BUILD,
    WORKFLOW_AZ_SUBSCRIPTION,
    WORKFLOW_ARM_AUDIENCE_TOKEN,
    // pull request feedback (src/feedback/)
    GITHUB_TOKEN_MISSING,
    GITHUB_ACCESS_DENIED,
    GITHUB_FEEDBACK_SKIPPED,
    GITHUB_API_ERROR,
    // identity and role (src/checks/identity/)
    ID_OIDC_UNAVAILABLE,
    ID_FEDERATION_MISMATCH,
    ID_APP_NOT_FOUND,
    ID_TENANT_NOT_FOUND,
    ID_SECRET_INVALID,
    ID_SECRET_EXPIRED,
    ID_SECRET_EXPIRING,
    ID_ASSERTION_EXPIRED,
    ID_TOKEN_FAILED,
    ID_CLI_UNVERIFIABLE,
    ID_CLI_OIDC_RENEWAL,
    ID_CLI_VERSION,
    REGISTRY_NOT_FOUND,
    ARM_READ_DENIED,
    ROLE_ABAC_MODE,
    TASKS_ABAC_SOURCE_AUTH,
    TASKS_NETWORK_BYPASS,
    REGISTRY_LOGIN_SERVER,
    TASKS_ROLE_MISSING,
    CRED_TOKEN_SCOPE_MISSING,
    TASKS_SUBSCRIPTION_UNSUPPORTED,
    ID_NO_SUBSCRIPTION,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
