//! P12: a client secret that works today but ends soon. With `client-secret` auth the
//! same credentials get a Microsoft Graph token and read the app's `passwordCredentials`
//! (`crate::azure::graph`); the secret in use is the one whose `hint` (its first three
//! characters) matches. ID_SECRET_EXPIRING when it ends within `--secret-expiry-days`.
//! Most CI identities may not read applications (403 `Authorization_RequestDenied`):
//! that, and every other failure, is one verified line, never a finding.

use super::{Ctx, bounded_token, call_deadline, finding, host_of};
use crate::azure::Cloud;
use crate::azure::entra::{Method, Session};
use crate::azure::graph::{self, Application, GraphError, PasswordCredential};
use crate::findings::{Code, Finding, Severity};
use std::time::{Duration, SystemTime};

/// What the Graph read adds to the identity check's report.
#[derive(Debug, Default)]
pub struct Expiry {
    pub findings: Vec<Finding>,
    pub verified: Vec<String>,
    pub requests: u32,
}

/// Reads the expiry of the client secret in use, when the run signs in with one and
/// `--secret-expiry-days` is not 0. Makes no request otherwise.
pub async fn read(
    ctx: &Ctx,
    http: &reqwest::Client,
    cloud: &Cloud,
    method: Method,
    session: &Session,
) -> Expiry {
    let mut out = Expiry::default();
    let config = &ctx.config;
    let days = config.secret_expiry_days;
    let (Method::ClientSecret, Some(secret), Some(app_id), true) = (
        method,
        config.azure.client_secret.as_deref(),
        config.azure.client_id.as_deref(),
        days > 0,
    ) else {
        return out;
    };
    let not_read = |why: String| format!("client secret expiry not read: {why}");
    let token = match bounded_token(ctx, cloud, method, session, &cloud.graph_scope()).await {
        Ok(t) => t,
        Err(e) => {
            out.verified.push(not_read(format!(
                "no Microsoft Graph token for {app_id} ({})",
                crate::registry::wire::shorten(&e.describe(), 200)
            )));
            return out;
        }
    };
    let url = graph::application_url(cloud, app_id);
    let path = url.strip_prefix(&cloud.graph).unwrap_or(&url).to_string();
    let answer = tokio::time::timeout_at(
        call_deadline(ctx),
        graph::application(http, cloud, &token, app_id, &mut out.requests),
    )
    .await
    .unwrap_or_else(|_| {
        Err(GraphError::Net(format!(
            "{} did not answer before the run's deadline (--timeout {}s)",
            host_of(&cloud.graph),
            config.timeout.as_secs()
        )))
    });
    let app = match answer {
        Ok(app) => app,
        Err(e @ GraphError::Denied { .. }) => {
            out.verified.push(not_read(format!(
                "GET {path} → {}; the Microsoft Graph application permission {} (admin consent) would let {app_id} read its own secrets' end dates",
                e.describe(),
                graph::READ_PERMISSION
            )));
            return out;
        }
        Err(e) => {
            out.verified
                .push(not_read(format!("GET {path} → {}", e.describe())));
            return out;
        }
    };
    judge(&app, app_id, secret, days, SystemTime::now(), &mut out);
    out
}

/// "in 10 days" (whole days rounded, so a secret made for ten days reads as ten), or
/// the finer distance under a day, or how long ago it ended.
fn distance(end: SystemTime, now: SystemTime) -> String {
    match end.duration_since(now).map(|d| d.as_secs()) {
        Ok(secs) if secs >= 86_400 => {
            let days = (secs + 43_200) / 86_400;
            format!("in {days} day{}", if days == 1 { "" } else { "s" })
        }
        _ => crate::jwt::describe_distance(end, now),
    }
}

/// How long the Graph read may go on once the rest of the identity check is done: it
/// adds a warning at most, so it never holds the run up to its deadline.
pub const GRACE: Duration = Duration::from_secs(2);

/// The verified line when Graph did not answer within [`GRACE`].
pub fn late(cloud: &Cloud) -> Expiry {
    Expiry {
        verified: vec![format!(
            "client secret expiry not read: {} did not answer within {}s of the other identity checks",
            host_of(&cloud.graph),
            GRACE.as_secs()
        )],
        ..Expiry::default()
    }
}

/// The credential's name for messages: `displayName` and `keyId`, never the hint.
fn label(p: &PasswordCredential) -> String {
    match &p.display_name {
        Some(name) => format!("`{}` (keyId {})", name.replace('`', "'"), p.key_id),
        None => format!("keyId {}", p.key_id),
    }
}

fn judge(
    app: &Application,
    app_id: &str,
    secret: &str,
    days: u32,
    now: SystemTime,
    out: &mut Expiry,
) {
    let candidates = graph::candidates(app, secret);
    let app_name = format!(
        "`{}` (object id {})",
        app.display_name.replace('`', "'"),
        app.id
    );
    let Some(in_use) = candidates
        .iter()
        .filter(|p| p.end.is_some())
        .min_by_key(|p| p.end)
    else {
        out.verified.push(if candidates.is_empty() {
            format!(
                "client secret expiry not judged: none of the {} client secrets Graph lists for app {app_name} has the first characters of the secret in use",
                app.passwords.len()
            )
        } else {
            format!("client secret {} of app {app_name} has no end date", label(candidates[0]))
        });
        return;
    };
    let Some(end) = in_use.end else { return };
    let when = crate::jwt::format_utc(end);
    let date = when.get(..10).unwrap_or(&when);
    let distance = distance(end, now);
    let shared = if candidates.len() > 1 {
        format!(
            " {} of the app's secrets start with the same three characters (Graph's `hint`), so each may be the one in use; the earliest end is taken.",
            candidates.len()
        )
    } else {
        String::new()
    };
    let window = Duration::from_secs(u64::from(days) * 86_400);
    if end > now + window {
        out.verified.push(format!(
            "client secret {} of app {app_name} expires {when} ({distance}){}",
            label(in_use),
            if candidates.len() > 1 {
                format!(
                    ", the earliest of {} secrets with the same first characters",
                    candidates.len()
                )
            } else {
                String::new()
            }
        ));
        return;
    }
    let reset = format!("az ad app credential reset --id {app_id} --append --years 1");
    let delete = format!(
        "az ad app credential delete --id {app_id} --key-id {}",
        in_use.key_id
    );
    out.findings.push(
        finding(
            Code::ID_SECRET_EXPIRING,
            Severity::Warning,
            format!("the client secret of {app_id} expires on {date} ({distance})"),
            format!(
                "Microsoft Graph lists the client secret in use, {}, of app {app_name} with endDateTime {when}, within the {days} days of --secret-expiry-days. From then on Entra refuses it (AADSTS7000222, ID_SECRET_EXPIRED) and every job that signs in with it fails.{shared}",
                label(in_use)
            ),
            format!(
                "Add a secret before this one ends and store its value (printed once, as `password`) in the repository secret that holds this one:\n{reset}\nthen delete the old one:\n{delete}\nOr move to OIDC (a federated credential has no secret to expire)."
            ),
        )
        .with_commands([reset, delete]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn cred(key: &str, hint: &str, end_days: u64) -> PasswordCredential {
        PasswordCredential {
            key_id: key.into(),
            display_name: Some(format!("name-{key}")),
            hint: Some(hint.into()),
            end: Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + end_days * 86_400)),
        }
    }

    fn run(passwords: Vec<PasswordCredential>, secret: &str) -> Expiry {
        let app = Application {
            id: "obj".into(),
            display_name: "ci".into(),
            passwords,
        };
        let mut out = Expiry::default();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        judge(&app, "app-id", secret, 30, now, &mut out);
        out
    }

    #[test]
    fn only_the_secret_in_use_decides_and_its_hint_is_never_shown() {
        // The other secret ends soon: quiet.
        let quiet = run(
            vec![cred("k1", "abc", 365), cred("k2", "xyz", 3)],
            "abcdef-secret",
        );
        assert!(quiet.findings.is_empty());
        assert!(
            quiet.verified[0].contains("keyId k1"),
            "{:?}",
            quiet.verified
        );
        // The one in use ends soon: a warning naming it, with the delete for its keyId.
        let warn = run(
            vec![cred("k1", "abc", 10), cred("k2", "xyz", 365)],
            "abcdef-secret",
        );
        let f = &warn.findings[0];
        assert_eq!(f.code, Code::ID_SECRET_EXPIRING);
        assert!(f.title.contains("in 10 days"), "{}", f.title);
        assert!(f.message.contains("keyId k1") && !f.message.contains("k2"));
        assert!(f.commands[1].ends_with("--key-id k1"));
        for text in [&f.title, &f.message, &f.fix] {
            assert!(!text.contains("abc"), "{text}");
        }
        // Two share the hint: the earliest end among them.
        let both = run(
            vec![cred("k1", "abc", 300), cred("k3", "abc", 5)],
            "abcdef-secret",
        );
        assert!(both.findings[0].message.contains("keyId k3"));
        // No hint matches: said, not guessed.
        let none = run(vec![cred("k1", "zzz", 5)], "abcdef-secret");
        assert!(none.findings.is_empty());
        assert!(none.verified[0].contains("not judged"));
    }
}
