//! docker/cli's choice of credential source for a registry host (`credHelpers` >
//! `credsStore` > `auths`, the key it looks up, legacy keys), and the credential it
//! would present. Facts from docker/cli `cli/config/configfile` (`GetAuthConfig`,
//! `getConfiguredCredentialStore`) and `cli/config/credentials` (`ConvertToHostname`).

use super::config::{AuthEntry, DockerConfig, Located};
use crate::cloud::ACR_TOKEN_USER;
use crate::secrets::Secrets;
use serde_json::Value;
use std::fmt;

/// The key docker uses for Docker Hub in `auths` and `credHelpers`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The key docker looks up for a registry host (`host[:port]`): Docker Hub's two
/// names map to [`DOCKER_HUB_KEY`]; every other host is used unchanged, port included.
pub fn auth_key(host: &str) -> String {
    use crate::reference::{DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN};
    if host == DEFAULT_DOMAIN || host == LEGACY_DEFAULT_DOMAIN {
        DOCKER_HUB_KEY.to_string()
    } else {
        host.to_string()
    }
}

/// docker/cli `ConvertToHostname`: drops a `scheme://` prefix and any path, keeps the
/// port. `https://myreg.example.com/v1/` → `myreg.example.com`.
pub fn convert_to_hostname(key: &str) -> &str {
    let rest = key.find("://").map_or(key, |i| &key[i + 3..]);
    rest.split('/').next().unwrap_or(rest)
}

/// How a credential is used against the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Basic auth, or the password sent to the token endpoint.
    UsernamePassword,
    /// An OAuth2 refresh token (`identitytoken`, a helper's `<token>` answer, or ACR's
    /// null-GUID user with a JWT secret).
    IdentityToken,
    /// A bearer token sent as is (`registrytoken`).
    RegistryToken,
}

/// A credential for one registry. The secret is private; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    kind: CredentialKind,
    username: String,
    secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credential {
    pub fn new(kind: CredentialKind, username: String, secret: String) -> Credential {
        Credential {
            kind,
            username,
            secret,
        }
    }

    /// A user name and secret as a helper or `auth` gives them: ACR's null-GUID user
    /// with a JWT secret is an ACR refresh token, so it is token-style.
    pub fn from_username_secret(username: String, secret: String) -> Credential {
        let kind = if username == ACR_TOKEN_USER && crate::jwt::claims(&secret).is_some() {
            CredentialKind::IdentityToken
        } else {
            CredentialKind::UsernamePassword
        };
        Credential::new(kind, username, secret)
    }

    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The user name; empty when the source gave none (a helper's `<token>` answer).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password or token. Never put it into a finding or a log line.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// True for ACR refresh tokens: a JWT issued by ACR, or any JWT for the null-GUID user.
    pub fn is_acr_refresh_token(&self) -> bool {
        if self.kind == CredentialKind::RegistryToken {
            return false;
        }
        match crate::jwt::claims(&self.secret) {
            Some(claims) => {
                self.username == ACR_TOKEN_USER
                    || claims.get("iss").and_then(Value::as_str) == Some("Azure Container Registry")
            }
            None => false,
        }
    }

    /// When the secret expires, if it is a JWT with an `exp` claim.
    pub fn expires(&self) -> Option<std::time::SystemTime> {
        crate::jwt::expiry(&self.secret)
    }

    /// "username/password for testuser", "an ACR refresh token for 00000000-…": what
    /// it is, never the secret, its prefix or its length.
    pub fn describe(&self) -> String {
        let user = |u: &str| {
            if u.is_empty() {
                String::new()
            } else {
                format!(" for {u}")
            }
        };
        if self.is_acr_refresh_token() {
            return format!("an ACR refresh token{}", user(&self.username));
        }
        match self.kind {
            CredentialKind::UsernamePassword => {
                format!("username/password{}", user(&self.username))
            }
            CredentialKind::IdentityToken => format!("an identity token{}", user(&self.username)),
            CredentialKind::RegistryToken => "a registry token".to_string(),
        }
    }
}

/// Which config key chose a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HelperVia {
    CredHelpers,
    CredsStore,
}

impl HelperVia {
    pub fn as_str(self) -> &'static str {
        match self {
            HelperVia::CredHelpers => "credHelpers",
            HelperVia::CredsStore => "credsStore",
        }
    }
}

/// Where docker takes the credentials for one host from.
#[derive(Debug, Clone)]
pub enum Resolution<'a> {
    /// A helper program `docker-credential-<name>`, asked with `key`.
    Helper {
        name: String,
        key: String,
        via: HelperVia,
        /// Line of the `credHelpers` entry or of `credsStore`.
        line: Option<u32>,
    },
    /// The file store has an entry.
    File {
        /// The key docker looked up.
        key: String,
        entry: &'a AuthEntry,
        /// Matched through its host name (a legacy key such as `https://host/v1/`).
        legacy_match: bool,
        /// Line of a `credHelpers[key]` entry that is `""`, which forces the file
        /// store over `credsStore`.
        forced_by_empty_helper: Option<u32>,
    },
    /// The file store is used and has no entry: docker goes anonymous.
    None {
        key: String,
        forced_by_empty_helper: Option<u32>,
    },
}

impl DockerConfig {
    /// docker/cli's choice for `host` (`host[:port]`, Hub as `docker.io` or its key).
    pub fn resolve(&self, host: &str) -> Resolution<'_> {
        let key = auth_key(host);
        let mut forced_by_empty_helper = None;
        if let Some(entry) = self.cred_helpers.iter().find(|h| h.key == key) {
            if entry.helper.is_empty() {
                // The line is always found in practice; 0 stands for "unknown".
                forced_by_empty_helper = Some(entry.line.unwrap_or(0));
            } else {
                return Resolution::Helper {
                    name: entry.helper.clone(),
                    key,
                    via: HelperVia::CredHelpers,
                    line: entry.line,
                };
            }
        }
        if forced_by_empty_helper.is_none()
            && let Some(store) = &self.creds_store
            && !store.value.is_empty()
        {
            return Resolution::Helper {
                name: store.value.clone(),
                key,
                via: HelperVia::CredsStore,
                line: store.line,
            };
        }
        if let Some(entry) = self.auths.iter().find(|a| a.key == key) {
            return Resolution::File {
                key,
                entry,
                legacy_match: false,
                forced_by_empty_helper,
            };
        }
        // `auths` is kept in file order, so of several legacy keys the first one wins
        // (docker's pick among them is random: Go map order).
        if let Some(entry) = self
            .auths
            .iter()
            .find(|a| convert_to_hostname(&a.key) == key)
        {
            return Resolution::File {
                key,
                entry,
                legacy_match: true,
                forced_by_empty_helper,
            };
        }
        Resolution::None {
            key,
            forced_by_empty_helper,
        }
    }

    /// Registers the secrets of the `auths` entry docker would use for `host` (a no-op
    /// for hosts served by a helper or by no entry).
    pub fn register_secrets_for(&self, host: &str, secrets: &Secrets) {
        if let Resolution::File { entry, .. } = self.resolve(host) {
            entry.register_secrets(secrets);
        }
    }

    /// The `credsStore` helper name, when one is set (non-empty).
    pub fn creds_store_name(&self) -> Option<&Located<String>> {
        self.creds_store.as_ref().filter(|s| !s.value.is_empty())
    }
}
