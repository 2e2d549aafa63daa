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
