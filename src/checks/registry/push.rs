//! The push proof: a push right that no token states (an opaque token, Basic auth, an
//! open registry) is proven by opening a blob upload session with the build's
//! credential, `POST /v2/<repo>/blobs/uploads/`, and cancelling it at once with a
//! `DELETE` on its `Location`. It is the one write the tool makes; no blob, manifest or
//! tag is written. A token that states its rights (ACR, distribution: a JWT `access`
//! claim) is the proof itself, so no session is opened for it.
//!
//! Round trips: two per pushed repository whose right is unknown, none otherwise.

use super::*;

/// How the push right on a repository is known, before any proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unknown {
    /// The token server issued a token whose rights cannot be read (not a JWT).
    OpaqueToken,
    /// The registry takes Basic credentials or none: no token states any right.
    NoToken,
}

/// The pushed repositories on the host whose right the token did not state, each with
/// its references.
fn unknown_repositories<'a>(
    targets: &'a [Target],
    access: &Access,
) -> BTreeMap<&'a str, Vec<&'a Target>> {
    let mut repos: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.push) {
        if !access.grants.contains_key(&t.repository) {
            repos.entry(t.repository.as_str()).or_default().push(t);
        }
    }
    repos
}

/// Proves (or, with the proof off, reports as unverified) every push right on the host
/// that the token did not state.
pub(super) async fn prove_all(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    targets: &[Target],
    access: &Access,
    identity: &Identity,
    hints: &RoleHints,
) -> Lookup {
    let mut out = Lookup::default();
    let why = if access.token_source.is_some() {
        Unknown::OpaqueToken
    } else {
        Unknown::NoToken
    };
    for (repo, refs) in unknown_repositories(targets, access) {
        let first = refs.first().map(|t| t.info.reference.clone());
        if !ctx.config.prove_push {
            out.findings
                .push(push_unverified(host, repo, identity, why).about_first(first));
            continue;
        }
        let proof = Proof {
            host,
            repo,
            identity,
            hints,
            refs: &refs,
        };
        proof.run(client, &access.auth, &mut out).await;
    }
    out
}

/// One repository's proof and the words for its outcome.
pub(super) struct Proof<'a> {
    pub(super) host: &'a str,
    pub(super) repo: &'a str,
    pub(super) identity: &'a Identity,
    pub(super) hints: &'a RoleHints,
    /// The build's push references to the repository.
    pub(super) refs: &'a [&'a Target],
}

impl Proof<'_> {
    async fn run(&self, client: &Client, auth: &Auth, out: &mut Lookup) {
        let (host, repo) = (self.host, self.repo);
        let first = self.refs.first().map(|t| t.info.reference.clone());
        let started = match client.start_upload(host, repo, auth).await {
            Ok(r) => r,
            Err(e) => {
                let affected = self
                    .refs
                    .iter()
                    .map(|t| format!("`{}`", t.info.reference))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.findings
                    .push(net_only_finding(host, &e, &affected).about_first(first));
                return;
            }
        };
        let seen = format!(
            "POST /v2/{repo}/blobs/uploads/ (the first request of a push) → {}",
            started.describe()
        );
        let finding = match started.status {
            202 => {
                let cancel = client.cancel_upload(&started, auth).await;
                match proven(&cancel) {
                    Ok(note) => {
                        out.verified.push(format!(
                            "{host}: push right on `{repo}` proven for {}: POST /v2/{repo}/blobs/uploads/ → 202 Accepted; {note}",
                            identity_short(self.identity)
                        ));
                        return;
                    }
                    Err(problem) => upload_without_location(host, repo, &seen, &problem),
                }
            }
            401 | 403 if push_refused(&started) => {
                unverifiable_as_warning(self.identity, self.refused(&seen))
            }
            _ if started.throttled() => return,
            404 if has_code(&started, "NAME_UNKNOWN") => no_repository(host, repo, &seen),
            405 => no_pushes(host, &seen),
            _ => unexpected_finding(host, &format!("push proof: {seen}"), &started),
        };
        out.findings.push(finding.about_first(first));
    }
}

/// The note on a cancelled (or not cancelled) session for the verified line, or why a
/// 202 proves nothing a push could use (no usable `Location`).
fn proven(cancel: &UploadCancel) -> Result<String, String> {
    Ok(match cancel {
        UploadCancel::Answered(reply) if (200..300).contains(&reply.status) => {
            format!(
                "the upload session was cancelled (DELETE → {}), nothing was written",
                reply.status
            )
        }
        UploadCancel::Answered(reply) if reply.status == 404 => {
            "the upload session was already gone when cancelled (DELETE → 404), nothing was written"
                .into()
        }
        UploadCancel::Answered(reply) if matches!(reply.status, 401 | 403) => format!(
            "the credential may not cancel the empty upload session (DELETE → {}; distribution asks for the delete right, which a build does not need); it holds no data and the registry purges abandoned sessions",
            reply.describe()
        ),
        UploadCancel::Answered(reply) => format!(
            "the registry did not cancel the empty upload session (DELETE → {}); it holds no data and the registry purges abandoned sessions",
            reply.describe()
        ),
        UploadCancel::Failed(error) => format!(
            "the empty upload session could not be cancelled ({}: {}); it holds no data and the registry purges abandoned sessions",
            error.url,
            wire::shorten(&error.detail, 200)
        ),
        UploadCancel::OtherOrigin(origin) => format!(
            "the empty upload session was not cancelled: its Location is on another origin ({origin}), where the credential is not sent"
        ),
        UploadCancel::NoLocation => {
            return Err("the answer has no Location header".into());
        }
        UploadCancel::Unusable(raw) => {
            return Err(format!("its Location `{raw}` is not an http(s) URL"));
        }
    })
}

/// A 401/403 that refuses the push: the distribution error codes `DENIED` or
/// `UNAUTHORIZED`, or a Bearer challenge with `error="insufficient_scope"`.
fn push_refused(reply: &Reply) -> bool {
    has_code(reply, "DENIED")
        || has_code(reply, "UNAUTHORIZED")
        || matches!(
            registry::challenge_of(reply),
            Ok(Challenge::Bearer { error: Some(e), .. }) if e == "insufficient_scope"
        )
}

fn has_code(reply: &Reply, code: &str) -> bool {
    reply.errors().iter().any(|e| e.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Reply {
            status,
            headers: map,
            body: body.as_bytes().to_vec(),
            url: reqwest::Url::parse("https://r.test/v2/a/blobs/uploads/").unwrap(),
            peer: None,
        }
    }

    #[test]
    fn a_refusal_needs_a_distribution_code_or_an_insufficient_scope_challenge() {
        let denied = reply(
            403,
            &[],
            r#"{"errors":[{"code":"DENIED","message":"installation not allowed to Write organization package"}]}"#,
        );
        assert!(push_refused(&denied));
        let scope = reply(
            401,
            &[(
                "www-authenticate",
                r#"Bearer realm="https://r.test/token",service="r",error="insufficient_scope""#,
            )],
            "",
        );
        assert!(push_refused(&scope));
        let html = reply(403, &[], "<html>Forbidden by policy</html>");
        assert!(!push_refused(&html));
    }

    #[test]
    fn a_cancel_that_fails_still_proves_the_right_but_no_location_does_not() {
        let gone = UploadCancel::Answered(reply(405, &[], ""));
        assert!(proven(&gone).unwrap().contains("did not cancel"));
        assert!(proven(&UploadCancel::NoLocation).is_err());
        assert!(proven(&UploadCancel::Unusable("::".into())).is_err());
    }
}
