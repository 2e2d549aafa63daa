//! Runs that get no secrets: pull requests from forks and Dependabot runs. GitHub
//! passes every secret to them as an empty string, so a login or push written for the
//! base repository fails there, and an identity input read from a secret is silently
//! empty (acr-preflight would then check the docker config instead of Azure).

use super::{at, finding};
use crate::config::Config;
use crate::event::Withheld;
use crate::findings::{CheckReport, Code, Severity};
use crate::workflow::discover::{self, Role};
use crate::workflow::locate::Located;
use crate::workflow::model::Step;
use crate::workflow::yaml::Pos;

/// Words of an `if:` that show a step already decides on this kind of trigger: it is
/// taken as guarded (conditions are not evaluated).
fn guard_words(why: &Withheld) -> &'static [&'static str] {
    match why {
        Withheld::Fork { .. } => &["fork", "head.repo", "event_name", "github.repository"],
        Withheld::Dependabot => &["dependabot", "actor"],
    }
}

/// Whether a step's own `if:` already looks at the trigger.
fn guarded(step: &Step, why: &Withheld) -> bool {
    step.condition.as_ref().is_some_and(|c| {
        let c = c.value.to_ascii_lowercase();
        guard_words(why).iter().any(|w| c.contains(w))
    })
}

/// One step that needs a secret or a writable token and would run in this run.
struct Exposed {
    step: usize,
    pos: Pos,
    what: String,
}

/// WORKFLOW_SECRETS_WITHHELD: logins and pushes after the preflight, in a run that
/// gets no secrets, and whose step does not guard against it.
pub(super) fn secrets_withheld(
    report: &mut CheckReport,
    l: &Located,
    found: &discover::Found,
    why: &Withheld,
) {
    let steps = &l.job().steps;
    let unguarded = |index: usize| steps.get(index).is_some_and(|s| !guarded(s, why));
    let mut exposed: Vec<Exposed> = Vec::new();
    let logins = found.logins.iter().filter(|g| g.after_preflight).map(|g| {
        let target = g.registry.as_deref().unwrap_or("a registry");
        (&g.step, &g.location, format!("logs in to {target}"))
    });
    let pushes = found
        .references
        .iter()
        .filter(|r| r.role == Role::Push && r.after_preflight)
        .map(|r| (&r.step, &r.location, format!("pushes `{}`", r.written)));
    let azure = azure_logins(steps, found);
    let azure = azure
        .iter()
        .map(|(step, location, action)| (*step, location, action.clone()));
    for (step, location, action) in logins.chain(pushes).chain(azure) {
        if unguarded(step.index) {
            let line = location.line.unwrap_or(step.line);
            exposed.push(Exposed {
                step: step.index,
                pos: Pos {
                    line,
                    column: location.column.unwrap_or(1),
                },
                what: format!(
                    "step {} `{}` (line {line}) {action}",
                    step.index + 1,
                    step.label
                ),
            });
        }
    }
    let Some(first) = exposed.iter().min_by_key(|e| (e.step, e.pos.line)) else {
        return;
    };
    let guard = why.guard();
    let list: Vec<&str> = exposed.iter().map(|e| e.what.as_str()).collect();
    let fix = match why {
        Withheld::Fork { .. } => format!(
            "Keep the registry steps out of pull requests from forks and build without pushing there:\n- the login steps: `if: {guard}`\n- docker/build-push-action: `push: ${{{{ {guard} }}}}` (or `push: false` in a pull-request workflow)\nIf such runs truly need the registry, use a `pull_request_target` job behind an environment with required reviewers that checks out the pull request's head explicitly."
        ),
        Withheld::Dependabot => format!(
            "Either store the secrets the login needs as Dependabot secrets (Settings → Secrets and variables → Dependabot), or keep the registry steps out of Dependabot runs:\n- the login steps: `if: {guard}`\n- docker/build-push-action: `push: ${{{{ {guard} }}}}`"
        ),
    };
    report.push(at(
        finding(
            Code::WORKFLOW_SECRETS_WITHHELD,
            Severity::Notice,
            format!(
                "{} in a run that gets no secrets",
                if list.len() == 1 {
                    "a login or push runs".to_string()
                } else {
                    format!("{} logins and pushes run", list.len())
                }
            ),
            format!(
                "{} Without a step `if:` about the trigger, these steps run and fail: {}.",
                why.describe(),
                list.join("; ")
            ),
            fix,
        ),
        &l.workflow.path,
        first.pos,
    ));
}

/// The azure/login inputs that carry the identity.
const AZURE_LOGIN_IDENTITY: &[&str] = &["creds", "client-id", "tenant-id", "client-secret"];

/// The azure/login steps after the preflight that cannot sign in when secrets are
/// withheld: an identity input read from `secrets.*` (it reads as an empty string:
/// `Not all values are present`, `Not all parameters are provided in 'creds'`), or an
/// OIDC sign-in (no OIDC token is minted for these runs). Located at the first such
/// input, else at the step.
fn azure_logins<'a>(
    steps: &[Step],
    found: &'a discover::Found,
) -> Vec<(&'a discover::StepRef, crate::findings::Location, String)> {
    let mut out = Vec::new();
    for az in found.az.iter().filter(|a| a.after_preflight) {
        if az.what == "az login" {
            if let Some(action) = script_sign_in(az) {
                out.push((&az.step, az.location.clone(), action));
            }
            continue;
        }
        if az.what != "azure/login" {
            continue;
        }
        let Some(step) = steps.get(az.step.index) else {
            continue;
        };
        let from_secret = AZURE_LOGIN_IDENTITY.iter().find_map(|name| {
            step.input(name)
                .filter(|v| v.value.contains("secrets."))
                .map(|v| (*name, v))
        });
        let (location, action) = match from_secret {
            Some((name, value)) => (
                crate::findings::Location {
                    line: Some(value.start.line),
                    column: Some(value.start.column),
                    ..az.location.clone()
                },
                format!(
                    "signs in to Azure with `{name}: {}`, which reads as empty",
                    value.value.trim()
                ),
            ),
            None if az.signs_in_with_oidc() => (
                az.location.clone(),
                "signs in to Azure with OIDC, and no OIDC token is minted".to_string(),
            ),
            None => continue,
        };
        out.push((&az.step, location, action));
    }
    out
}

/// An `az login` in a script that cannot sign in when secrets are withheld: a federated
/// token (no OIDC token is minted for these runs), or a `-u`/`--username` read from
/// `secrets.*`, which reads as empty.
fn script_sign_in(az: &discover::AzCommand) -> Option<String> {
    if az.signs_in_with_oidc() {
        return Some(
            "signs in to Azure with `az login --federated-token`, and no OIDC token is minted"
                .to_string(),
        );
    }
    let username = az.username.as_ref()?;
    username.written.contains("secrets.").then(|| {
        format!(
            "signs in to Azure with `az login -u {}`, which reads as empty",
            username.quoted
        )
    })
}

/// The identity inputs whose emptiness changes what acr-preflight checks.
const IDENTITY_INPUTS: &[&str] = &["client-id", "tenant-id", "subscription-id", "client-secret"];

/// WORKFLOW_INPUT_EMPTY: an identity input written with an expression (usually a
/// secret) in acr-preflight's own step, that reached the run empty.
pub(super) fn empty_identity_inputs(
    report: &mut CheckReport,
    config: &Config,
    l: &Located,
    step: &Step,
    why: Option<&Withheld>,
) {
    let azure = &config.azure;
    for name in IDENTITY_INPUTS {
        let received = match *name {
            "client-id" => azure.client_id.is_some(),
            "tenant-id" => azure.tenant_id.is_some(),
            "subscription-id" => azure.subscription_id.is_some(),
            _ => azure.client_secret.is_some(),
        };
        let Some(written) = step.input(name) else {
            continue;
        };
        if received || !written.value.contains("${{") {
            continue;
        }
        let expression = written.value.trim();
        let consequence = if *name == "client-id" {
            " With no client id acr-preflight does not sign in to Azure: it checked the docker config the build reads instead, so nothing about the Azure identity was verified."
        } else {
            ""
        };
        let (severity, cause, fix) = match why {
            Some(w) => (
                Severity::Notice,
                w.describe(),
                format!(
                    "Expected in this run. To skip the Azure steps here: `if: {}` on acr-preflight's step and the login steps.",
                    w.guard()
                ),
            ),
            None => (
                Severity::Error,
                "A secret or variable that does not exist reads as an empty string: it is not defined for this repository, its environment, or (in a reusable workflow) not passed with `secrets: inherit`.".to_string(),
                format!(
                    "Define what `{expression}` names under Settings → Secrets and variables → Actions (in the environment's secrets when the job declares `environment:`), or pass it to the reusable workflow (`secrets: inherit`)."
                ),
            ),
        };
        report.push(at(
            finding(
                Code::WORKFLOW_INPUT_EMPTY,
                severity,
                format!("input `{name}` is empty: `{expression}` resolved to nothing"),
                format!(
                    "acr-preflight's step sets `{name}: {expression}` (line {}), and the run received an empty value. {cause}{consequence}",
                    written.start.line
                ),
                fix,
            ),
            &l.workflow.path,
            written.start,
        ));
    }
}
