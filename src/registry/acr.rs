//! ACR's own token endpoint. `POST /oauth2/exchange` trades an Entra access token for an
//! ACR refresh token: what `az acr login` stores in the docker config and ACR Tasks
//! presents. The other ACR endpoint, `/oauth2/token`, is the realm of the registry's
//! Bearer challenge; [`Client::token`] reaches it with the OAuth2 refresh-token grant,
//! as for any registry that speaks distribution's token protocol.
//!
//! Source: the ACR "OAuth2 token flow" (Azure/acr `docs/AAD-OAuth.md`): form fields
//! `grant_type=access_token`, `service`, `tenant`, `access_token`; answer
//! `{"refresh_token": "…"}`.

use super::client::form_encode;
use super::{Client, Endpoint, TokenError};
use reqwest::Url;

impl Client {
    /// `POST https://<host>/oauth2/exchange`: an ACR refresh token for `entra_token`.
    /// The refresh token is registered as a secret before it is returned.
    pub async fn acr_exchange(
        &self,
        host: &str,
        entra_token: &str,
        tenant: Option<&str>,
    ) -> Result<String, TokenError> {
        let url = Url::parse(&format!("https://{host}/oauth2/exchange"))
            .map_err(|e| TokenError::BadRealm(format!("`{host}` gives no exchange URL: {e}")))?;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "access_token".into()),
            ("service", host.to_string()),
        ];
        if let Some(t) = tenant {
            form.push(("tenant", t.to_string()));
        }
        form.push(("access_token", entra_token.to_string()));
        // Not retried on a throttle: a second exchange is a second sign-in to explain.
        let reply = self
            .post_form(Endpoint::Exchange, &url, form_encode(&form), false)
            .await
            .map_err(TokenError::Net)?;
        let refresh = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| v.get("refresh_token")?.as_str().map(str::to_string))
            .filter(|t| !t.is_empty());
        match (reply.status, refresh) {
            (200, Some(refresh)) => {
                self.secrets.register(&refresh);
                Ok(refresh)
            }
            (400..=499, _) => Err(TokenError::Refused(reply)),
            _ => Err(TokenError::Unexpected(reply)),
        }
    }
}

/// The locks ACR keeps in an object's `changeableAttributes` (set with
/// `az acr repository update --write-enabled false` / `--read-enabled false`). A field
/// ACR leaves out counts as enabled, its default.
///
/// Source: the ACR data-plane API (azure-rest-api-specs
/// `specification/containerregistry/data-plane/Microsoft.ContainerRegistry`, operations
/// `ContainerRegistry_GetProperties` and `ContainerRegistry_GetTagProperties`; Learn
/// https://learn.microsoft.com/rest/api/containerregistry/repository/get-properties and
/// https://learn.microsoft.com/rest/api/containerregistry/tag/get-properties):
/// `GET /acr/v1/{name}` answers `{"registry", "imageName", …, "changeableAttributes":
/// {"deleteEnabled", "writeEnabled", "readEnabled", "listEnabled"}}`, and
/// `GET /acr/v1/{name}/_tags/{reference}` answers `{"registry", "imageName", "tag":
/// {"name", "digest", …, "changeableAttributes": {…}}}`. Both need a token with
/// `repository:{name}:metadata_read` (azure-cli `acr/_docker_utils.py`,
/// `RepoAccessTokenPermission.METADATA_READ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Locks {
    /// `writeEnabled: false`: no push may change it.
    pub write_disabled: bool,
    /// `readEnabled: false`: no pull may read it.
    pub read_disabled: bool,
}

impl Locks {
    fn of(attributes: &serde_json::Value) -> Option<Locks> {
        let attributes = attributes.as_object()?;
        let off = |k: &str| attributes.get(k).and_then(serde_json::Value::as_bool) == Some(false);
        Some(Locks {
            write_disabled: off("writeEnabled"),
            read_disabled: off("readEnabled"),
        })
    }
}

/// What ACR's metadata API said about a repository or a tag.
#[derive(Debug)]
pub enum Attributes {
    /// 200 with `changeableAttributes`; a tag's answer also names its digest.
    Found {
        locks: Locks,
        digest: Option<String>,
    },
    /// 404: no such repository or tag (yet).
    Missing,
    /// Any other answer, or a 200 without `changeableAttributes`.
    Other(Box<super::Reply>),
}

impl Client {
    /// `GET /acr/v1/<repository>`: the repository's attributes.
    pub async fn acr_repository(
        &self,
        host: &str,
        repository: &str,
        auth: &super::Auth,
    ) -> Result<Attributes, super::NetError> {
        self.acr_metadata(
            host,
            &format!("acr/v1/{repository}"),
            "/changeableAttributes",
            None,
            auth,
        )
        .await
    }

    /// `GET /acr/v1/<repository>/_tags/<tag>`: the tag's attributes and digest.
    pub async fn acr_tag(
        &self,
        host: &str,
        repository: &str,
        tag: &str,
        auth: &super::Auth,
    ) -> Result<Attributes, super::NetError> {
        let path = format!("acr/v1/{repository}/_tags/{tag}");
        self.acr_metadata(
            host,
            &path,
            "/tag/changeableAttributes",
            Some("/tag/digest"),
            auth,
        )
        .await
    }

    async fn acr_metadata(
        &self,
        host: &str,
        path: &str,
        locks_at: &str,
        digest_at: Option<&str>,
        auth: &super::Auth,
    ) -> Result<Attributes, super::NetError> {
        let url = self.api_url(host, path)?;
        let reply = self
            .get_authorised(Endpoint::AcrMetadata, &url, auth)
            .await?;
        Ok(attributes(reply, locks_at, digest_at))
    }
}

fn attributes(reply: super::Reply, locks_at: &str, digest_at: Option<&str>) -> Attributes {
    if reply.status == 404 {
        return Attributes::Missing;
    }
    let body = (reply.status == 200)
        .then(|| serde_json::from_slice::<serde_json::Value>(&reply.body).ok())
        .flatten();
    let Some(locks) = body
        .as_ref()
        .and_then(|b| b.pointer(locks_at))
        .and_then(Locks::of)
    else {
        return Attributes::Other(Box::new(reply));
    };
    let digest = digest_at
        .and_then(|at| body.as_ref()?.pointer(at)?.as_str())
        .filter(|d| d.starts_with("sha256:") && d.len() <= 200)
        .map(str::to_string);
    Attributes::Found { locks, digest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_false_locks() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"writeEnabled": false, "readEnabled": "false", "deleteEnabled": true}"#,
        )
        .unwrap();
        assert_eq!(
            Locks::of(&v),
            Some(Locks {
                write_disabled: true,
                read_disabled: false
            })
        );
        assert_eq!(Locks::of(&serde_json::json!({})), Some(Locks::default()));
        assert_eq!(Locks::of(&serde_json::json!([false])), None);
    }
}
