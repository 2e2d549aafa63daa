//! Azure Resource Manager: find the registry by its login server and read the caller's
//! effective permissions on it (azure-rest-api-specs: Microsoft.Authorization 2022-04-01 permissions and role assignments, Microsoft.ContainerRegistry 2025-11-01 registries).

use super::Cloud;
use serde_json::Value;

const REGISTRY_API: &str = "2025-11-01";
const PERMISSIONS_API: &str = "2022-04-01";
/// Pages of `nextLink` followed before the list is taken as complete.
const MAX_PAGES: usize = 10;

/// What ARM says about a registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RegistryFacts {
    pub id: String,
    pub name: String,
    pub login_server: String,
    pub sku: Option<String>,
    /// `LegacyRegistryPermissions` (RBAC) or `AbacRepositoryPermissions` (ABAC).
    pub role_assignment_mode: Option<String>,
    pub admin_user_enabled: Option<bool>,
    pub public_network_access: Option<String>,
    pub network_default_action: Option<String>,
    pub anonymous_pull_enabled: Option<bool>,
    pub arm_audience_policy: Option<String>,
    pub bypass_for_tasks: Option<bool>,
}

impl RegistryFacts {
    pub fn abac(&self) -> bool {
        self.role_assignment_mode.as_deref() == Some("AbacRepositoryPermissions")
    }

    fn from_json(v: &Value) -> Option<RegistryFacts> {
        let p = v.get("properties")?;
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool);
        Some(RegistryFacts {
            id: s(v, "id")?,
            name: s(v, "name").unwrap_or_default(),
            login_server: s(p, "loginServer")?,
            sku: v.get("sku").and_then(|k| s(k, "name")),
            role_assignment_mode: s(p, "roleAssignmentMode"),
            admin_user_enabled: b(p, "adminUserEnabled"),
            public_network_access: s(p, "publicNetworkAccess"),
            network_default_action: p.get("networkRuleSet").and_then(|n| s(n, "defaultAction")),
            anonymous_pull_enabled: b(p, "anonymousPullEnabled"),
            arm_audience_policy: p
                .get("policies")
                .and_then(|x| x.get("azureADAuthenticationAsArmPolicy"))
                .and_then(|x| s(x, "status")),
            bypass_for_tasks: b(p, "networkRuleBypassAllowedForTasks"),
        })
    }

    /// "Premium, RBAC mode, public access Enabled (default action Allow), admin user off…"
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.sku {
            parts.push(s.clone());
        }
        parts.push(if self.abac() {
            "ABAC repository permissions".into()
        } else {
            "RBAC registry permissions".to_string()
        });
        if let Some(p) = &self.public_network_access {
            let action = self
                .network_default_action
                .as_deref()
                .map(|a| format!(", default action {a}"))
                .unwrap_or_default();
            parts.push(format!("public network access {p}{action}"));
        }
        if let Some(a) = self.admin_user_enabled {
            parts.push(format!(
                "admin user {}",
                if a { "enabled" } else { "disabled" }
            ));
        }
        if let Some(a) = self.anonymous_pull_enabled {
            parts.push(format!(
                "anonymous pull {}",
                if a { "enabled" } else { "disabled" }
            ));
        }
        if let Some(p) = &self.arm_audience_policy {
            parts.push(format!("ARM-audience tokens {p}"));
        }
        if let Some(t) = self.bypass_for_tasks {
            parts.push(format!(
                "network bypass for Tasks {}",
                if t { "allowed" } else { "not allowed" }
            ));
        }
        parts.join(", ")
    }
}

/// One entry of the permissions API answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

/// Why ARM gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmError {
    /// 401/403: the identity may not read this (normal for pull-only identities).
    Denied {
        status: u16,
        code: String,
        message: String,
    },
    Net(String),
    Unexpected {
        status: u16,
        detail: String,
    },
}

impl ArmError {
    pub fn describe(&self) -> String {
        match self {
            ArmError::Denied {
                status,
                code,
                message,
            } => format!(
                "HTTP {status} {code}: {}",
                crate::registry::wire::shorten(message, 300)
            ),
            ArmError::Net(d) => d.clone(),
            ArmError::Unexpected { status, detail } => format!("HTTP {status}: {detail}"),
        }
    }
}

/// The host of a URL, for messages (`management.azure.com`).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    requests: &mut u32,
) -> Result<Value, ArmError> {
    *requests += 1;
    let resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| ArmError::Net(crate::http::error_chain(&e)))?;
    let status = resp.status().as_u16();
    let body = crate::http::read_capped(resp, crate::http::MAX_BODY)
        .await
        .map_err(|e| ArmError::Net(format!("{}: {e}", host_of(url))))?;
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match status {
        200 => Ok(value),
        401 | 403 => {
            let err = value.get("error");
            let s = |k: &str| {
                err.and_then(|e| e.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            Err(ArmError::Denied {
                status,
                code: s("code"),
                message: s("message"),
            })
        }
        _ => Err(ArmError::Unexpected {
            status,
            detail: crate::registry::wire::shorten(&String::from_utf8_lossy(&body), 200),
        }),
    }
}

/// Every registry of the subscription the identity can see (following `nextLink`).
pub async fn list_registries(
    http: &reqwest::Client,
    cloud: &Cloud,
    token: &str,
    subscription: &str,
    requests: &mut u32,
) -> Result<Vec<RegistryFacts>, ArmError> {
    let mut url = format!(
        "{}/subscriptions/{subscription}/providers/Microsoft.ContainerRegistry/registries?api-version={REGISTRY_API}",
        cloud.arm
    );
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = get(http, &url, token, requests).await?;
        out.extend(
            page.get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(RegistryFacts::from_json),
        );
        // Only follow links on the ARM host: a page must not send our token elsewhere.
        match page.get("nextLink").and_then(Value::as_str) {
            Some(next) if next.starts_with(&cloud.arm) => url = next.to_string(),
            _ => break,
        }
    }
    Ok(out)
}

/// The caller's permissions at the registry's scope.
pub async fn permissions(
    http: &reqwest::Client,
    cloud: &Cloud,
    token: &str,
    registry_id: &str,
    requests: &mut u32,
) -> Result<Vec<Permission>, ArmError> {
    let url = format!(
        "{}{registry_id}/providers/Microsoft.Authorization/permissions?api-version={PERMISSIONS_API}",
        cloud.arm
    );
    let page = get(http, &url, token, requests).await?;
    let list = |v: &Value, k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    Ok(page
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| Permission {
            actions: list(p, "actions"),
            not_actions: list(p, "notActions"),
            data_actions: list(p, "dataActions"),
            not_data_actions: list(p, "notDataActions"),
        })
        .collect())
}

/// ARM's wildcard match: `*` stands for any run of characters; case-insensitive.
pub fn matches(pattern: &str, action: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let a = action.to_ascii_lowercase();
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == a;
    }
    let mut rest = a.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether any permission entry grants `action` (a data action when `data`), honouring
/// notActions / notDataActions of the same entry.
pub fn permits(perms: &[Permission], action: &str, data: bool) -> bool {
    perms.iter().any(|p| {
        let (allow, deny) = if data {
            (&p.data_actions, &p.not_data_actions)
        } else {
            (&p.actions, &p.not_actions)
        };
        allow.iter().any(|a| matches(a, action)) && !deny.iter().any(|n| matches(n, action))
    })
}

pub const PULL_ACTION: &str = "Microsoft.ContainerRegistry/registries/pull/read";
pub const PUSH_ACTION: &str = "Microsoft.ContainerRegistry/registries/push/write";
pub const PULL_DATA_ACTION: &str =
    "Microsoft.ContainerRegistry/registries/repositories/content/read";
pub const PUSH_DATA_ACTION: &str =
    "Microsoft.ContainerRegistry/registries/repositories/content/write";

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(actions: &[&str], not: &[&str], data: &[&str]) -> Permission {
        Permission {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_actions: not.iter().map(|s| s.to_string()).collect(),
            data_actions: data.iter().map(|s| s.to_string()).collect(),
            not_data_actions: vec![],
        }
    }

    #[test]
    fn wildcards_and_not_actions() {
        assert!(matches("*", PULL_ACTION));
        assert!(matches("*/read", PULL_ACTION));
        assert!(matches("microsoft.containerregistry/*", PUSH_ACTION));
        assert!(!matches("*/read", PUSH_ACTION));
        assert!(matches(
            "Microsoft.ContainerRegistry/registries/*/read",
            PULL_ACTION
        ));
        // Contributor: `*` minus Authorization writes still pulls and pushes.
        let contributor = [perm(&["*"], &["Microsoft.Authorization/*/Write"], &[])];
        assert!(permits(&contributor, PUSH_ACTION, false));
        let denied = [perm(
            &["*"],
            &["Microsoft.ContainerRegistry/registries/push/*"],
            &[],
        )];
        assert!(!permits(&denied, PUSH_ACTION, false));
        assert!(permits(&denied, PULL_ACTION, false));
        // ABAC roles grant data actions only.
        let reader = [perm(
            &[],
            &[],
            &[
                PULL_DATA_ACTION,
                "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
            ],
        )];
        assert!(permits(&reader, PULL_DATA_ACTION, true));
        assert!(!permits(&reader, PULL_ACTION, false));
    }

    #[test]
    fn registry_facts_from_the_documented_shape() {
        let v = serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myreg",
            "name": "myreg",
            "sku": {"name": "Premium", "tier": "Premium"},
            "properties": {"loginServer": "myreg.azurecr.io", "roleAssignmentMode": "AbacRepositoryPermissions",
                "adminUserEnabled": false, "publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny"},
                "networkRuleBypassAllowedForTasks": false, "policies": {"azureADAuthenticationAsArmPolicy": {"status": "enabled"}}}
        });
        let f = RegistryFacts::from_json(&v).unwrap();
        assert!(f.abac());
        assert_eq!(f.network_default_action.as_deref(), Some("Deny"));
        assert!(f.describe().contains("ABAC repository permissions"));
        assert!(RegistryFacts::from_json(&serde_json::json!({"id": "x"})).is_none());
    }
}
