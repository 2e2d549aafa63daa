//! The Azure CLI's own files, read to explain its session (never to sign in): the
//! config folder is `$AZURE_CONFIG_DIR`, else `~/.azure`
//! (https://github.com/Azure/azure-cli/blob/dev/src/azure-cli-core/azure/cli/core/_environment.py).
//!
//! - `azureProfile.json`: `{"subscriptions": [{"id", "tenantId", "isDefault",
//!   "user": {"name", "type"}}]}`, written UTF-8 with a byte-order mark; `user.type`
//!   is `user` or `servicePrincipal`, `user.name` a service principal's client id.
//! - `service_principal_entries.json` (`.bin` when encrypted, on Windows): a list of
//!   `{"client_id", "tenant"}` entries with one of `client_secret`, `certificate` (a
//!   path) or `client_assertion` (the federated token `az login --federated-token`
//!   was given) (https://github.com/Azure/azure-cli/blob/dev/src/azure-cli-core/azure/cli/core/auth/identity.py,
//!   `ServicePrincipalAuth` and `persistence.py`).
//! - `msal_token_cache.json` (`.bin` when encrypted, on Windows): MSAL's token cache,
//!   `{"AccessToken": {<key>: {"client_id", "expires_on", "secret", …}}}` with
//!   `expires_on` in epoch seconds as a string
//!   (https://github.com/AzureAD/microsoft-authentication-library-for-python/blob/dev/msal/token_cache.py);
//!   only the expiries are kept, and every token in it is registered as a secret.

use crate::secrets::Secrets;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Both files are a few KiB; a profile with hundreds of subscriptions stays far below.
const PROFILE_CAP: u64 = 4 * 1024 * 1024;

/// How the signed-in service principal proves itself to Entra.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpCredential {
    Secret,
    Certificate,
    /// A federated token (GitHub's OIDC ID token with azure/login), with its `exp`
    /// when it is a JWT that has one.
    Assertion {
        expires: Option<SystemTime>,
    },
}

/// The default account of the Azure CLI's profile, when it is a service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliSession {
    /// The folder read, for messages.
    pub dir: PathBuf,
    pub client_id: String,
    pub tenant: Option<String>,
    /// `None` when no entry for the client id was found.
    pub credential: Option<SpCredential>,
}

/// The Azure CLI's config folder: `AZURE_CONFIG_DIR`, else `$HOME/.azure`.
pub fn config_dir(azure_config_dir: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    match azure_config_dir.filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => Some(d.to_path_buf()),
        None => home.map(|h| h.join(".azure")),
    }
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    let bytes = crate::fsread::read_capped(path, PROFILE_CAP).ok()?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).ok()
}

fn text<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(|x| x.as_str())
        .filter(|s| !s.is_empty())
}

/// The profile's active subscription (`isDefault: true`): the one `az` commands use
/// without `--subscription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    pub id: String,
    pub name: Option<String>,
}

impl ActiveSubscription {
    /// `name (id)`, or the id alone, as az names a subscription in its messages.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// The active subscription of the profile in `dir`, whoever is signed in.
pub fn active_subscription(dir: &Path) -> Option<ActiveSubscription> {
    let profile = read_json(&dir.join("azureProfile.json"))?;
    let active = profile
        .get("subscriptions")?
        .as_array()?
        .iter()
        .find(|s| s.get("isDefault").and_then(|d| d.as_bool()) == Some(true))?;
    Some(ActiveSubscription {
        id: text(active, "id")?.to_string(),
        name: text(active, "name").map(str::to_string),
    })
}

/// The service principal session of the profile in `dir`, if its default account is
/// one; every secret it holds is registered with `secrets` as it is read.
pub fn read(dir: &Path, secrets: &Secrets) -> Option<CliSession> {
    let profile = read_json(&dir.join("azureProfile.json"))?;
    let subs = profile.get("subscriptions")?.as_array()?;
    let default = subs
        .iter()
        .find(|s| s.get("isDefault").and_then(|d| d.as_bool()) == Some(true))
        .or_else(|| subs.first())?;
    let user = default.get("user")?;
    if text(user, "type") != Some("servicePrincipal") {
        return None;
    }
    let client_id = text(user, "name")?.to_string();
    let tenant = text(default, "tenantId").map(str::to_string);
    let entries = read_json(&dir.join("service_principal_entries.json"));
    let entry = entries
        .as_ref()
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter(|e| text(e, "client_id") == Some(client_id.as_str()))
        .find(|e| tenant.is_none() || text(e, "tenant") == tenant.as_deref());
    let credential = entry.map(|e| {
        if let Some(assertion) = text(e, "client_assertion") {
            secrets.register(assertion);
            SpCredential::Assertion {
                expires: crate::jwt::expiry(assertion),
            }
        } else if let Some(secret) = text(e, "client_secret") {
            secrets.register(secret);
            SpCredential::Secret
        } else {
            SpCredential::Certificate
        }
    });
    Some(CliSession {
        dir: dir.to_path_buf(),
        client_id,
        tenant,
        credential,
    })
}

/// The latest expiry of the access tokens the Azure CLI has cached for `client_id`:
/// until then a session that cannot sign in again still serves az calls. `None` when
/// the cache is absent (encrypted, or nothing cached), unreadable, or holds none.
pub fn cached_token_expiry(dir: &Path, client_id: &str, secrets: &Secrets) -> Option<SystemTime> {
    let cache = read_json(&dir.join("msal_token_cache.json"))?;
    let tokens = cache.get("AccessToken")?.as_object()?;
    let mut latest: Option<SystemTime> = None;
    for token in tokens.values() {
        if let Some(secret) = text(token, "secret") {
            secrets.register(secret);
        }
        if text(token, "client_id") != Some(client_id) {
            continue;
        }
        let expires = match token.get("expires_on") {
            Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        let Some(at) = expires
            .and_then(|e| SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(e)))
        else {
            continue;
        };
        latest = Some(latest.map_or(at, |l| l.max(at)));
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_federated_session_with_a_bom_and_registers_the_assertion() {
        let dir = tempfile::tempdir().unwrap();
        let assertion = crate::jwt::unsigned_for_tests(&serde_json::json!({"exp": 1_800_000_000}));
        let profile = r#"{"subscriptions":[{"id":"s","tenantId":"t","isDefault":true,"user":{"name":"c","type":"servicePrincipal"}}]}"#;
        std::fs::write(
            dir.path().join("azureProfile.json"),
            [&b"\xEF\xBB\xBF"[..], profile.as_bytes()].concat(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("service_principal_entries.json"),
            format!(r#"[{{"client_id":"other","tenant":"t","client_secret":"x"}},{{"client_id":"c","tenant":"t","client_assertion":"{assertion}"}}]"#),
        )
        .unwrap();
        let secrets = Secrets::default();
        let s = read(dir.path(), &secrets).expect("session");
        assert_eq!(s.client_id, "c");
        assert_eq!(
            s.credential,
            Some(SpCredential::Assertion {
                expires: crate::jwt::parse_utc("2027-01-15T08:00:00Z")
            })
        );
        assert!(!secrets.redact(&assertion).contains(&assertion));
    }

    #[test]
    fn the_latest_cached_token_of_the_client_counts_and_its_secret_is_registered() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::default();
        assert_eq!(cached_token_expiry(dir.path(), "c", &secrets), None);
        std::fs::write(
            dir.path().join("msal_token_cache.json"),
            r#"{"AccessToken":{
                "a":{"client_id":"c","expires_on":"1800000000","secret":"tok-a-secret"},
                "b":{"client_id":"c","expires_on":"1800003600","secret":"tok-b-secret"},
                "x":{"client_id":"other","expires_on":"1900000000","secret":"tok-x"},
                "y":{"client_id":"c","expires_on":"soon"},
                "z":[1]}}"#,
        )
        .unwrap();
        assert_eq!(
            cached_token_expiry(dir.path(), "c", &secrets),
            crate::jwt::parse_utc("2027-01-15T09:00:00Z")
        );
        assert!(!secrets.redact("tok-b-secret").contains("tok-b-secret"));
        std::fs::write(
            dir.path().join("msal_token_cache.json"),
            "{\"AccessToken\":",
        )
        .unwrap();
        assert_eq!(cached_token_expiry(dir.path(), "c", &secrets), None);
    }

    #[test]
    fn a_user_account_or_garbage_is_no_session() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("azureProfile.json"),
            r#"{"subscriptions":[{"id":"s","isDefault":true,"user":{"name":"a@b","type":"user"}}]}"#,
        )
        .unwrap();
        assert_eq!(read(dir.path(), &Secrets::default()), None);
        assert_eq!(
            active_subscription(dir.path()).map(|a| a.describe()),
            Some("s".to_string())
        );
        std::fs::write(dir.path().join("azureProfile.json"), "[1,").unwrap();
        assert_eq!(active_subscription(dir.path()), None);
        assert_eq!(read(dir.path(), &Secrets::default()), None);
        assert_eq!(
            config_dir(None, Some(Path::new("/home/r"))),
            Some(PathBuf::from("/home/r/.azure"))
        );
    }
}
