//! Azure: who the runner is in Entra ID (azure_identity on our reqwest client), what ARM
//! says about the registry and the identity's permissions, and the ACR token exchange.
//! Facts and shapes: Microsoft Learn, "Azure Container Registry authentication" and the
//! ACR OAuth2 token flow (`/oauth2/exchange`, `/oauth2/token`), Entra ID's client
//! credentials flow, and the `Microsoft.ContainerRegistry` ARM REST API.

pub mod arm;
pub mod cli_install;
pub mod cli_profile;
pub mod entra;
pub mod graph;

use crate::config::{AzureEnvironment, Config};

/// The run's cloud: its facts (`crate::cloud`) with `--authority-host` / `--arm-endpoint`
/// applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// `https://login.microsoftonline.com`
    pub authority_host: String,
    /// `https://management.azure.com`
    pub arm: String,
    /// `https://graph.microsoft.com`
    pub graph: String,
    /// The audience GitHub's OIDC token must carry for this cloud's federated credentials.
    pub fic_audience: &'static str,
    /// The Entra scope of the token ACR exchanges.
    pub acr_scope: &'static str,
    pub name: &'static str,
}

impl Cloud {
    pub fn of(config: &Config) -> Cloud {
        let env = config
            .azure
            .environment
            .unwrap_or(AzureEnvironment::AzureCloud);
        let facts = env.facts();
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        Cloud {
            authority_host: config
                .azure
                .authority_host
                .as_deref()
                .map(trim)
                .unwrap_or_else(|| facts.authority_host.to_string()),
            arm: config
                .azure
                .arm_endpoint
                .as_deref()
                .map(trim)
                .unwrap_or_else(|| facts.arm_endpoint.to_string()),
            graph: facts.graph_endpoint.to_string(),
            fic_audience: facts.oidc_audience,
            acr_scope: facts.acr_scope,
            name: facts.name,
        }
    }

    /// `https://management.azure.com/.default`
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", self.arm)
    }

    /// `https://graph.microsoft.com/.default`
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", self.graph)
    }
}

/// The principal a token stands for, from its claims (never verified: we only explain).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: Option<String>,
    /// `oid`: what role assignments name.
    pub object_id: Option<String>,
    /// `appid` (v1) or `azp` (v2).
    pub client_id: Option<String>,
    /// `app`, `managed identity`, `user`.
    pub kind: String,
    /// Expiry, UTC.
    pub expires: Option<String>,
}

impl Principal {
    pub fn from_token(token: &str) -> Principal {
        let Some(claims) = crate::jwt::claims(token) else {
            return Principal::default();
        };
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let idtyp = text("idtyp");
        let is_mi = text("xms_mirid").is_some()
            || text("iss").is_some_and(|i| i.contains("managedidentity"));
        let kind = match (idtyp.as_deref(), is_mi) {
            (_, true) => "managed identity",
            (Some("user"), _) => "user",
            _ if text("upn").is_some() || text("scp").is_some() => "user",
            _ => "app",
        };
        Principal {
            tenant_id: text("tid"),
            object_id: text("oid"),
            client_id: text("appid").or_else(|| text("azp")),
            kind: kind.to_string(),
            expires: crate::jwt::expiry(token).map(crate::jwt::format_utc),
        }
    }

    /// "app 1111… (object id 2222…, tenant 3333…)"
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.object_id {
            parts.push(format!("object id {o}"));
        }
        if let Some(t) = &self.tenant_id {
            parts.push(format!("tenant {t}"));
        }
        let id = self.client_id.as_deref().unwrap_or("(unknown client id)");
        if parts.is_empty() {
            format!("{} {id}", self.kind)
        } else {
            format!("{} {id} ({})", self.kind, parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_come_from_v1_and_v2_claims() {
        let t = crate::jwt::unsigned_for_tests(&serde_json::json!({
            "tid": "t-1", "oid": "o-1", "appid": "c-1", "idtyp": "app", "exp": 1_800_000_000
        }));
        let p = Principal::from_token(&t);
        assert_eq!(p.describe(), "app c-1 (object id o-1, tenant t-1)");
        assert_eq!(p.expires.as_deref(), Some("2027-01-15T08:00:00Z"));
        let t = crate::jwt::unsigned_for_tests(
            &serde_json::json!({"azp": "c-2", "xms_mirid": "/subscriptions/x"}),
        );
        assert_eq!(Principal::from_token(&t).kind, "managed identity");
        assert_eq!(Principal::from_token("opaque"), Principal::default());
    }

    /// Every cloud × every fact, through the paths that use them: the command line,
    /// `Cloud::of`, and the expansion of a bare registry name.
    #[test]
    fn every_cloud_reaches_every_consumer_with_its_own_facts() {
        use crate::cli::{Invocation, parse};
        for env in AzureEnvironment::ALL {
            let facts = env.facts();
            let args = [
                "acr-preflight",
                "--registry",
                "myreg01",
                "--azure-environment",
                facts.name,
            ];
            let config = match parse(args.map(Into::into).to_vec(), &Default::default()) {
                Ok(Invocation::Check(c)) => *c,
                other => panic!("{}: {other:?}", facts.name),
            };
            assert_eq!(config.azure.environment, Some(env));
            assert_eq!(config.azure.audience, facts.oidc_audience);
            let registry = config.registry.as_ref().expect("registry");
            assert_eq!(registry.host, format!("myreg01{}", facts.acr_suffix));
            assert_eq!(registry.acr_name.as_deref(), Some("myreg01"));
            let cloud = Cloud::of(&config);
            assert_eq!(cloud.name, facts.name);
            assert_eq!(cloud.authority_host, facts.authority_host);
            assert_eq!(cloud.arm, facts.arm_endpoint);
            assert_eq!(
                cloud.arm_scope(),
                format!("{}/.default", facts.arm_endpoint)
            );
            assert_eq!(cloud.fic_audience, facts.oidc_audience);
            assert_eq!(cloud.acr_scope, facts.acr_scope);
        }
    }

    #[test]
    fn clouds_and_overrides() {
        let mut c = Config::for_tests("/x".into());
        assert_eq!(
            Cloud::of(&c).arm_scope(),
            "https://management.azure.com/.default"
        );
        c.azure.environment = Some(AzureEnvironment::AzureChinaCloud);
        c.azure.authority_host = Some("https://login.example/".into());
        let cloud = Cloud::of(&c);
        assert_eq!(cloud.authority_host, "https://login.example");
        assert_eq!(cloud.fic_audience, "api://AzureADTokenExchangeChina");
    }
}
