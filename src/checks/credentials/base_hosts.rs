//! The credential helper docker runs for a registry this run does not check, such as
//! the host of a `FROM` image (P38): the same program lookup, the same `get` under the
//! same timeout as [`super::check_hosts`], and the same HELPER_* words. A helper that
//! the credentials check already ran for the same docker key is not run again: its
//! [`HostCredential`] is the answer.

use super::messages::{could_be_on_the_runner, format_duration, helper_failed, helper_not_found};
use super::{CredentialSource, HelperAt, HelperUse, HostCredential, helper_timeout};
use crate::checks::Ctx;
use crate::docker::config::DockerConfig;
use crate::docker::credential::{Credential, HelperVia, Resolution};
use crate::docker::helper::{self as cred_helper, HelperAnswer, HelperError};
use crate::findings::{Code, Finding};

/// What docker's helper gives for one host.
#[derive(Debug)]
pub enum HelperOutcome {
    /// A credential: the build presents it.
    Found(Credential),
    /// The helper has nothing for the host: docker goes anonymous, as for a host
    /// without a login. The words are for messages ("answered `credentials not
    /// found…`").
    NoCredentials(String),
    /// The helper is missing or failed, or gave a token that has expired: docker's pull
    /// fails. The finding: HELPER_NOT_FOUND or HELPER_FAILED located at the docker
    /// config, or CRED_EXPIRED not yet located.
    Failed(Box<Finding>),
    /// Not run, or failed in a way already reported: why, for a verified line.
    NotRun(String),
}

/// The helper chosen for a host and its outcome.
#[derive(Debug)]
pub struct BaseHostHelper {
    pub name: String,
    pub via: HelperVia,
    pub outcome: HelperOutcome,
    /// CRED_EXPIRED (a warning) for a token it gave that is still valid but ends soon,
    /// not yet located: the caller places it at the `FROM` line. An expired one is the
    /// outcome itself ([`HelperOutcome::Failed`]).
    pub expiring: Option<Box<Finding>>,
}

impl BaseHostHelper {
    /// `` helper `pass` (credHelpers) ``.
    pub fn describe(&self) -> String {
        CredentialSource::Helper {
            name: self.name.clone(),
            via: self.via,
        }
        .describe()
    }
}

/// The helper docker runs for `host` under `config`, and what it answered; `None` when
/// docker uses the file store for it. `known` are the credentials check's results: a
/// helper it already ran for the same key is not run again.
pub async fn helper_for_host(
    ctx: &Ctx,
    config: &DockerConfig,
    host: &str,
    known: &[HostCredential],
) -> Option<BaseHostHelper> {
    let Resolution::Helper {
        name,
        key,
        via,
        line,
    } = config.resolve(host)
    else {
        return None;
    };
    let done = known.iter().find(|c| {
        c.key == key && matches!(&c.source, CredentialSource::Helper { name: n, .. } if *n == name)
    });
    let reused_answer = done.is_some();
    let outcome = match done {
        Some(done) => reused(done),
        None => {
            let hosts = [host.to_string()];
            let at = HelperAt {
                config,
                name: &name,
                via,
                line,
                key: &key,
                hosts: &hosts,
            };
            run_once(ctx, &at).await
        }
    };
    let mut helper = BaseHostHelper {
        name,
        via,
        outcome,
        expiring: None,
    };
    // A token the helper gave is judged as the credentials check judges its own hosts'
    // (an answer reused from that check was judged there).
    if let HelperOutcome::Found(c) = &helper.outcome
        && !reused_answer
        && let Some((finding, problem)) = super::expiry(
            ctx,
            c,
            &[host.to_string()],
            &format!("{} from {}", c.describe(), helper.describe()),
        )
    {
        match problem {
            Some(_) => helper.outcome = HelperOutcome::Failed(Box::new(finding)),
            None => helper.expiring = Some(Box::new(finding)),
        }
    }
    Some(helper)
}

/// The credentials check's answer for the same key.
fn reused(done: &HostCredential) -> HelperOutcome {
    match (&done.credential, done.problem) {
        (Some(c), _) => HelperOutcome::Found(c.clone()),
        (None, Some(Code::HELPER_NO_CREDENTIALS)) => HelperOutcome::NoCredentials(format!(
            "it has no credentials for `{}` (HELPER_NO_CREDENTIALS, credentials check)",
            done.key
        )),
        (None, Some(code)) => HelperOutcome::NotRun(format!(
            "the credentials check reports {code} for `{}`",
            done.key
        )),
        (None, None) => HelperOutcome::NotRun(format!(
            "the credentials check got no answer from it for `{}`",
            done.key
        )),
    }
}

/// Finds and runs the helper once for the key, as the credentials check does.
async fn run_once(ctx: &Ctx, at: &HelperAt<'_>) -> HelperOutcome {
    let program = match cred_helper::find_on_path(at.name, ctx.config.env.path.as_deref()) {
        Ok(p) => p,
        Err(e @ HelperError::InvalidName { .. }) => return HelperOutcome::NotRun(e.to_string()),
        Err(e) if ctx.config.env.container.is_some() && could_be_on_the_runner(at.name) => {
            return HelperOutcome::NotRun(format!(
                "{e} in this container action; it may be on the runner (HELPER_UNVERIFIABLE)"
            ));
        }
        // The credentials check reports the credsStore helper for every run.
        Err(e) if at.via == HelperVia::CredsStore => {
            return HelperOutcome::NotRun(format!("{e} (HELPER_NOT_FOUND)"));
        }
        Err(_) => {
            let usage = HelperUse {
                line: at.line,
                keys: vec![(at.key.to_string(), at.hosts.to_vec())],
            };
            let f = helper_not_found(ctx, at.config, at.name, at.via, &usage);
            return HelperOutcome::Failed(Box::new(f));
        }
    };
    let timeout = helper_timeout(ctx);
    if timeout.is_zero() {
        return HelperOutcome::NotRun("no time was left before --timeout to run it".into());
    }
    let call = cred_helper::run_get(&program, at.key, timeout, &ctx.secrets).await;
    let waited = format_duration(call.elapsed);
    match call.result {
        Ok(HelperAnswer::Credentials(answer)) => HelperOutcome::Found(answer.into_credential()),
        Ok(HelperAnswer::NoCredentials(style)) => HelperOutcome::NoCredentials(format!(
            "it has no credentials for `{}` ({})",
            at.key,
            match style {
                cred_helper::NoCredentialsStyle::NotFoundMessage =>
                    "`credentials not found in native keychain`",
                cred_helper::NoCredentialsStyle::EmptyAnswer => "an empty Username and Secret",
            }
        )),
        Err(error) => HelperOutcome::Failed(Box::new(helper_failed(
            ctx,
            at,
            &call.program,
            &error,
            &waited,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::docker::config::Load;
    use crate::secrets::Secrets;

    fn known(credential: Option<Credential>, problem: Option<Code>) -> HostCredential {
        HostCredential {
            host: "r.example:5000".into(),
            key: "r.example:5000".into(),
            source: CredentialSource::Helper {
                name: "gone".into(),
                via: HelperVia::CredHelpers,
            },
            credential,
            problem,
        }
    }

    /// A helper the credentials check already asked for the same key is not run
    /// again: its program is not even on PATH here, and its answer is still used.
    #[tokio::test]
    async fn the_credentials_checks_answer_for_the_same_key_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": {"r.example:5000": "gone"}}"#,
        )
        .unwrap();
        let mut config = Config::for_tests(dir.path().to_path_buf());
        config.env.path = Some(dir.path().as_os_str().to_owned());
        let ctx = Ctx::new(config, Secrets::default());
        let Ok(Load::Loaded(docker)) = ctx.docker_config.as_ref() else {
            panic!("config not loaded");
        };
        let found = Credential::from_username_secret("ci".into(), "pw".into());
        let done = [known(Some(found.clone()), None)];
        let h = helper_for_host(&ctx, docker, "r.example:5000", &done)
            .await
            .unwrap();
        assert!(matches!(&h.outcome, HelperOutcome::Found(c) if *c == found));
        assert_eq!(h.describe(), "helper `gone` (credHelpers)");

        let none = [known(None, Some(Code::HELPER_NO_CREDENTIALS))];
        let h = helper_for_host(&ctx, docker, "r.example:5000", &none)
            .await
            .unwrap();
        assert!(matches!(h.outcome, HelperOutcome::NoCredentials(_)));

        let failed = [known(None, Some(Code::HELPER_FAILED))];
        let h = helper_for_host(&ctx, docker, "r.example:5000", &failed)
            .await
            .unwrap();
        assert!(
            matches!(&h.outcome, HelperOutcome::NotRun(why) if why.contains("HELPER_FAILED")),
            "{h:?}"
        );

        // Without the credentials check's answer the helper is looked for, and is
        // missing: HELPER_NOT_FOUND naming the host's credHelpers entry.
        let h = helper_for_host(&ctx, docker, "r.example:5000", &[])
            .await
            .unwrap();
        match h.outcome {
            HelperOutcome::Failed(f) => {
                assert_eq!(f.code, Code::HELPER_NOT_FOUND);
                assert!(
                    f.title.contains(r#"credHelpers["r.example:5000"]"#),
                    "{f:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A host the file store serves has no helper.
        assert!(
            helper_for_host(&ctx, docker, "other.example", &[])
                .await
                .is_none()
        );
    }
}
