//! What the claims of the OIDC token a job presented say about why no federated
//! credential matched: a customised subject template, the immutable ID form, a
//! branch-per-credential set-up, an enterprise or GHES issuer, a custom audience. Each
//! note names what the presented token shows; the registered credentials themselves are
//! not readable without Graph rights that CI identities rarely hold.

use crate::azure::entra::Presented;

/// GitHub.com's issuer for Actions OIDC tokens.
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The default subject shapes: `repo:OWNER/REPO:` then one of these.
#[derive(Debug, PartialEq, Eq)]
enum Tail<'a> {
    PullRequest,
    Environment,
    Branch,
    Tag,
    OtherRef,
    /// Anything else: the subject was built by a customised template.
    Custom(&'a str),
}

/// The parts of a subject: the `OWNER/REPO` segment and the tail after it. None when the
/// subject does not start with `repo:`.
fn split(sub: &str) -> Option<(&str, Tail<'_>)> {
    let rest = sub.strip_prefix("repo:")?;
    let (repo, tail) = rest.split_once(':').unwrap_or((rest, ""));
    let tail = if tail == "pull_request" {
        Tail::PullRequest
    } else if let Some(env) = tail.strip_prefix("environment:") {
        if env.is_empty() || env.contains(':') {
            Tail::Custom(tail)
        } else {
            Tail::Environment
        }
    } else if tail.starts_with("ref:refs/heads/") {
        Tail::Branch
    } else if tail.starts_with("ref:refs/tags/") {
        Tail::Tag
    } else if tail.starts_with("ref:refs/") {
        Tail::OtherRef
    } else {
        Tail::Custom(tail)
    };
    Some((repo, tail))
}

/// Entra's flexible federated identity credentials: one credential whose
/// `claimsMatchingExpression` (`claims['sub'] matches '…*'`) replaces a subject.
const FLEXIBLE_DOC: &str = "https://learn.microsoft.com/entra/workload-id/workload-identities-flexible-federated-identity-credentials";

/// `OWNER@123/REPO@456`: GitHub's immutable subject form, which names the owner and the
/// repository by their numeric ids too.
fn is_immutable(repo: &str) -> bool {
    let with_id = |part: &str| {
        part.rsplit_once('@').is_some_and(|(name, id)| {
            !name.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
        })
    };
    repo.split_once('/')
        .is_some_and(|(owner, name)| with_id(owner) && with_id(name))
}

/// AADSTS7002138: a registered subject equals the presented one except for letter case.
/// GitHub writes the owner, repository, branch and environment names as they are now
/// (a rename or a re-cased branch changes them); Entra compares case-sensitively.
pub(super) fn case_note(sub: &str) -> String {
    format!(
        "Entra says a federated credential of the app matches this subject only when letter case is ignored: its subject differs from `{sub}` in case alone (an owner, repository, branch or environment renamed or written with other capitals). Entra compares subjects case-sensitively: recreate the credential with the subject copied verbatim from this message."
    )
}

/// Notes on the presented token, each a sentence or two, most specific first.
/// `audience` is the audience this cloud's federated credentials use by default;
/// `issuer_refused`: Entra's code leaves the issuer in doubt (AADSTS70021, 700211).
pub(super) fn token_notes(p: &Presented, audience: &str, issuer_refused: bool) -> Vec<String> {
    let mut notes = Vec::new();
    match split(&p.sub) {
        None if !p.sub.is_empty() => notes.push(
            "The subject does not start with `repo:`: the organisation or repository customises its OIDC subject template (GitHub: `GET /repos/OWNER/REPO/actions/oidc/customization/sub` shows `use_default` and `include_claim_keys`). Register this exact subject, or reset the template to the default with `use_default: true`."
                .to_string(),
        ),
        None => {}
        Some((repo, tail)) => {
            if let Tail::Custom(rest) = tail {
                notes.push(format!(
                    "The part after `repo:{repo}:` (`{rest}`) is none of the default forms (`pull_request`, `environment:NAME`, `ref:refs/…`): the organisation or repository customises its OIDC subject template (GitHub: `GET /repos/OWNER/REPO/actions/oidc/customization/sub` shows `include_claim_keys`). Register this exact subject, claims in the same order."
                ));
            }
            if is_immutable(repo) {
                notes.push(format!(
                    "The subject uses GitHub's immutable form (`{repo}`: owner and repository with their numeric ids). A credential registered with the names only (`repo:OWNER/REPO:…`) does not match it: register the subject as presented."
                ));
            } else if let Some(with_ids) = immutable_form(&p.sub, repo, p.ids.as_ref()) {
                notes.push(format!(
                    "The subject uses the name form: immutable subjects are not enabled for this repository. A credential registered in GitHub's immutable form, which this token's `repository_owner_id` and `repository_id` make `{with_ids}`, does not match it (Entra's migration guide registers that form before the repository switches): enable immutable subjects for the repository, or register the subject as presented."
                ));
            }
            if matches!(tail, Tail::Branch | Tail::Tag) {
                let refs = if tail == Tail::Branch {
                    "refs/heads/*"
                } else {
                    "refs/tags/*"
                };
                notes.push(format!(
                    "Each branch or tag needs its own federated credential (subjects are matched exactly, without wildcards, and an identity holds at most 20). For many branches or tags, give the job an `environment:` and register `repo:OWNER/REPO:environment:NAME` once; or, on an app registration, create one flexible federated identity credential (preview, {FLEXIBLE_DOC}) whose claims-matching expression covers them all: `claims['sub'] matches 'repo:{repo}:ref:{refs}'`."
                ));
            }
        }
    }
    let iss = p.iss.as_str();
    if iss == GITHUB_ISSUER && issuer_refused {
        notes.push(format!(
            "The credential's issuer must be exactly `{GITHUB_ISSUER}`: one registered with a trailing slash (`{GITHUB_ISSUER}/`) never matches, since Entra compares the issuer as written."
        ));
    } else if iss.ends_with('/') {
        notes.push(format!(
            "The issuer `{iss}` ends with `/`: the credential's issuer must be written exactly so, with the slash."
        ));
    } else if let Some(slug) = iss
        .strip_prefix(GITHUB_ISSUER)
        .and_then(|r| r.strip_prefix('/'))
    {
        notes.push(format!(
            "The enterprise `{slug}` uses its own issuer URL (`{iss}`): the credential's issuer must be this URL, not `{GITHUB_ISSUER}`."
        ));
    } else if !iss.is_empty() && iss != GITHUB_ISSUER {
        notes.push(format!(
            "The issuer `{iss}` is not GitHub.com's: for GitHub Enterprise Server, Entra itself must fetch `{iss}/.well-known/openid-configuration` and its keys over the internet, which this runner cannot test; the credential's issuer must be this URL."
        ));
    }
    if !p.aud.is_empty() && p.aud != audience {
        notes.push(format!(
            "The token's audience is `{}`, not this cloud's default `{audience}`: the credential's `audiences` must list `{}`.",
            p.aud, p.aud
        ));
    }
    notes
}

/// The immutable form of a name-form subject: `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`
/// from the token's id claims (https://learn.microsoft.com/entra/workload-id/workload-identities-github-immutable-subjects).
fn immutable_form(sub: &str, repo: &str, ids: Option<&(String, String)>) -> Option<String> {
    let (owner_id, repo_id) = ids?;
    let (owner, name) = repo.split_once('/')?;
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    let tail = sub.strip_prefix("repo:")?.strip_prefix(repo)?;
    Some(format!("repo:{owner}@{owner_id}/{name}@{repo_id}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "api://AzureADTokenExchange";

    fn notes(iss: &str, sub: &str, aud: &str) -> Vec<String> {
        let p = Presented {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            job_workflow_ref: None,
            ids: None,
        };
        token_notes(&p, AUD, false)
    }

    #[test]
    fn the_case_note_quotes_the_presented_subject() {
        let n = case_note("repo:Octo/App:ref:refs/heads/main");
        assert!(
            n.contains("`repo:Octo/App:ref:refs/heads/main` in case alone"),
            "{n}"
        );
    }

    #[test]
    fn default_pull_request_and_environment_subjects_need_no_note() {
        for sub in [
            "repo:octo/app:pull_request",
            "repo:octo/app:environment:prod",
        ] {
            assert_eq!(
                notes(GITHUB_ISSUER, sub, AUD),
                Vec::<String>::new(),
                "{sub}"
            );
        }
    }

    #[test]
    fn branch_and_tag_subjects_name_the_one_credential_per_ref_limit() {
        for sub in [
            "repo:octo/app:ref:refs/heads/feature/x",
            "repo:octo/app:ref:refs/tags/v1",
        ] {
            let n = notes(GITHUB_ISSUER, sub, AUD);
            assert_eq!(n.len(), 1, "{sub}: {n:?}");
            assert!(
                n[0].contains("at most 20") && n[0].contains("environment:NAME"),
                "{n:?}"
            );
            let refs = if sub.contains("refs/tags/") {
                "refs/tags/*"
            } else {
                "refs/heads/*"
            };
            assert!(
                n[0].contains(
                    "flexible federated identity credential (preview, https://learn.microsoft.com/"
                ) && n[0].contains(&format!(
                    "`claims['sub'] matches 'repo:octo/app:ref:{refs}'`"
                )),
                "{n:?}"
            );
        }
        assert!(notes(GITHUB_ISSUER, "repo:octo/app:ref:refs/pull/3/merge", AUD).is_empty());
    }

    #[test]
    fn customised_templates_are_named_with_the_api_that_shows_them() {
        let n = notes(
            GITHUB_ISSUER,
            "repository_owner:octo:context:ref:refs/heads/main",
            AUD,
        );
        assert!(
            n[0].contains("does not start with `repo:`") && n[0].contains("customization/sub"),
            "{n:?}"
        );
        let n = notes(
            GITHUB_ISSUER,
            "repo:octo/app:environment:prod:job_workflow_ref:octo/ci/.github/workflows/b.yml@refs/heads/main",
            AUD,
        );
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].contains("include_claim_keys")
                && n[0].contains("`environment:prod:job_workflow_ref:"),
            "{n:?}"
        );
    }

    #[test]
    fn immutable_subjects_are_told_apart_from_names_with_an_at_sign() {
        let n = notes(GITHUB_ISSUER, "repo:octo@1234/app@5678:pull_request", AUD);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].contains("immutable") && n[0].contains("`octo@1234/app@5678`"),
            "{n:?}"
        );
        assert!(!is_immutable("octo/app@v2"));
        // The name form with the id claims: the immutable form is spelled out.
        let p = Presented {
            iss: GITHUB_ISSUER.into(),
            sub: "repo:octo/app:environment:prod".into(),
            aud: AUD.into(),
            ids: Some(("12".into(), "34".into())),
            ..Presented::default()
        };
        let n = token_notes(&p, AUD, false);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].contains("`repo:octo@12/app@34:environment:prod`"),
            "{n:?}"
        );
        assert_eq!(
            immutable_form("repo:a/b/c:x", "a/b/c", Some(&("1".into(), "2".into()))),
            None
        );
        assert!(!is_immutable("octo@x/app@5"));
    }

    #[test]
    fn issuers_and_audiences_other_than_the_default_are_named() {
        let n = notes(
            &format!("{GITHUB_ISSUER}/acme"),
            "repo:octo/app:pull_request",
            AUD,
        );
        assert!(n[0].contains("enterprise `acme`"), "{n:?}");
        let n = notes(
            "https://ghes.example/_services/token",
            "repo:octo/app:pull_request",
            AUD,
        );
        assert!(
            n[0].contains("https://ghes.example/_services/token/.well-known/openid-configuration"),
            "{n:?}"
        );
        let n = notes(
            &format!("{GITHUB_ISSUER}/"),
            "repo:octo/app:pull_request",
            AUD,
        );
        assert!(n[0].contains("ends with `/`"), "{n:?}");
        // The default issuer: the registered side may carry the slash, on 70021/700211 only.
        let p = Presented {
            iss: GITHUB_ISSUER.into(),
            sub: "repo:octo/app:pull_request".into(),
            aud: AUD.into(),
            ..Presented::default()
        };
        let n = token_notes(&p, AUD, true);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].contains("exactly `https://token.actions.githubusercontent.com`")
                && n[0].contains("trailing slash"),
            "{n:?}"
        );
        assert!(token_notes(&p, AUD, false).is_empty());
        let n = notes(GITHUB_ISSUER, "repo:octo/app:pull_request", "api://custom");
        assert!(
            n[0].contains("`api://custom`, not this cloud's default `api://AzureADTokenExchange`"),
            "{n:?}"
        );
    }
}
