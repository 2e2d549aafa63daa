//! The Azure Resource Manager fake: container registries and the caller's effective
//! permissions, computed from a per-test role-assignment table with the built-in role
//! definitions of Microsoft Learn, Azure built-in roles for containers.
//!
//! | request | answer |
//! |---|---|
//! | `GET /subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01` (and `/resourceGroups/{rg}/…`) | 200 `{"value":[registry…],"nextLink"?}` with the registries the caller may read (`Microsoft.ContainerRegistry/registries/read`); 403 `AuthorizationFailed` when it may read none and has no read at the subscription/resource group |
//! | `GET {registry id}?api-version=2025-11-01` | 200 registry; 403 `AuthorizationFailed`; 404 `ResourceNotFound` |
//! | `GET {registry id}/tokens/{name}?api-version=2025-11-01` | 200 `{"id","name","type":"Microsoft.ContainerRegistry/registries/tokens","properties":{"creationDate","scopeMapId","provisioningState","status"}}` (spec example `TokenGet.json`); 403 `AuthorizationFailed` without `registries/tokens/read`; 404 `ResourceNotFound` |
//! | `GET {registry id}/scopeMaps/{name}?api-version=2025-11-01` | 200 `{"id","name","type":"Microsoft.ContainerRegistry/registries/scopeMaps","properties":{"creationDate","type","actions":[…],"provisioningState"}}` (spec example `ScopeMapGet.json`); 403 without `registries/scopeMaps/read`; 404 |
//! | `GET {registry id or resource group id}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01` | 200 `{"value":[{"actions","notActions","dataActions","notDataActions"}…],"nextLink"?}`, one entry per role assignment of the caller at or above the scope |
//! | `GET {registry id}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '{oid}'` (or `atScope()`) | 200 `{"value":[{"id","type":"Microsoft.Authorization/roleAssignments","name","properties":{"roleDefinitionId","principalId","principalType","scope","condition","conditionVersion","createdOn","updatedOn","createdBy","updatedBy","delegatedManagedIdentityResourceId","description"}}…],"nextLink"?}` (Role Assignments - List For Scope): the principal's assignments at, above or below the scope (`atScope()`: everyone's at or above); 403 `AuthorizationFailed` without `Microsoft.Authorization/roleAssignments/read`; 400 `InvalidFilter` for other filters |
//! | `GET /subscriptions/{sub}?api-version=2020-01-01` | 200 `{"id","authorizationSource","managedByTenants","subscriptionId","tenantId","displayName","state","subscriptionPolicies":{"locationPlacementId","quotaId","spendingLimit"}}` (Subscriptions - Get) when the caller holds any role assignment in the subscription; 403 `AuthorizationFailed` otherwise |
//! | `GET /subscriptions?api-version=2022-12-01` | 200 `{"value":[subscription…],"count":{"type":"Total","value"},"nextLink"?}` (Subscriptions - List): the subscriptions of the token's tenant where the caller holds any role assignment |
//!
//! Paging ([`Arm::set_page_size`]): `nextLink` is the same URL with `$skipToken=N`.
//! Authentication first (401 `{"error":{"code","message"}}`): `AuthenticationFailed`
//! (no or malformed `Authorization`), `InvalidAuthenticationToken` (not a token the Entra
//! fake issued), `ExpiredAuthenticationToken`, `InvalidAuthenticationTokenAudience` (not
//! the cloud's ARM audience), `InvalidAuthenticationTokenTenant` (the token's `tid` is not
//! the subscription's tenant); then `SubscriptionNotFound` (404),
//! `MissingApiVersionParameter` / `NoRegisteredProviderFound` (400).
//!
//! The caller is the token's `oid`; role assignments name principals by object id.

use super::super::http::{Request, Response};
use super::super::now_unix;
use super::entra::{Entra, IssuedToken};
use super::{Cloud, arm_error, new_guid};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, Weak};

/// The registries API version (azure-rest-api-specs Microsoft.ContainerRegistry 2025-11-01, RegistryList.json).
pub const REGISTRIES_API_VERSION: &str = "2025-11-01";
/// The permissions API version (azure-rest-api-specs Microsoft.Authorization 2022-04-01, permissions).
pub const PERMISSIONS_API_VERSION: &str = "2022-04-01";

/// The subscriptions API versions (azure-rest-api-specs Microsoft.Resources subscriptions: Get 2020-01-01, List 2022-12-01).
pub const SUBSCRIPTION_API_VERSION: &str = "2020-01-01";
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
pub const ACTION_ROLE_ASSIGNMENTS_READ: &str = "Microsoft.Authorization/roleAssignments/read";
/// The quota id of a pay-as-you-go subscription, the fake's default.
pub const QUOTA_PAY_AS_YOU_GO: &str = "PayAsYouGo_2014-09-01";
/// The fake's default `createdOn` of a role assignment (long past).
pub const ASSIGNED_LONG_AGO: i64 = 1_768_466_400;
pub const ACTION_REGISTRY_READ: &str = "Microsoft.ContainerRegistry/registries/read";
pub const ACTION_TOKEN_READ: &str = "Microsoft.ContainerRegistry/registries/tokens/read";
pub const ACTION_SCOPE_MAP_READ: &str = "Microsoft.ContainerRegistry/registries/scopeMaps/read";
pub const ACTION_PULL: &str = "Microsoft.ContainerRegistry/registries/pull/read";
pub const ACTION_PUSH: &str = "Microsoft.ContainerRegistry/registries/push/write";
pub const ACTION_DELETE: &str = "Microsoft.ContainerRegistry/registries/artifacts/delete";
/// Queue an ACR Tasks run (`az acr build`, `az acr run`).
pub const ACTION_SCHEDULE_RUN: &str = "Microsoft.ContainerRegistry/registries/scheduleRun/action";
/// Get the SAS URL the CLI uploads the build source to.
pub const ACTION_LIST_BUILD_SOURCE_UPLOAD_URL: &str =
    "Microsoft.ContainerRegistry/registries/listBuildSourceUploadUrl/action";
/// Get the SAS URL of a run's log.
pub const ACTION_LIST_LOG_SAS_URL: &str =
    "Microsoft.ContainerRegistry/registries/runs/listLogSasUrl/action";
pub const DATA_CONTENT_READ: &str =
    "Microsoft.ContainerRegistry/registries/repositories/content/read";
pub const DATA_CONTENT_WRITE: &str =
    "Microsoft.ContainerRegistry/registries/repositories/content/write";
pub const DATA_CONTENT_DELETE: &str =
    "Microsoft.ContainerRegistry/registries/repositories/content/delete";
pub const DATA_METADATA_READ: &str =
    "Microsoft.ContainerRegistry/registries/repositories/metadata/read";
pub const DATA_METADATA_WRITE: &str =
    "Microsoft.ContainerRegistry/registries/repositories/metadata/write";
pub const DATA_METADATA_DELETE: &str =
    "Microsoft.ContainerRegistry/registries/repositories/metadata/delete";
pub const DATA_CATALOG_READ: &str = "Microsoft.ContainerRegistry/registries/catalog/read";

// ---------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------

/// A role definition's permission block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDefinition {
    /// The role definition GUID.
    pub id: String,
    pub name: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

impl RoleDefinition {
    /// Whether this role grants control-plane `action` (wildcards, minus `notActions`).
    pub fn allows_action(&self, action: &str) -> bool {
        self.actions.iter().any(|p| action_matches(p, action))
            && !self.not_actions.iter().any(|p| action_matches(p, action))
    }

    /// Whether this role grants data action `action`.
    pub fn allows_data_action(&self, action: &str) -> bool {
        self.data_actions.iter().any(|p| action_matches(p, action))
            && !self
                .not_data_actions
                .iter()
                .any(|p| action_matches(p, action))
    }

    /// The permissions API entry.
    pub fn permission_json(&self) -> Value {
        json!({
            "actions": self.actions,
            "notActions": self.not_actions,
            "dataActions": self.data_actions,
            "notDataActions": self.not_data_actions,
        })
    }
}

/// Azure's action patterns: case-insensitive, `*` matches any run of characters
/// (including `/`).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn glob(p: &[u8], a: &[u8]) -> bool {
        match p.split_first() {
            None => a.is_empty(),
            Some((b'*', rest)) => (0..=a.len()).any(|i| glob(rest, &a[i..])),
            Some((c, rest)) => a
                .split_first()
                .is_some_and(|(x, tail)| x.eq_ignore_ascii_case(c) && glob(rest, tail)),
        }
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

/// Built-in roles (Microsoft Learn, Azure built-in roles for containers) and custom ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    AcrPull,
    AcrPush,
    AcrDelete,
    Owner,
    Contributor,
    Reader,
    /// Container Registry Repository Reader (ABAC-era, data actions only).
    RepositoryReader,
    /// Container Registry Repository Writer.
    RepositoryWriter,
    /// Container Registry Repository Contributor.
    RepositoryContributor,
    /// Container Registry Repository Catalog Lister.
    RepositoryCatalogLister,
    /// Container Registry Tasks Contributor (control plane only: tasks, runs, quick builds).
    TasksContributor,
    Custom(RoleDefinition),
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Role {
    pub fn definition(&self) -> RoleDefinition {
        let def = |id: &str, name: &str, actions: &[&str], not_actions: &[&str], data: &[&str]| {
            RoleDefinition {
                id: id.to_string(),
                name: name.to_string(),
                actions: strings(actions),
                not_actions: strings(not_actions),
                data_actions: strings(data),
                not_data_actions: Vec::new(),
            }
        };
        let reader_data = [DATA_METADATA_READ, DATA_CONTENT_READ];
        let writer_data = [
            DATA_METADATA_READ,
            DATA_CONTENT_READ,
            DATA_METADATA_WRITE,
            DATA_CONTENT_WRITE,
        ];
        let contributor_data = [
            DATA_METADATA_READ,
            DATA_CONTENT_READ,
            DATA_METADATA_WRITE,
            DATA_CONTENT_WRITE,
            DATA_METADATA_DELETE,
            DATA_CONTENT_DELETE,
        ];
        match self {
            Role::AcrPull => def(
                "7f951dda-4ed3-4680-a7ca-43fe172d538d",
                "AcrPull",
                &[ACTION_PULL],
                &[],
                &[],
            ),
            Role::AcrPush => def(
                "8311e382-0749-4cb8-b61a-304f252e45ec",
                "AcrPush",
                &[ACTION_PULL, ACTION_PUSH],
                &[],
                &[],
            ),
            Role::AcrDelete => def(
                "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
                "AcrDelete",
                &[ACTION_DELETE],
                &[],
                &[],
            ),
            Role::Owner => def(
                "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "Owner",
                &["*"],
                &[],
                &[],
            ),
            Role::Contributor => def(
                "b24988ac-6180-42a0-ab88-20f7382dd24c",
                "Contributor",
                &["*"],
                &[
                    "Microsoft.Authorization/*/Delete",
                    "Microsoft.Authorization/*/Write",
                    "Microsoft.Authorization/elevateAccess/Action",
                    "Microsoft.Blueprint/blueprintAssignments/write",
                    "Microsoft.Blueprint/blueprintAssignments/delete",
                    "Microsoft.Compute/galleries/share/action",
                    "Microsoft.Purview/consents/write",
                    "Microsoft.Purview/consents/delete",
                ],
                &[],
            ),
            Role::Reader => def(
                "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                "Reader",
                &["*/read"],
                &[],
                &[],
            ),
            Role::RepositoryReader => def(
                "b93aa761-3e63-49ed-ac28-beffa264f7ac",
                "Container Registry Repository Reader",
                &[],
                &[],
                &reader_data,
            ),
            Role::RepositoryWriter => def(
                "2a1e307c-b015-4ebd-883e-5b7698a07328",
                "Container Registry Repository Writer",
                &[],
                &[],
                &writer_data,
            ),
            Role::RepositoryContributor => def(
                "2efddaa5-3f1f-4df3-97df-af3f13818f4c",
                "Container Registry Repository Contributor",
                &[],
                &[],
                &contributor_data,
            ),
            Role::RepositoryCatalogLister => def(
                "bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7",
                "Container Registry Repository Catalog Lister",
                &[],
                &[],
                &[DATA_CATALOG_READ],
            ),
            Role::TasksContributor => def(
                "fb382eab-e894-4461-af04-94435c366c3f",
                "Container Registry Tasks Contributor",
                &[
                    "Microsoft.ContainerRegistry/registries/agentpools/read",
                    "Microsoft.ContainerRegistry/registries/agentpools/write",
                    "Microsoft.ContainerRegistry/registries/agentpools/delete",
                    "Microsoft.ContainerRegistry/registries/agentpools/listQueueStatus/action",
                    "Microsoft.ContainerRegistry/registries/agentpools/operationResults/status/read",
                    "Microsoft.ContainerRegistry/registries/agentpools/operationStatuses/read",
                    "Microsoft.ContainerRegistry/registries/tasks/read",
                    "Microsoft.ContainerRegistry/registries/tasks/write",
                    "Microsoft.ContainerRegistry/registries/tasks/delete",
                    "Microsoft.ContainerRegistry/registries/tasks/listDetails/action",
                    ACTION_SCHEDULE_RUN,
                    ACTION_LIST_BUILD_SOURCE_UPLOAD_URL,
                    "Microsoft.ContainerRegistry/registries/runs/read",
                    "Microsoft.ContainerRegistry/registries/runs/write",
                    ACTION_LIST_LOG_SAS_URL,
                    "Microsoft.ContainerRegistry/registries/runs/cancel/action",
                    "Microsoft.ContainerRegistry/registries/taskruns/read",
                    "Microsoft.ContainerRegistry/registries/taskruns/write",
                    "Microsoft.ContainerRegistry/registries/taskruns/delete",
                    "Microsoft.ContainerRegistry/registries/taskruns/listDetails/action",
                    "Microsoft.ContainerRegistry/registries/taskruns/operationStatuses/read",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    ACTION_REGISTRY_READ,
                ],
                &[],
                &[],
            ),
            Role::Custom(d) => d.clone(),
        }
    }

    pub fn name(&self) -> String {
        self.definition().name
    }

    /// The role definition GUID.
    pub fn id(&self) -> String {
        self.definition().id
    }

    /// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
    pub fn definition_id(&self, subscription: &str) -> String {
        format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}",
            self.id()
        )
    }

    /// A legacy role that ABAC-mode registries ignore on the data plane
    /// (azure-rest-api-specs Microsoft.ContainerRegistry 2025-11-01, roleAssignmentMode): AcrPull, AcrPush, AcrDelete, Owner, Contributor, Reader.
    pub fn is_legacy_data_role(&self) -> bool {
        matches!(
            self,
            Role::AcrPull
                | Role::AcrPush
                | Role::AcrDelete
                | Role::Owner
                | Role::Contributor
                | Role::Reader
        )
    }
}

/// One role assignment. `repositories` models an ABAC repository condition
/// (`@Request[Microsoft.ContainerRegistry/registries/repositories:name]
/// StringEqualsIgnoreCase '<repo>'`, OR-ed): `None` = no condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleAssignment {
    pub principal_id: String,
    pub role: Role,
    pub scope: String,
    pub repositories: Option<Vec<String>>,
    /// `createdOn`, seconds since the epoch ([`ASSIGNED_LONG_AGO`] unless set).
    pub created_on: i64,
}

/// Whether `scope` is `target` or one of its ancestors (`/subscriptions/x` covers
/// `/subscriptions/x/resourceGroups/y/...`), case-insensitively.
pub fn scope_covers(scope: &str, target: &str) -> bool {
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    let target = target.trim_end_matches('/').to_ascii_lowercase();
    target == scope || target.starts_with(&format!("{scope}/"))
}

// ---------------------------------------------------------------------------------------
// Registries
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sku {
    Basic,
    Standard,
    Premium,
}

impl Sku {
    pub fn as_str(self) -> &'static str {
        match self {
            Sku::Basic => "Basic",
            Sku::Standard => "Standard",
            Sku::Premium => "Premium",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleAssignmentMode {
    /// "RBAC Registry Permissions": AcrPull/AcrPush/Owner/Contributor/Reader honoured.
    LegacyRegistryPermissions,
    /// "RBAC Registry + ABAC Repository Permissions": only the data actions of the
    /// Container Registry Repository roles count on the data plane.
    AbacRepositoryPermissions,
}

impl RoleAssignmentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleAssignmentMode::LegacyRegistryPermissions => "LegacyRegistryPermissions",
            RoleAssignmentMode::AbacRepositoryPermissions => "AbacRepositoryPermissions",
        }
    }
}

/// A container registry, rendered as in `RegistryList.json` (2025-11-01).
#[derive(Clone, Debug)]
pub struct Registry {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// Default `<lowercase name>.azurecr.io`; set it for a domain-name-label hash.
    pub login_server: String,
    pub sku: Sku,
    pub role_assignment_mode: RoleAssignmentMode,
    pub admin_user_enabled: bool,
    /// `publicNetworkAccess`: `Enabled` when true.
    pub public_network_access: bool,
    /// `networkRuleSet.defaultAction`: `Deny` when true.
    pub default_action_deny: bool,
    /// `networkRuleSet.ipRules[].value` (all `Allow`).
    pub ip_rules: Vec<String>,
    pub anonymous_pull_enabled: bool,
    pub network_rule_bypass_allowed_for_tasks: bool,
    /// `AzureServices` or `None`.
    pub network_rule_bypass_options: String,
    /// `policies.azureADAuthenticationAsArmPolicy.status`: `enabled` when true.
    pub aad_auth_as_arm: bool,
    /// `autoGeneratedDomainNameLabelScope`: `Unsecure` (the classic `<name>.azurecr.io`),
    /// `TenantReuse`, `SubscriptionReuse`, `ResourceGroupReuse` or `NoReuse`.
    pub domain_name_label_scope: String,
}

impl Registry {
    /// A Standard registry in `westeurope`, RBAC mode, admin user off, public access on,
    /// no firewall, anonymous pull off, ARM-audience tokens accepted, Tasks bypass off.
    pub fn new(subscription: &str, resource_group: &str, name: &str) -> Registry {
        Registry {
            subscription: subscription.to_string(),
            resource_group: resource_group.to_string(),
            name: name.to_string(),
            location: "westeurope".to_string(),
            login_server: format!("{}.azurecr.io", name.to_ascii_lowercase()),
            sku: Sku::Standard,
            role_assignment_mode: RoleAssignmentMode::LegacyRegistryPermissions,
            admin_user_enabled: false,
            public_network_access: true,
            default_action_deny: false,
            ip_rules: Vec::new(),
            anonymous_pull_enabled: false,
            network_rule_bypass_allowed_for_tasks: false,
            network_rule_bypass_options: "AzureServices".to_string(),
            aad_auth_as_arm: true,
            domain_name_label_scope: "Unsecure".to_string(),
        }
    }

    /// Created with a domain-name-label scope: the login server is
    /// `<lowercase name>-<hash>.azurecr.io` and the scope is reported.
    pub fn domain_name_label(mut self, scope: &str, hash: &str) -> Registry {
        self.domain_name_label_scope = scope.to_string();
        self.login_server = format!("{}-{hash}.azurecr.io", self.name.to_ascii_lowercase());
        self
    }

    /// `AbacRepositoryPermissions` mode.
    pub fn abac(mut self) -> Registry {
        self.role_assignment_mode = RoleAssignmentMode::AbacRepositoryPermissions;
        self
    }

    pub fn sku(mut self, sku: Sku) -> Registry {
        self.sku = sku;
        self
    }

    pub fn location(mut self, location: &str) -> Registry {
        self.location = location.to_string();
        self
    }

    pub fn login_server(mut self, host: &str) -> Registry {
        self.login_server = host.to_string();
        self
    }

    pub fn admin_user(mut self, enabled: bool) -> Registry {
        self.admin_user_enabled = enabled;
        self
    }

    pub fn public_network_access(mut self, enabled: bool) -> Registry {
        self.public_network_access = enabled;
        self
    }

    /// `networkRuleSet.defaultAction = Deny` with these allowed IP ranges.
    pub fn firewall(mut self, allowed: &[&str]) -> Registry {
        self.default_action_deny = true;
        self.ip_rules = strings(allowed);
        self
    }

    pub fn anonymous_pull(mut self, enabled: bool) -> Registry {
        self.anonymous_pull_enabled = enabled;
        self
    }

    pub fn tasks_bypass(mut self, allowed: bool) -> Registry {
        self.network_rule_bypass_allowed_for_tasks = allowed;
        self
    }

    /// `azureADAuthenticationAsArmPolicy` enabled (default) or disabled.
    pub fn arm_audience_tokens(mut self, accepted: bool) -> Registry {
        self.aad_auth_as_arm = accepted;
        self
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}`.
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub fn resource_group_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.resource_group
        )
    }

    /// The ARM representation.
    pub fn to_json(&self) -> Value {
        let ip_rules: Vec<Value> = self
            .ip_rules
            .iter()
            .map(|ip| json!({"action": "Allow", "value": ip}))
            .collect();
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": self.location,
            "tags": {},
            "sku": {"name": self.sku.as_str(), "tier": self.sku.as_str()},
            "properties": {
                "loginServer": self.login_server,
                "creationDate": "2026-01-15T08:30:00.0000000Z",
                "provisioningState": "Succeeded",
                "adminUserEnabled": self.admin_user_enabled,
                "networkRuleSet": {
                    "defaultAction": if self.default_action_deny { "Deny" } else { "Allow" },
                    "ipRules": ip_rules,
                },
                "policies": {
                    "quarantinePolicy": {"status": "disabled"},
                    "trustPolicy": {"type": "Notary", "status": "disabled"},
                    "retentionPolicy": {
                        "days": 7,
                        "lastUpdatedTime": "2026-01-15T08:31:00.0000000+00:00",
                        "status": "disabled",
                    },
                    "exportPolicy": {"status": "enabled"},
                    "azureADAuthenticationAsArmPolicy": {
                        "status": if self.aad_auth_as_arm { "enabled" } else { "disabled" },
                    },
                },
                "encryption": {"status": "disabled"},
                "status": null,
                "dataEndpointEnabled": false,
                "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "publicNetworkAccess": if self.public_network_access { "Enabled" } else { "Disabled" },
                "networkRuleBypassOptions": self.network_rule_bypass_options,
                "networkRuleBypassAllowedForTasks": self.network_rule_bypass_allowed_for_tasks,
                "zoneRedundancy": "Disabled",
                "anonymousPullEnabled": self.anonymous_pull_enabled,
                "roleAssignmentMode": self.role_assignment_mode.as_str(),
                "autoGeneratedDomainNameLabelScope": self.domain_name_label_scope,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------

/// One ARM request (no token in it).
#[derive(Clone, Debug)]
pub struct ArmRequest {
    pub method: String,
    pub host: String,
    pub path: String,
    pub api_version: Option<String>,
    /// The caller's `oid` once authenticated.
    pub caller: Option<String>,
    pub status: u16,
    /// `error.code` of an error answer.
    pub error_code: Option<String>,
}

type Listener = Arc<dyn Fn(&Arm) + Send + Sync>;

struct State {
    /// (subscription id, tenant id)
    subscriptions: Vec<(String, String)>,
    /// (subscription id, display name, quota id) for those given one.
    subscription_details: Vec<(String, String, String)>,
    registries: Vec<Registry>,
    /// (registry id, token name, scope map name)
    tokens: Vec<(String, String, String)>,
    /// (registry id, scope map name, actions)
    scope_maps: Vec<(String, String, Vec<String>)>,
    assignments: Vec<RoleAssignment>,
    page_size: Option<usize>,
    failure: Option<Response>,
    log: Vec<ArmRequest>,
    listeners: Vec<Listener>,
}

struct Inner {
    state: Mutex<State>,
    entra: Entra,
}

/// The ARM fake's state. Cheap to clone (a shared handle); served by
/// [`super::AzureFakes`]. Tokens are checked against the [`Entra`] it was made with.
#[derive(Clone)]
pub struct Arm {
    inner: Arc<Inner>,
}

/// A handle that does not keep the fake alive (for hooks).
#[derive(Clone)]
pub struct WeakArm(Weak<Inner>);

impl WeakArm {
    pub fn upgrade(&self) -> Option<Arm> {
        self.0.upgrade().map(|inner| Arm { inner })
    }
}

impl Arm {
    pub fn new(entra: &Entra) -> Arm {
        Arm {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    subscriptions: Vec::new(),
                    subscription_details: Vec::new(),
                    registries: Vec::new(),
                    assignments: Vec::new(),
                    page_size: None,
                    failure: None,
                    log: Vec::new(),
                    listeners: Vec::new(),
                    tokens: Vec::new(),
                    scope_maps: Vec::new(),
                }),
                entra: entra.clone(),
            }),
        }
    }

    pub fn downgrade(&self) -> WeakArm {
        WeakArm(Arc::downgrade(&self.inner))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap()
    }

    /// Runs the change listeners (outside the lock).
    fn changed(&self) {
        let listeners = self.state().listeners.clone();
        for listener in listeners {
            listener(self);
        }
    }

    /// Calls `listener` after every change of registries or role assignments.
    pub fn on_change(&self, listener: impl Fn(&Arm) + Send + Sync + 'static) {
        self.state().listeners.push(Arc::new(listener));
    }

    /// Adds a subscription owned by `tenant_id`.
    pub fn add_subscription(&self, subscription: &str, tenant_id: &str) {
        self.state()
            .subscriptions
            .push((subscription.to_string(), tenant_id.to_string()));
    }

    /// Sets a subscription's `displayName` and `subscriptionPolicies.quotaId`
    /// (`FreeTrial_2014-09-01`, …).
    pub fn set_subscription_details(&self, subscription: &str, display_name: &str, quota_id: &str) {
        let mut state = self.state();
        state
            .subscription_details
            .retain(|(s, _, _)| !s.eq_ignore_ascii_case(subscription));
        state.subscription_details.push((
            subscription.to_string(),
            display_name.to_string(),
            quota_id.to_string(),
        ));
    }

    /// A subscription as Subscriptions - Get and List show it.
    fn subscription_json(&self, subscription: &str, tenant: &str) -> Value {
        let (name, quota) = self
            .state()
            .subscription_details
            .iter()
            .find(|(s, _, _)| s.eq_ignore_ascii_case(subscription))
            .map(|(_, n, q)| (n.clone(), q.clone()))
            .unwrap_or_else(|| {
                (
                    format!("Subscription {subscription}"),
                    QUOTA_PAY_AS_YOU_GO.to_string(),
                )
            });
        let free = quota.starts_with("FreeTrial");
        json!({
            "id": format!("/subscriptions/{subscription}"),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription,
            "tenantId": tenant,
            "displayName": name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": quota,
                "spendingLimit": if free { "On" } else { "Off" },
            },
        })
    }

    /// Whether `principal_id` holds any role assignment at, above or below `scope`.
    fn has_any_assignment_near(&self, principal_id: &str, scope: &str) -> bool {
        self.state().assignments.iter().any(|a| {
            a.principal_id.eq_ignore_ascii_case(principal_id)
                && (scope_covers(&a.scope, scope) || scope_covers(scope, &a.scope))
        })
    }

    /// The tenant of a subscription.
    pub fn subscription_tenant(&self, subscription: &str) -> Option<String> {
        self.state()
            .subscriptions
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(subscription))
            .map(|(_, t)| t.clone())
    }

    /// Adds a registry (its subscription must exist); returns it.
    pub fn add_registry(&self, registry: Registry) -> Registry {
        assert!(
            self.subscription_tenant(&registry.subscription).is_some(),
            "add_subscription({}) before adding registry {}",
            registry.subscription,
            registry.name
        );
        self.state().registries.push(registry.clone());
        self.changed();
        registry
    }

    /// Changes a registry in place (mode, policies, network).
    pub fn update_registry(&self, id: &str, change: impl FnOnce(&mut Registry)) {
        {
            let mut state = self.state();
            let registry = state
                .registries
                .iter_mut()
                .find(|r| r.id().eq_ignore_ascii_case(id))
                .unwrap_or_else(|| panic!("no registry {id}"));
            change(registry);
        }
        self.changed();
    }

    pub fn registry(&self, id: &str) -> Option<Registry> {
        self.state()
            .registries
            .iter()
            .find(|r| r.id().eq_ignore_ascii_case(id))
            .cloned()
    }

    /// The registry whose `loginServer` is `host` (case-insensitive).
    pub fn registry_by_login_server(&self, host: &str) -> Option<Registry> {
        self.state()
            .registries
            .iter()
            .find(|r| r.login_server.eq_ignore_ascii_case(host))
            .cloned()
    }

    /// Adds a scope map to a registry, with actions such as
    /// `repositories/team/app/content/read` (Microsoft Learn, repository-scoped tokens).
    pub fn add_scope_map(&self, registry_id: &str, name: &str, actions: &[&str]) {
        self.state()
            .scope_maps
            .push((registry_id.to_string(), name.to_string(), strings(actions)));
    }

    /// Adds a repository-scoped token bound to the registry's scope map `scope_map`.
    pub fn add_token(&self, registry_id: &str, name: &str, scope_map: &str) {
        self.state().tokens.push((
            registry_id.to_string(),
            name.to_string(),
            scope_map.to_string(),
        ));
    }

    /// A token (`kind` `tokens`) or scope map (`scopeMaps`) of a registry, as ARM shows it.
    fn registry_child(&self, registry_id: &str, kind: &str, name: &str) -> Option<Value> {
        let state = self.state();
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if kind == "tokens" {
            let (_, token, map) = state
                .tokens
                .iter()
                .find(|(r, t, _)| same(r, registry_id) && same(t, name))?;
            return Some(json!({
                "id": format!("{registry_id}/tokens/{token}"),
                "name": token,
                "type": "Microsoft.ContainerRegistry/registries/tokens",
                "properties": {
                    "creationDate": "2026-01-15T08:40:00.0000000Z",
                    "scopeMapId": format!("{registry_id}/scopeMaps/{map}"),
                    "provisioningState": "Succeeded",
                    "status": "enabled",
                },
            }));
        }
        let (_, map, actions) = state
            .scope_maps
            .iter()
            .find(|(r, m, _)| same(r, registry_id) && same(m, name))?;
        Some(json!({
            "id": format!("{registry_id}/scopeMaps/{map}"),
            "name": map,
            "type": "Microsoft.ContainerRegistry/registries/scopeMaps",
            "properties": {
                "creationDate": "2026-01-15T08:39:00.0000000Z",
                "type": "UserDefined",
                "actions": actions,
                "provisioningState": "Succeeded",
            },
        }))
    }

    pub fn registries(&self) -> Vec<Registry> {
        self.state().registries.clone()
    }

    /// Assigns `role` to `principal_id` (an object id) at `scope` (a registry id, a
    /// resource group id or `/subscriptions/{sub}`).
    pub fn assign(&self, principal_id: &str, role: Role, scope: &str) {
        self.push_assignment(RoleAssignment {
            principal_id: principal_id.to_string(),
            role,
            scope: scope.to_string(),
            repositories: None,
            created_on: ASSIGNED_LONG_AGO,
        });
    }

    /// [`Arm::assign`] with its `createdOn` (seconds since the epoch): a new assignment.
    pub fn assign_at(&self, principal_id: &str, role: Role, scope: &str, created_on: i64) {
        self.push_assignment(RoleAssignment {
            principal_id: principal_id.to_string(),
            role,
            scope: scope.to_string(),
            repositories: None,
            created_on,
        });
    }

    /// The same with an ABAC repository condition: only these repositories.
    pub fn assign_limited(&self, principal_id: &str, role: Role, scope: &str, repos: &[&str]) {
        self.push_assignment(RoleAssignment {
            principal_id: principal_id.to_string(),
            role,
            scope: scope.to_string(),
            repositories: Some(strings(repos)),
            created_on: ASSIGNED_LONG_AGO,
        });
    }

    pub fn push_assignment(&self, assignment: RoleAssignment) {
        self.state().assignments.push(assignment);
        self.changed();
    }

    /// Removes every assignment of `principal_id`.
    pub fn unassign_all(&self, principal_id: &str) {
        self.state()
            .assignments
            .retain(|a| !a.principal_id.eq_ignore_ascii_case(principal_id));
        self.changed();
    }

    pub fn assignments(&self) -> Vec<RoleAssignment> {
        self.state().assignments.clone()
    }

    /// The assignments of `principal_id` at `target` or above, in order.
    pub fn assignments_covering(&self, principal_id: &str, target: &str) -> Vec<RoleAssignment> {
        self.state()
            .assignments
            .iter()
            .filter(|a| {
                a.principal_id.eq_ignore_ascii_case(principal_id) && scope_covers(&a.scope, target)
            })
            .cloned()
            .collect()
    }

    /// Whether `principal_id` holds control-plane `action` at `target`.
    pub fn allows(&self, principal_id: &str, target: &str, action: &str) -> bool {
        self.assignments_covering(principal_id, target)
            .iter()
            .any(|a| a.role.definition().allows_action(action))
    }

    /// Splits list answers into pages of `size` (`None`: one page, no `nextLink`).
    pub fn set_page_size(&self, size: Option<usize>) {
        self.state().page_size = size;
    }

    /// Answers every request with `response` until [`Arm::stop_failing`].
    pub fn fail_all_with(&self, response: Response) {
        self.state().failure = Some(response);
    }

    pub fn stop_failing(&self) {
        self.state().failure = None;
    }

    pub fn requests(&self) -> Vec<ArmRequest> {
        self.state().log.clone()
    }

    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Serves one request arriving on `cloud`'s ARM host.
    pub fn handle(&self, req: &Request, cloud: Cloud) -> Response {
        let mut caller = None;
        let failure = self.state().failure.clone();
        let response = match failure {
            Some(canned) => canned,
            None => self
                .route(req, cloud, &mut caller)
                .unwrap_or_else(|error| error),
        };
        let error_code = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
        self.state().log.push(ArmRequest {
            method: req.method.clone(),
            host: req.host(),
            path: req.path.clone(),
            api_version: req.query_first("api-version"),
            caller,
            status: response.status,
            error_code,
        });
        response
    }

    fn route(
        &self,
        req: &Request,
        cloud: Cloud,
        caller: &mut Option<String>,
    ) -> Result<Response, Response> {
        let segs: Vec<&str> = req
            .path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();

        let token = self.authenticate(req, cloud)?;
        *caller = Some(token.object_id.clone());

        if lower.as_slice() == ["subscriptions"] && req.method == "GET" {
            check_api_version(
                req.query_first("api-version").as_deref(),
                SUBSCRIPTIONS_API_VERSION,
                "subscriptions",
            )?;
            let skip: usize = req
                .query_first("$skipToken")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let subscriptions = self.state().subscriptions.clone();
            let items: Vec<Value> = subscriptions
                .iter()
                .filter(|(sub, tenant)| {
                    tenant.eq_ignore_ascii_case(&token.tenant_id)
                        && self.has_any_assignment_near(
                            &token.object_id,
                            &format!("/subscriptions/{sub}"),
                        )
                })
                .map(|(sub, tenant)| self.subscription_json(sub, tenant))
                .collect();
            let total = items.len();
            let mut response = self.page(req, cloud, items, skip);
            if let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) {
                body["count"] = json!({"type": "Total", "value": total});
                response = ok_json(&body);
            }
            return Ok(response);
        }
        let subscription = match lower.as_slice() {
            ["subscriptions", _, ..] => segs[1].to_string(),
            _ => return Err(not_found(&req.path)),
        };
        let Some(tenant) = self.subscription_tenant(&subscription) else {
            return Err(arm_error(
                404,
                "SubscriptionNotFound",
                &format!("The subscription '{subscription}' could not be found."),
            ));
        };
        if !token.tenant_id.eq_ignore_ascii_case(&tenant) {
            let iss = token.claims["iss"].as_str().unwrap_or_default();
            return Err(arm_error(
                401,
                "InvalidAuthenticationTokenTenant",
                &format!(
                    "The access token was issued by '{iss}', but this subscription belongs to the tenant '{}'. Get a token from the authority 'https://{}/{tenant}'.",
                    cloud.sts_issuer(&tenant),
                    cloud.authority_host()
                ),
            ));
        }
        if req.method != "GET" {
            return Err(arm_error(
                405,
                "MethodNotAllowed",
                &format!("The fake serves GET only, not {}.", req.method),
            ));
        }
        let api_version = req.query_first("api-version");
        let skip: usize = req
            .query_first("$skipToken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let oid = token.object_id.as_str();
        let client = token.client_id.as_str();

        match lower.as_slice() {
            ["subscriptions", _] => {
                check_api_version(
                    api_version.as_deref(),
                    SUBSCRIPTION_API_VERSION,
                    "subscriptions",
                )?;
                let scope = format!("/subscriptions/{subscription}");
                if !self.has_any_assignment_near(oid, &scope) {
                    return Err(authorization_failed(
                        client,
                        oid,
                        "Microsoft.Resources/subscriptions/read",
                        &scope,
                    ));
                }
                Ok(ok_json(&self.subscription_json(&subscription, &tenant)))
            }
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.containerregistry",
                "registries",
            ] => {
                check_api_version(api_version.as_deref(), REGISTRIES_API_VERSION, "registries")?;
                let scope = format!("/subscriptions/{subscription}");
                self.list_registries(req, cloud, oid, client, &scope, skip)
            }
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.containerregistry",
                "registries",
            ] => {
                check_api_version(api_version.as_deref(), REGISTRIES_API_VERSION, "registries")?;
                let scope = format!("/subscriptions/{subscription}/resourceGroups/{}", segs[3]);
                self.list_registries(req, cloud, oid, client, &scope, skip)
            }
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.containerregistry",
                "registries",
                _,
            ] => {
                check_api_version(api_version.as_deref(), REGISTRIES_API_VERSION, "registries")?;
                let id = format!("/{}", segs.join("/"));
                if !self.allows(oid, &id, ACTION_REGISTRY_READ) {
                    return Err(authorization_failed(client, oid, ACTION_REGISTRY_READ, &id));
                }
                match self.registry(&id) {
                    Some(r) => Ok(ok_json(&r.to_json())),
                    None => Err(resource_not_found(segs[7], segs[3])),
                }
            }
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.containerregistry",
                "registries",
                _,
                kind @ ("tokens" | "scopemaps"),
                _,
            ] => {
                check_api_version(api_version.as_deref(), REGISTRIES_API_VERSION, kind)?;
                let registry_id = format!("/{}", segs[..8].join("/"));
                let (kind, action) = if *kind == "tokens" {
                    ("tokens", ACTION_TOKEN_READ)
                } else {
                    ("scopeMaps", ACTION_SCOPE_MAP_READ)
                };
                let id = format!("{registry_id}/{kind}/{}", segs[9]);
                if !self.allows(oid, &id, action) {
                    return Err(authorization_failed(client, oid, action, &id));
                }
                match self.registry_child(&registry_id, kind, segs[9]) {
                    Some(v) => Ok(ok_json(&v)),
                    None => Err(arm_error(
                        404,
                        "ResourceNotFound",
                        &format!(
                            "The resource 'Microsoft.ContainerRegistry/registries/{}/{kind}/{}' was not found in resource group '{}'.",
                            segs[7], segs[9], segs[3]
                        ),
                    )),
                }
            }
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.containerregistry",
                "registries",
                _,
                "providers",
                "microsoft.authorization",
                kind @ ("permissions" | "roleassignments"),
            ] => {
                check_api_version(api_version.as_deref(), PERMISSIONS_API_VERSION, kind)?;
                let id = format!("/{}", segs[..8].join("/"));
                if self.registry(&id).is_none() {
                    return Err(resource_not_found(segs[7], segs[3]));
                }
                if *kind == "permissions" {
                    return Ok(self.permissions(req, cloud, oid, &id, skip));
                }
                if !self.allows(oid, &id, ACTION_ROLE_ASSIGNMENTS_READ) {
                    return Err(authorization_failed(
                        client,
                        oid,
                        ACTION_ROLE_ASSIGNMENTS_READ,
                        &id,
                    ));
                }
                let filter = req.query_first("$filter").unwrap_or_default();
                let items = self.role_assignments_json(&id, &subscription, filter.trim())?;
                Ok(self.page(req, cloud, items, skip))
            }
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.authorization",
                "permissions",
            ] => {
                check_api_version(
                    api_version.as_deref(),
                    PERMISSIONS_API_VERSION,
                    "permissions",
                )?;
                let id = format!("/{}", segs[..4].join("/"));
                Ok(self.permissions(req, cloud, oid, &id, skip))
            }
            _ => Err(not_found(&req.path)),
        }
    }

    fn authenticate(&self, req: &Request, cloud: Cloud) -> Result<IssuedToken, Response> {
        let challenge = format!(
            "Bearer authorization_uri=\"https://{}/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
            cloud.authority_host()
        );
        let Some(header) = req.header("authorization") else {
            return Err(arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
            .header("WWW-Authenticate", &challenge));
        };
        let token = match header.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                t.trim()
            }
            _ => {
                return Err(arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                ));
            }
        };
        let Some(issued) = self.inner.entra.issued_token(token) else {
            return Err(arm_error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid: it was not issued by the identity provider for this cloud.",
            ));
        };
        let now = now_unix();
        if issued.expires_at <= now {
            return Err(arm_error(
                401,
                "ExpiredAuthenticationToken",
                &format!(
                    "The access token expired at '{}' (UTC); the current UTC time is '{}'.",
                    super::super::rfc3339(issued.expires_at),
                    super::super::rfc3339(now)
                ),
            ));
        }
        let allowed = [
            cloud.arm_audience(),
            cloud.arm_legacy_audience().to_string(),
        ];
        let aud = issued.audience.trim_end_matches('/');
        if !allowed.iter().any(|a| a.trim_end_matches('/') == aud) {
            return Err(arm_error(
                401,
                "InvalidAuthenticationTokenAudience",
                &format!(
                    "The access token was issued for the audience '{}', which this endpoint does not accept. Allowed audiences: '{}'.",
                    issued.audience,
                    allowed.join("','")
                ),
            ));
        }
        Ok(issued)
    }

    fn next_link(&self, req: &Request, cloud: Cloud, next: usize) -> String {
        let api = req.query_first("api-version").unwrap_or_default();
        format!(
            "https://{}{}?api-version={api}&$skipToken={next}",
            cloud.arm_host(),
            req.path
        )
    }

    fn page(&self, req: &Request, cloud: Cloud, items: Vec<Value>, skip: usize) -> Response {
        let size = self.state().page_size;
        let total = items.len();
        let (value, next) = match size {
            None => (items, None),
            Some(n) => {
                let n = n.max(1);
                let page: Vec<Value> = items.into_iter().skip(skip).take(n).collect();
                let next = (skip + n < total).then(|| self.next_link(req, cloud, skip + n));
                (page, next)
            }
        };
        let mut body = json!({"value": value});
        if let Some(link) = next {
            body["nextLink"] = Value::String(link);
        }
        ok_json(&body)
    }

    fn list_registries(
        &self,
        req: &Request,
        cloud: Cloud,
        oid: &str,
        client: &str,
        scope: &str,
        skip: usize,
    ) -> Result<Response, Response> {
        let in_scope: Vec<Registry> = self
            .registries()
            .into_iter()
            .filter(|r| scope_covers(scope, &r.id()))
            .collect();
        let visible: Vec<Value> = in_scope
            .iter()
            .filter(|r| self.allows(oid, &r.id(), ACTION_REGISTRY_READ))
            .map(Registry::to_json)
            .collect();
        if visible.is_empty() && !self.allows(oid, scope, ACTION_REGISTRY_READ) {
            return Err(authorization_failed(
                client,
                oid,
                ACTION_REGISTRY_READ,
                scope,
            ));
        }
        Ok(self.page(req, cloud, visible, skip))
    }

    fn permissions(
        &self,
        req: &Request,
        cloud: Cloud,
        oid: &str,
        target: &str,
        skip: usize,
    ) -> Response {
        let items: Vec<Value> = self
            .assignments_covering(oid, target)
            .iter()
            .map(|a| a.role.definition().permission_json())
            .collect();
        self.page(req, cloud, items, skip)
    }
}

impl Arm {
    /// Role Assignments - List For Scope at `target` with `filter`.
    fn role_assignments_json(
        &self,
        target: &str,
        subscription: &str,
        filter: &str,
    ) -> Result<Vec<Value>, Response> {
        let principal = filter
            .strip_prefix("principalId eq '")
            .and_then(|rest| rest.strip_suffix('\''))
            .map(str::to_string);
        if principal.is_none() && filter != "atScope()" {
            return Err(arm_error(
                400,
                "InvalidFilter",
                &format!(
                    "The filter '{filter}' is not supported (the fake serves principalId eq '{{id}}' and atScope())."
                ),
            ));
        }
        let assignments = self.assignments();
        Ok(assignments
            .iter()
            .enumerate()
            .filter(|(_, a)| match &principal {
                Some(p) => {
                    a.principal_id.eq_ignore_ascii_case(p)
                        && (scope_covers(&a.scope, target) || scope_covers(target, &a.scope))
                }
                None => scope_covers(&a.scope, target),
            })
            .map(|(i, a)| {
                let name = format!("00000000-0000-4000-8000-{:012x}", i + 1);
                let (condition, version) = match &a.repositories {
                    Some(repos) => (
                        json!(repos
                            .iter()
                            .map(|r| format!("@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '{r}'"))
                            .collect::<Vec<_>>()
                            .join(" OR ")),
                        json!("2.0"),
                    ),
                    None => (Value::Null, Value::Null),
                };
                json!({
                    "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", a.scope),
                    "type": "Microsoft.Authorization/roleAssignments",
                    "name": name,
                    "properties": {
                        "roleDefinitionId": a.role.definition_id(subscription),
                        "principalId": a.principal_id,
                        "principalType": "ServicePrincipal",
                        "scope": a.scope,
                        "condition": condition,
                        "conditionVersion": version,
                        "createdOn": super::super::rfc3339(a.created_on).replace('Z', ".4738210Z"),
                        "updatedOn": super::super::rfc3339(a.created_on),
                        "createdBy": Value::Null,
                        "updatedBy": "b4a3c5d6-0000-4000-8000-00000000aaaa",
                        "delegatedManagedIdentityResourceId": Value::Null,
                        "description": Value::Null,
                    },
                })
            })
            .collect())
    }
}

fn ok_json(body: &Value) -> Response {
    Response::json(200, body)
        .header("x-ms-request-id", &new_guid())
        .header("x-ms-correlation-request-id", &new_guid())
}

fn not_found(path: &str) -> Response {
    arm_error(
        404,
        "NotFound",
        &format!("The ARM fake serves no resource at '{path}'."),
    )
}

fn resource_not_found(name: &str, group: &str) -> Response {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The resource 'Microsoft.ContainerRegistry/registries/{name}' was not found in resource group '{group}'."
        ),
    )
}

/// The 403 body (the message text as the brief gives it).
pub fn authorization_failed(client: &str, oid: &str, action: &str, scope: &str) -> Response {
    arm_error(
        403,
        "AuthorizationFailed",
        &format!(
            "The client '{client}' with object id '{oid}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    )
}

fn check_api_version(got: Option<&str>, supported: &str, kind: &str) -> Result<(), Response> {
    match got {
        None | Some("") => Err(arm_error(
            400,
            "MissingApiVersionParameter",
            "Every request needs an api-version query parameter (?api-version=...).",
        )),
        Some(v) if v == supported => Ok(()),
        Some(v) => Err(arm_error(
            400,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for API version '{v}' and type '{kind}'. The supported api-versions (in this fake) are '{supported}'."
            ),
        )),
    }
}
