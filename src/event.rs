//! What the run is about, from the event payload (`GITHUB_EVENT_PATH`) and the
//! environment: the pull request, the commit a check run belongs to, and whether the
//! pull request comes from a fork (whose token GitHub makes read-only, and whose runs get
//! no OIDC token and no secrets). The one reading of the payload: checks and feedback
//! both take it from here.

use crate::config::RunEnvironment;
use serde_json::Value;

/// A pull request opened from another repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// `pull_request.head.repo.full_name`.
    pub head: String,
    /// `pull_request.base.repo.full_name`.
    pub base: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventInfo {
    /// `GITHUB_EVENT_NAME`.
    pub name: Option<String>,
    /// The pull request number, when the run is about one.
    pub pull_request: Option<u64>,
    /// Where the number came from (`pull_request.number in the event payload`, …).
    pub pull_request_source: Option<&'static str>,
    /// The commit a check run should be attached to: the pull request's head commit
    /// when the payload has one (GITHUB_SHA is then the merge commit, which the pull
    /// request page does not show), else `GITHUB_SHA`.
    pub head_sha: Option<String>,
    pub fork: Option<Fork>,
    /// `sender.login`: who triggered the run.
    pub sender: Option<String>,
    /// The payload could not be read or parsed (said in findings that depend on it).
    pub payload_problem: Option<String>,
}

impl EventInfo {
    /// Reads the payload named by `GITHUB_EVENT_PATH` (if any) and the environment.
    pub fn load(env: &RunEnvironment) -> EventInfo {
        let mut payload_problem = None;
        let payload = match &env.event_path {
            None => Value::Null,
            Some(path) => {
                match crate::fsread::read_capped(path, crate::fsread::EVENT_PAYLOAD_CAP) {
                    Err(e) => {
                        payload_problem = Some(format!(
                            "cannot read the event payload {} (GITHUB_EVENT_PATH): {e}",
                            path.display()
                        ));
                        Value::Null
                    }
                    Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        payload_problem = Some(format!(
                            "the event payload {} (GITHUB_EVENT_PATH) is not JSON: {e}",
                            path.display()
                        ));
                        Value::Null
                    }),
                }
            }
        };
        let mut info = EventInfo::from_payload(&payload, env);
        info.payload_problem = payload_problem;
        info
    }

    /// The same from an already parsed payload (`Value::Null` when there is none).
    pub fn from_payload(payload: &Value, env: &RunEnvironment) -> EventInfo {
        let pr = payload.get("pull_request").filter(|v| v.is_object());
        let str_at = |v: Option<&Value>, path: &[&str]| -> Option<String> {
            let mut cur = v?;
            for key in path {
                cur = cur.get(key)?;
            }
            cur.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };

        let mut pull_request = None;
        let mut pull_request_source = None;
        if let Some(n) = pr.and_then(|p| p.get("number")).and_then(Value::as_u64) {
            pull_request = Some(n);
            pull_request_source = Some("`pull_request.number` in the event payload");
        } else if let Some(issue) = payload.get("issue")
            // issue_comment events fire for issues and pull requests alike; only the
            // latter carry `issue.pull_request`.
            && issue.get("pull_request").is_some_and(|v| !v.is_null())
            && let Some(n) = issue.get("number").and_then(Value::as_u64)
        {
            pull_request = Some(n);
            pull_request_source = Some("`issue.number` in the event payload");
        } else if let Some(n) = env.git_ref.as_deref().and_then(pull_number_from_ref) {
            pull_request = Some(n);
            pull_request_source = Some("GITHUB_REF");
        }

        let head_sha = str_at(pr, &["head", "sha"]).or_else(|| env.sha.clone());
        let fork = match (
            str_at(pr, &["head", "repo", "full_name"]),
            str_at(pr, &["base", "repo", "full_name"]),
        ) {
            (Some(head), Some(base)) if !head.eq_ignore_ascii_case(&base) => {
                Some(Fork { head, base })
            }
            _ => None,
        };
        EventInfo {
            name: env.event_name.clone(),
            pull_request,
            pull_request_source,
            head_sha,
            fork,
            sender: str_at(Some(payload), &["sender", "login"]),
            payload_problem: None,
        }
    }
}

/// The login of the Dependabot app (`github.actor` of the runs it triggers).
const DEPENDABOT: &str = "dependabot[bot]";

/// Why GitHub gives this run no secrets (they read as empty strings) and no OIDC token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withheld {
    /// A `pull_request*` event (not `pull_request_target`) from a fork.
    Fork { event: String, head: String },
    /// A run triggered by Dependabot: only Dependabot secrets, a read-only token.
    Dependabot,
}

impl Withheld {
    /// One sentence for a finding's message.
    pub fn describe(&self) -> String {
        match self {
            Withheld::Fork { event, head } => format!(
                "This run is a `{event}` event from the fork {head}: GitHub gives such runs no secrets (they read as empty strings), no OIDC token and a read-only GITHUB_TOKEN, whatever the workflow's permissions say."
            ),
            Withheld::Dependabot => "This run was triggered by Dependabot: it reads only Dependabot secrets (Actions secrets read as empty strings), gets a read-only GITHUB_TOKEN and no OIDC token.".into(),
        }
    }

    /// The `if:` that keeps a step out of such runs.
    pub fn guard(&self) -> &'static str {
        match self {
            Withheld::Fork { .. } => "github.event.pull_request.head.repo.fork != true",
            Withheld::Dependabot => "github.actor != 'dependabot[bot]'",
        }
    }
}

impl EventInfo {
    /// Whether this run gets no secrets, and why.
    pub fn withheld(&self, env: &RunEnvironment) -> Option<Withheld> {
        let event = self.name.as_deref().unwrap_or_default();
        if event.starts_with("pull_request")
            && event != "pull_request_target"
            && let Some(fork) = &self.fork
        {
            return Some(Withheld::Fork {
                event: event.to_string(),
                head: fork.head.clone(),
            });
        }
        // The payload's `sender.login` first; the environment's actors when the payload
        // could not be read or names no sender.
        let actor = match self.sender.as_deref() {
            Some(sender) => sender,
            None => env
                .actor
                .as_deref()
                .or(env.triggering_actor.as_deref())
                .unwrap_or_default(),
        };
        let dependabot = |a: &str| a == DEPENDABOT;
        if dependabot(actor)
            || self.sender.is_none() && env.triggering_actor.as_deref().is_some_and(dependabot)
            || env.repository.is_some() && event.is_empty() && actor.starts_with("dependabot")
        {
            return Some(Withheld::Dependabot);
        }
        None
    }
}

/// `refs/pull/<n>/merge` (or `/head`) → `n`.
pub fn pull_number_from_ref(git_ref: &str) -> Option<u64> {
    let rest = git_ref.strip_prefix("refs/pull/")?;
    let (number, tail) = rest.split_once('/')?;
    if !matches!(tail, "merge" | "head") {
        return None;
    }
    number.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(git_ref: Option<&str>, sha: Option<&str>) -> RunEnvironment {
        RunEnvironment {
            git_ref: git_ref.map(str::to_string),
            sha: sha.map(str::to_string),
            event_name: Some("pull_request".into()),
            ..RunEnvironment::default()
        }
    }

    #[test]
    fn pull_request_payload_gives_number_head_sha_and_fork() {
        let payload = json!({"pull_request": {
            "number": 12,
            "head": {"sha": "abc123", "repo": {"full_name": "someone/app"}},
            "base": {"sha": "def", "repo": {"full_name": "team/app"}}
        }});
        let info = EventInfo::from_payload(&payload, &env(Some("refs/pull/12/merge"), Some("m")));
        assert_eq!(info.pull_request, Some(12));
        assert_eq!(info.head_sha.as_deref(), Some("abc123"));
        assert_eq!(
            info.fork,
            Some(Fork {
                head: "someone/app".into(),
                base: "team/app".into()
            })
        );
    }

    #[test]
    fn same_repository_is_not_a_fork() {
        let payload = json!({"pull_request": {
            "number": 3,
            "head": {"sha": "a", "repo": {"full_name": "Team/App"}},
            "base": {"repo": {"full_name": "team/app"}}
        }});
        assert_eq!(
            EventInfo::from_payload(&payload, &env(None, None)).fork,
            None
        );
    }

    #[test]
    fn issue_comment_on_a_pull_request_only() {
        let on_pr = json!({"issue": {"number": 7, "pull_request": {"url": "x"}}});
        let info = EventInfo::from_payload(&on_pr, &env(None, Some("s")));
        assert_eq!(info.pull_request, Some(7));
        assert_eq!(info.head_sha.as_deref(), Some("s"));
        let on_issue = json!({"issue": {"number": 7}});
        assert_eq!(
            EventInfo::from_payload(&on_issue, &env(None, None)).pull_request,
            None
        );
    }

    #[test]
    fn ref_fallback_and_non_pr_refs() {
        let info = EventInfo::from_payload(&Value::Null, &env(Some("refs/pull/42/merge"), None));
        assert_eq!(info.pull_request, Some(42));
        assert_eq!(info.pull_request_source, Some("GITHUB_REF"));
        assert_eq!(pull_number_from_ref("refs/heads/main"), None);
        assert_eq!(pull_number_from_ref("refs/pull/x/merge"), None);
        assert_eq!(pull_number_from_ref("refs/pull/5/other"), None);
        assert_eq!(pull_number_from_ref("refs/pull/5/head"), Some(5));
    }

    #[test]
    fn dependabot_from_the_actor_only_when_the_payload_names_no_sender() {
        let by = |actor: Option<&str>, triggering: Option<&str>| RunEnvironment {
            event_name: Some("push".into()),
            actor: actor.map(str::to_string),
            triggering_actor: triggering.map(str::to_string),
            ..RunEnvironment::default()
        };
        let no_payload = EventInfo::from_payload(&Value::Null, &by(None, None));
        let env = by(Some("dependabot[bot]"), None);
        assert_eq!(no_payload.withheld(&env), Some(Withheld::Dependabot));
        let env = by(Some("someone"), Some("dependabot[bot]"));
        assert_eq!(no_payload.withheld(&env), Some(Withheld::Dependabot));
        assert_eq!(no_payload.withheld(&by(Some("someone"), None)), None);
        // The payload is the first source: a human sender wins over the environment.
        let human = EventInfo::from_payload(&json!({"sender": {"login": "alice"}}), &env);
        assert_eq!(human.withheld(&by(Some("dependabot[bot]"), None)), None);
    }

    #[test]
    fn unreadable_payload_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, "{not json").unwrap();
        let env = RunEnvironment {
            event_path: Some(path),
            git_ref: Some("refs/pull/9/merge".into()),
            ..RunEnvironment::default()
        };
        let info = EventInfo::load(&env);
        assert_eq!(info.pull_request, Some(9));
        assert!(info.payload_problem.unwrap().contains("not JSON"));
    }
}
