//! Every per-cloud fact about Azure, and the one answer to "is this host an ACR registry,
//! and which one". Nothing else in the crate names an Azure host, suffix or audience.
//!
//! Sources: azure-cli's cloud definitions (`azure-cli-core/azure/cli/core/cloud.py`:
//! endpoints and ACR login-server suffixes), Microsoft Graph's national cloud deployments
//! (https://learn.microsoft.com/graph/deployments: Graph service root per cloud), the Azure SDK for Rust's authority hosts,
//! GitHub's "Configuring OpenID Connect in Azure" (federated-credential audiences per
//! cloud), and Microsoft Learn's "Azure Container Registry authentication" and
//! "endpoint reference" (token scope, the `00000000-…` token user, regional and data
//! endpoints, domain-name-label login servers).

/// An Azure cloud, as `azure/login`'s `environment` input names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum AzureEnvironment {
    #[value(name = "AzureCloud")]
    AzureCloud,
    #[value(name = "AzureChinaCloud")]
    AzureChinaCloud,
    #[value(name = "AzureUSGovernment")]
    AzureUsGovernment,
}

/// The facts of one cloud. Hosts and URLs carry no trailing slash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudFacts {
    /// The name `azure/login` and `az cloud` use.
    pub name: &'static str,
    /// Entra ID's authority host.
    pub authority_host: &'static str,
    /// Azure Resource Manager.
    pub arm_endpoint: &'static str,
    /// Microsoft Graph's service root (its token scope is `<root>/.default`).
    pub graph_endpoint: &'static str,
    /// What ACR login servers end with (`<name>` + suffix).
    pub acr_suffix: &'static str,
    /// The audience GitHub's OIDC token carries for this cloud's federated credentials
    /// (the `audiences` of `az ad app federated-credential create`).
    pub oidc_audience: &'static str,
    /// The Entra scope of a token ACR exchanges for a refresh token: accepted whether or
    /// not the registry allows ARM-audience tokens. The same resource on every cloud.
    pub acr_scope: &'static str,
}

/// The user name that tells ACR (and docker) "the password is an ACR refresh token":
/// what `az acr login` writes and `/oauth2/token` expects. The same on every cloud.
pub const ACR_TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";

impl AzureEnvironment {
    /// Every cloud, for lookups by host and for tests that walk them all.
    pub const ALL: [AzureEnvironment; 3] = [
        AzureEnvironment::AzureCloud,
        AzureEnvironment::AzureChinaCloud,
        AzureEnvironment::AzureUsGovernment,
    ];

    pub fn facts(self) -> &'static CloudFacts {
        const PUBLIC: CloudFacts = CloudFacts {
            name: "AzureCloud",
            authority_host: "https://login.microsoftonline.com",
            arm_endpoint: "https://management.azure.com",
            graph_endpoint: "https://graph.microsoft.com",
            acr_suffix: ".azurecr.io",
            oidc_audience: "api://AzureADTokenExchange",
            acr_scope: ACR_SCOPE,
        };
        const CHINA: CloudFacts = CloudFacts {
            name: "AzureChinaCloud",
            authority_host: "https://login.chinacloudapi.cn",
            arm_endpoint: "https://management.chinacloudapi.cn",
            graph_endpoint: "https://microsoftgraph.chinacloudapi.cn",
            acr_suffix: ".azurecr.cn",
            oidc_audience: "api://AzureADTokenExchangeChina",
            acr_scope: ACR_SCOPE,
        };
        const US_GOVERNMENT: CloudFacts = CloudFacts {
            name: "AzureUSGovernment",
            authority_host: "https://login.microsoftonline.us",
            arm_endpoint: "https://management.usgovcloudapi.net",
            graph_endpoint: "https://graph.microsoft.us",
            acr_suffix: ".azurecr.us",
            oidc_audience: "api://AzureADTokenExchangeUSGov",
            acr_scope: ACR_SCOPE,
        };
        match self {
            AzureEnvironment::AzureCloud => &PUBLIC,
            AzureEnvironment::AzureChinaCloud => &CHINA,
            AzureEnvironment::AzureUsGovernment => &US_GOVERNMENT,
        }
    }

    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// The login server a registry created under `name` without a domain-name-label
    /// scope has in this cloud (with one, ARM's `loginServer` carries a hash).
    pub fn login_server_for(self, name: &str) -> String {
        format!("{name}{}", self.facts().acr_suffix)
    }
}

/// Which endpoint of a registry a host under an ACR suffix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrEndpoint<'a> {
    /// `<label>.azurecr.io`: the login server (the label is the name, or
    /// `<name>-<hash>` for a domain-name-label scope).
    LoginServer,
    /// `<name>.<region>.geo.azurecr.io`.
    Regional { region: &'a str },
    /// `<name>.<region>.data.azurecr.io`: where blobs come from, not a login server.
    Data { region: &'a str },
    /// Any other name under the suffix: ACR answers for it, but no registry is named.
    Unknown,
}

/// An ACR host, read apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcrHost<'a> {
    pub cloud: AzureEnvironment,
    /// The first DNS label, as written (callers lower-case hosts before asking).
    pub label: &'a str,
    pub endpoint: AcrEndpoint<'a>,
}

impl<'a> AcrHost<'a> {
    /// What `az acr … -n` accepts for this registry: the label of a login server, or the
    /// registry name of a regional or data endpoint. `None` for names that name none.
    ///
    /// A domain-name-label login server's label is `<name>-<hash>`, which is not the
    /// resource name; the Azure CLI resolves it as a login server, so it is kept whole
    /// rather than guessed at (ARM's `loginServer` is the authority).
    pub fn registry(&self) -> Option<&'a str> {
        match self.endpoint {
            AcrEndpoint::Unknown => None,
            _ => Some(self.label),
        }
    }
}

/// The ACR reading of `host` (`host[:port]` as a registry reference writes it), or `None`
/// when it is not under any cloud's ACR suffix. ACR serves on 443 only, so a host with a
/// port is not an ACR registry. Suffixes match case-insensitively.
pub fn acr_host(host: &str) -> Option<AcrHost<'_>> {
    if host.contains(':') {
        return None;
    }
    AzureEnvironment::ALL.into_iter().find_map(|cloud| {
        let suffix = cloud.facts().acr_suffix;
        let split = host.len().checked_sub(suffix.len())?;
        let (rest, tail) = (host.get(..split)?, host.get(split..)?);
        if !tail.eq_ignore_ascii_case(suffix) || rest.is_empty() {
            return None;
        }
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            return None;
        }
        let endpoint = match labels.as_slice() {
            [_] => AcrEndpoint::LoginServer,
            [_, region, kind] if kind.eq_ignore_ascii_case("geo") => {
                AcrEndpoint::Regional { region }
            }
            [_, region, kind] if kind.eq_ignore_ascii_case("data") => AcrEndpoint::Data { region },
            _ => AcrEndpoint::Unknown,
        };
        Some(AcrHost {
            cloud,
            label: labels[0],
            endpoint,
        })
    })
}

/// True when `host` is answered by ACR (any endpoint of any cloud).
pub fn is_acr(host: &str) -> bool {
    acr_host(host).is_some()
}

/// The registry name `az acr … -n` takes for `host`, when it names one.
pub fn acr_registry(host: &str) -> Option<&str> {
    acr_host(host).and_then(|h| h.registry())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cloud_states_every_fact_in_a_usable_form() {
        let mut seen = std::collections::HashSet::new();
        for cloud in AzureEnvironment::ALL {
            let f = cloud.facts();
            for url in [f.authority_host, f.arm_endpoint, f.graph_endpoint] {
                assert!(url.starts_with("https://"), "{}: {url}", f.name);
                assert!(!url.ends_with('/'), "{}: {url}", f.name);
            }
            assert!(f.acr_suffix.starts_with(".azurecr."), "{}", f.name);
            assert!(f.oidc_audience.starts_with("api://AzureADTokenExchange"));
            assert!(f.acr_scope.ends_with("/.default"));
            // Per-cloud values differ between clouds; the ACR scope is shared.
            for distinct in [
                f.name,
                f.authority_host,
                f.arm_endpoint,
                f.graph_endpoint,
                f.acr_suffix,
                f.oidc_audience,
            ] {
                assert!(seen.insert(distinct), "{distinct} stated for two clouds");
            }
            // The name is the one clap accepts for --azure-environment.
            let parsed = <AzureEnvironment as clap::ValueEnum>::from_str(f.name, false);
            assert_eq!(parsed, Ok(cloud));
            // A login server built for the cloud reads back as that cloud's registry.
            let server = cloud.login_server_for("myreg01");
            let read = acr_host(&server).expect("login server");
            assert_eq!(read.cloud, cloud);
            assert_eq!(read.registry(), Some("myreg01"));
            assert_eq!(read.endpoint, AcrEndpoint::LoginServer);
        }
    }

    #[test]
    fn acr_hosts_are_read_apart_one_way() {
        fn read(h: &str) -> Option<(&str, AcrEndpoint<'_>, Option<&str>)> {
            acr_host(h).map(|a| (a.label, a.endpoint, a.registry()))
        }
        assert_eq!(
            read("myreg.azurecr.io"),
            Some(("myreg", AcrEndpoint::LoginServer, Some("myreg")))
        );
        assert_eq!(
            read("myreg-h4sh3d.azurecr.io"),
            Some((
                "myreg-h4sh3d",
                AcrEndpoint::LoginServer,
                Some("myreg-h4sh3d")
            ))
        );
        assert_eq!(
            read("myreg.eastus.geo.azurecr.io"),
            Some((
                "myreg",
                AcrEndpoint::Regional { region: "eastus" },
                Some("myreg")
            ))
        );
        assert_eq!(
            read("myreg.westeurope.data.azurecr.cn").map(|r| r.2),
            Some(Some("myreg"))
        );
        // `a.b.azurecr.io` is ACR's domain but names no registry: no guessed name.
        assert_eq!(
            read("a.b.azurecr.io"),
            Some(("a", AcrEndpoint::Unknown, None))
        );
        assert!(is_acr("a.b.azurecr.io"));
        assert_eq!(acr_host("MyReg.AzureCR.IO").map(|a| a.label), Some("MyReg"));
        for not_acr in [
            "azurecr.io",
            ".azurecr.io",
            "a..azurecr.io",
            "myreg.azurecr.io:443",
            "myreg.azurecr.io.evil.example",
            "myregazurecr.io",
            "ghcr.io",
            "é.azurecr.i",
            "",
        ] {
            assert_eq!(acr_host(not_acr), None, "{not_acr}");
        }
    }
}
