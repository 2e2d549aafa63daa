//! The job's `azure/login` steps (issue 13: P11, P12, P14), read the way the action
//! reads its inputs (https://github.com/Azure/login/blob/master/src/common/LoginConfig.ts):
//! a `creds` JSON that does not parse or lacks a key, `creds` beside `client-id`,
//! `tenant-id` or `subscription-id` (then `creds` is ignored), no subscription and no
//! `allow-no-subscriptions: true`, and `auth-type: IDENTITY` on a GitHub-hosted runner,
//! which has no managed identity. The facts the identity check needs later (which
//! identity a step signs in as, whether it allows no subscription) go to [`AzureLogin`].

use super::{at, finding};
use crate::config::Config;
use crate::findings::{CheckReport, Code, Location, Severity};
use crate::workflow::discover::{AzCommand, Found};
use crate::workflow::expr::Scope;
use crate::workflow::locate::Located;
use crate::workflow::model::{Job, Step};
use crate::workflow::yaml::{Kind, Text};
use crate::workflow::{AcrAzCall, ArmAzCall, AzureLogin, StepRef};
use std::collections::HashMap;

use crate::config::CREDS_KEYS;

/// One input of the step: as written, and its value when every expression resolves.
struct Input<'a> {
    text: &'a Text,
    value: Option<String>,
}

impl Input<'_> {
    fn written(&self) -> &str {
        self.text.value.trim()
    }
}

/// The step and the identity it signs in as: `client` is its client id input, compared
/// with acr-preflight's own `client-id` input as written (`own`, an expression).
fn signs_in_as(
    path: &str,
    step: &Step,
    client: Option<&Input<'_>>,
    own: Option<&str>,
) -> AzureLogin {
    let uses = step.uses.as_ref().map(|u| u.start).unwrap_or(step.pos);
    AzureLogin {
        step: StepRef {
            index: step.index,
            label: step.label(),
            line: step.pos.line,
        },
        location: Location {
            file: path.to_string(),
            line: Some(uses.line),
            column: Some(uses.column),
        },
        client_id: client.map(|i| i.written().to_string()),
        client_id_value: client.and_then(|i| i.value.clone()),
        same_client_id_input: client.is_some_and(|i| own == Some(i.written())),
        allow_no_subscriptions: false,
        managed_identity: false,
        session: None,
    }
}

/// acr-preflight's own `client-id` input as written, when it is an expression.
fn own_client_id(located: &Located) -> Option<String> {
    located
        .step()
        .and_then(|s| s.input("client-id"))
        .map(|t| t.value.trim().to_string())
        .filter(|v| v.contains("${{"))
}

/// One input of `step`, with its value when every expression in it resolves.
fn step_input<'a>(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    step: &'a Step,
    name: &str,
) -> Option<Input<'a>> {
    let scope = Scope {
        workflow: &located.workflow,
        job: located.job(),
        step: Some(step),
        preflight: located.step(),
        process_env,
        run: &config.env,
    };
    step.input(name)
        .filter(|t| !t.value.trim().is_empty())
        .map(|text| {
            let e = scope.expand(text.value.trim());
            Input {
                text,
                value: e.is_resolved().then_some(e.text),
            }
        })
}

/// The job's `Azure/acr-build` steps and the identity each signs in as: its own
/// `service_principal` input (https://github.com/Azure/acr-build, `action.yml`), not
/// acr-preflight's identity.
pub(super) fn acr_build_logins(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
) -> Vec<AzureLogin> {
    let own = own_client_id(located);
    located
        .job()
        .steps
        .iter()
        .filter(|s| s.action().as_deref() == Some("azure/acr-build"))
        .map(|step| {
            let client = step_input(config, located, process_env, step, "service_principal");
            signs_in_as(
                &located.workflow.path,
                step,
                client.as_ref(),
                own.as_deref(),
            )
        })
        .collect()
}

/// The job's `az acr build`/`az acr run` calls after acr-preflight's step and the
/// identity each runs as: not acr-preflight's, but the Azure CLI session the last
/// sign-in before it opened ([`session_identity`]). A session whose client id is not
/// written (`creds`, a managed identity without one) is left out.
pub(super) fn cli_tasks_logins(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    found: &Found,
) -> Vec<AzureLogin> {
    found
        .az
        .iter()
        .filter(|a| a.after_preflight && matches!(a.what.as_str(), "az acr build" | "az acr run"))
        .filter_map(|call| session_identity(config, located, process_env, found, call))
        .collect()
}

/// The `az acr` calls after acr-preflight's step that resolve the registry through
/// ARM, each with the identity of its session when the workflow tells it.
pub(super) fn arm_az_calls(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    found: &Found,
) -> Vec<ArmAzCall> {
    found
        .az
        .iter()
        .filter(|a| a.after_preflight && a.resolves_through_arm())
        .map(|call| arm_az_call(config, located, process_env, found, call))
        .collect()
}

/// `call` with the identity of its session.
fn arm_az_call(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    found: &Found,
    call: &AzCommand,
) -> ArmAzCall {
    ArmAzCall {
        what: call.what.clone(),
        step: call.step.clone(),
        location: call.location.clone(),
        identity: session_identity(config, located, process_env, found, call),
    }
}

/// The `az acr login` calls and the repository actions (`az acr repository update`
/// with a changed attribute, `delete`, `untag`, `az acr manifest delete`) after
/// acr-preflight's step whose registry name resolves, each with its session's identity.
pub(super) fn acr_az_calls(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    found: &Found,
) -> Vec<AcrAzCall> {
    found
        .az
        .iter()
        .filter(|a| {
            a.after_preflight && (a.what == "az acr login" || a.repository_action.is_some())
        })
        .filter_map(|call| {
            Some(AcrAzCall {
                registry: call.registry.clone()?,
                action: call.repository_action.clone(),
                call: arm_az_call(config, located, process_env, found, call),
            })
        })
        .collect()
}

/// The identity `call` runs as: the Azure CLI session the last sign-in before it (on
/// its side of `sudo`) opened, an `azure/login` step's `client-id` or a script's
/// `az login --service-principal -u ID`, located at the call. `None` when there is no
/// such sign-in or its client id is not written.
fn session_identity(
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
    found: &Found,
    call: &AzCommand,
) -> Option<AzureLogin> {
    let own = own_client_id(located);
    let session = found.az.iter().rfind(|s| {
        s.login.is_some() && s.as_root == call.as_root && call.after(&s.step, &s.location)
    })?;
    let (written, value, how) = if session.what == "azure/login" {
        let step = located.job().steps.get(session.step.index)?;
        let input = step_input(config, located, process_env, step, "client-id")?;
        let written = input.written().to_string();
        let how = format!("`client-id: {written}`");
        (written, input.value, how)
    } else {
        let arg = session.sign_in_client()?;
        let how = format!("`az login … -u {}`", arg.quoted);
        (arg.written.clone(), arg.value.clone(), how)
    };
    let line = session.location.line.unwrap_or(session.step.line);
    Some(AzureLogin {
        step: call.step.clone(),
        location: call.location.clone(),
        same_client_id_input: own.as_deref() == Some(written.as_str()),
        client_id: Some(written),
        client_id_value: value,
        allow_no_subscriptions: false,
        managed_identity: false,
        session: Some(format!(
            "`{}` runs in the Azure CLI session that step `{}` (line {line}) opened with {how}",
            call.what, session.step.label
        )),
    })
}

/// Checks every `azure/login` step of the job; returns what the identity check needs
/// about them and the secret values written literally in them (to be masked).
pub(super) fn azure_logins(
    report: &mut CheckReport,
    config: &Config,
    located: &Located,
    process_env: &HashMap<String, String>,
) -> (Vec<AzureLogin>, Vec<String>) {
    let job = located.job();
    let path = &located.workflow.path;
    let own_client_id = own_client_id(located);
    let mut logins = Vec::new();
    let mut secrets = Vec::new();
    let mut unchecked_noted = false;
    for step in job
        .steps
        .iter()
        .filter(|s| s.action().as_deref() == Some("azure/login"))
    {
        let input = |name: &str| step_input(config, located, process_env, step, name);
        let uses = step.uses.as_ref().map(|u| u.start).unwrap_or(step.pos);
        let client_id = input("client-id");
        let auth_type = match input("auth-type") {
            None => Some("SERVICE_PRINCIPAL".to_string()),
            Some(i) => i.value.map(|v| v.trim().to_ascii_uppercase()),
        };
        // An expression that cannot be resolved is not judged.
        let allow_no_subscriptions = input("allow-no-subscriptions").is_some_and(|a| {
            a.value
                .as_deref()
                .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"))
        });
        logins.push(AzureLogin {
            allow_no_subscriptions,
            managed_identity: auth_type.as_deref() == Some("IDENTITY"),
            ..signs_in_as(path, step, client_id.as_ref(), own_client_id.as_deref())
        });

        if auth_type.as_deref() == Some("IDENTITY")
            && let Some(why) = github_hosted(config, job)
            && let Some(auth) = input("auth-type")
        {
            let written = |name: &str| {
                step.input(name)
                    .map(|t| t.value.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            let sign_in = IdentitySignIn {
                label: step.label(),
                how: format!(
                    "runs azure/login with `auth-type: IDENTITY` (line {}), that is `az login --identity`",
                    step.input_key("auth-type")
                        .map(|k| k.start.line)
                        .unwrap_or(step.pos.line)
                ),
                replace: "drop `auth-type: IDENTITY`",
                client: written("client-id"),
                tenant: written("tenant-id"),
                subscription: written("subscription-id"),
            };
            report.push(at(
                identity_on_hosted(config, job, sign_in, &why),
                path,
                auth.text.start,
            ));
        }
        let creds = input("creds");
        let mut creds_subscription = false;
        // azure/login stops before its subscription check (a `creds` that does not
        // parse, or a service principal without client and tenant).
        let mut stops_earlier = false;
        if let Some(creds) = &creds {
            let parsed = literal_creds(creds.text);
            if let Some(Ok(json)) = &parsed
                && let Some(secret) = json.get("clientSecret").and_then(|v| v.as_str())
                && !secret.is_empty()
            {
                secrets.push(secret.to_string());
            }
            let individual: Vec<&str> = ["client-id", "tenant-id", "subscription-id"]
                .into_iter()
                .filter(|n| input(n).is_some())
                .collect();
            match (&parsed, auth_type.as_deref()) {
                (Some(Err(e)), _) => {
                    stops_earlier = true;
                    report.push(at(creds_not_json(step, e), path, creds.text.start))
                }
                (_, Some("SERVICE_PRINCIPAL")) if !individual.is_empty() => {
                    let both = input("client-id").is_some() && input("tenant-id").is_some();
                    stops_earlier = !both;
                    report.push(at(
                        creds_ignored(step, &individual, both),
                        path,
                        creds.text.start,
                    ));
                }
                (Some(Ok(json)), Some("SERVICE_PRINCIPAL")) => {
                    let missing: Vec<&str> = CREDS_KEYS
                        .into_iter()
                        .filter(|k| {
                            json.get(*k)
                                .and_then(|v| v.as_str())
                                .is_none_or(|v| v.trim().is_empty())
                        })
                        .collect();
                    if !missing.is_empty() {
                        stops_earlier = true;
                        report.push(at(
                            creds_keys_missing(step, json, &missing),
                            path,
                            creds.text.start,
                        ));
                    }
                    creds_subscription = json
                        .get("subscriptionId")
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| !v.trim().is_empty());
                }
                // `creds` as an expression: its keys cannot be known here, and its
                // secret is checked only when acr-preflight was given it too.
                (None, Some("SERVICE_PRINCIPAL")) => {
                    creds_subscription = true;
                    if config.azure.client_secret.is_none() && !unchecked_noted {
                        unchecked_noted = true;
                        report.push(at(
                            creds_unchecked(step, creds.written()),
                            path,
                            creds.text.start,
                        ));
                    }
                }
                _ => {}
            }
        }
        let no_subscription = input("subscription-id").is_none()
            && !creds_subscription
            && auth_type.is_some()
            && !allow_no_subscriptions
            && !stops_earlier;
        if no_subscription {
            report.push(at(no_subscription_input(step), path, uses));
        }
    }
    (logins, secrets)
}

/// The `creds` JSON when it is written literally (no expression); `None` otherwise.
fn literal_creds(text: &Text) -> Option<Result<serde_json::Value, String>> {
    let raw = text.value.trim();
    (!raw.contains("${{")).then(|| crate::config::parse_creds(raw))
}

/// Why the job's runner is GitHub-hosted, when it is: `RUNNER_ENVIRONMENT` at run time
/// (it decides: a self-hosted runner may carry any label), else a `runs-on:` that
/// names only a GitHub-hosted image label.
pub(super) fn github_hosted(config: &Config, job: &Job) -> Option<String> {
    match config.env.runner_environment.as_deref() {
        Some("github-hosted") => {
            return Some("a GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted)".into());
        }
        Some(_) => return None,
        None => {}
    }
    let (key, node) = job.node.entry("runs-on")?;
    let labels: Vec<&str> = match &node.kind {
        Kind::Scalar(t) => vec![t.value.trim()],
        Kind::Seq(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(str::trim)
            .collect(),
        _ => return None,
    };
    match labels.as_slice() {
        [label] if hosted_label(label) => Some(format!(
            "`runs-on: {label}` (line {}), a GitHub-hosted runner image",
            key.start.line
        )),
        _ => None,
    }
}

/// A GitHub-hosted runner image label (https://docs.github.com/en/actions/reference/runners/github-hosted-runners):
/// `ubuntu-latest`, `ubuntu-24.04`, `ubuntu-24.04-arm`, `ubuntu-slim`, `windows-2025`,
/// `windows-11-arm`, `macos-15`, `macos-14-large`, `macos-latest-xlarge`, ….
fn hosted_label(label: &str) -> bool {
    let Some((os, rest)) = label.split_once('-') else {
        return false;
    };
    if !matches!(os, "ubuntu" | "windows" | "macos") {
        return false;
    }
    if matches!(rest, "slim" | "11-arm") {
        return true;
    }
    let (version, suffix) = match rest.split_once('-') {
        Some((v, s)) => (v, Some(s)),
        None => (rest, None),
    };
    let version_ok = version == "latest"
        || (!version.is_empty()
            && version
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())));
    version_ok && suffix.is_none_or(|s| matches!(s, "arm" | "large" | "xlarge" | "intel"))
}

/// A sign-in with the machine's managed identity, as [`identity_on_hosted`] names it.
struct IdentitySignIn {
    label: String,
    /// What the step runs, for the message (`runs \`az login --identity\` (line 14)`).
    how: String,
    /// What to replace in the fix (`drop \`auth-type: IDENTITY\``).
    replace: &'static str,
    client: Option<String>,
    tenant: Option<String>,
    subscription: Option<String>,
}

fn identity_on_hosted(
    config: &Config,
    job: &Job,
    sign_in: IdentitySignIn,
    why: &str,
) -> crate::findings::Finding {
    let client = sign_in
        .client
        .or_else(|| config.azure.client_id.clone())
        .unwrap_or_else(|| "<client id of the user-assigned identity>".into());
    let tenant = sign_in
        .tenant
        .or_else(|| config.azure.tenant_id.clone())
        .unwrap_or_else(|| "<tenant-id>".into());
    let subscription = sign_in
        .subscription
        .or_else(|| config.azure.subscription_id.clone())
        .unwrap_or_else(|| "<subscription-id>".into());
    let repository = config.env.repository.as_deref().unwrap_or("<owner>/<repo>");
    let subject = match job.environment.as_ref().and_then(|e| e.name.as_ref()) {
        Some(env) => format!("repo:{repository}:environment:{}", env.value.trim()),
        None => format!(
            "repo:{repository}:ref:{}",
            config.env.git_ref.as_deref().unwrap_or("refs/heads/main")
        ),
    };
    finding(
        Code::WORKFLOW_AZURE_LOGIN_IDENTITY,
        Severity::Error,
        format!(
            "step `{}` signs in with a managed identity, which a GitHub-hosted runner does not have",
            sign_in.label
        ),
        format!(
            "Step `{}` {}, which asks the machine's Azure Instance Metadata Service (169.254.169.254) for a token. Job `{}` runs on {why}: GitHub-hosted runners, larger runners included, are not Azure resources an identity can be assigned to, so there is no managed identity and the login fails (\"Failed to connect to MSI. Please make sure MSI is configured correctly.\"). A user-assigned identity is usable from a GitHub-hosted runner only through a federated credential (OIDC).",
            sign_in.label, sign_in.how, job.id.value
        ),
        format!(
            "Sign in as the same user-assigned identity with OIDC: give it a federated credential for this workflow, then {} and give azure/login its ids:\naz identity federated-credential create --name github-actions --identity-name <identity-name> --resource-group <resource-group> --issuer https://token.actions.githubusercontent.com --subject {subject} --audiences api://AzureADTokenExchange\npermissions:\n  id-token: write\n  contents: read\nsteps:\n  - uses: azure/login@v2\n    with:\n      client-id: {client}\n      tenant-id: {tenant}\n      subscription-id: {subscription}\nOr run the job on a self-hosted runner on an Azure VM or scale set that has the identity assigned.",
            sign_in.replace
        ),
    )
}

/// The sign-ins of scripts (`az login` in a `run:` step) that cannot work: `--identity`
/// on a GitHub-hosted runner (P14), and a `-u`/`--username` whose value is an empty
/// `env` variable (az stops with `argument --username/-u: expected one argument`).
pub(super) fn script_sign_ins(
    report: &mut CheckReport,
    config: &Config,
    located: &Located,
    found: &Found,
) {
    let job = located.job();
    let path = &located.workflow.path;
    let hosted = github_hosted(config, job);
    for az in found.az.iter().filter(|a| a.what == "az login") {
        let line = az.location.line.unwrap_or(az.step.line);
        if az.identity
            && let Some(why) = &hosted
        {
            let sign_in = IdentitySignIn {
                label: az.step.label.clone(),
                how: format!("runs `az login --identity` (line {line})"),
                replace: "replace `az login --identity` with azure/login",
                client: az
                    .username
                    .as_ref()
                    .and_then(|u| u.value.clone())
                    .filter(|v| !v.is_empty()),
                tenant: None,
                subscription: None,
            };
            report.push(identity_on_hosted(config, job, sign_in, why).at(
                path,
                az.location.line,
                az.location.column,
            ));
        }
        if let Some(user) = &az.username
            && user.value.as_deref().is_some_and(|v| v.trim().is_empty())
            && let Some(empty) = user.empty.first()
        {
            report.push(empty_username(path, az, user, empty, line));
        }
    }
}

/// WORKFLOW_EMPTY_VARIABLE for `az login -u "$NAME"` whose variable is empty.
fn empty_username(
    path: &str,
    az: &crate::workflow::discover::AzCommand,
    user: &crate::workflow::discover::AzArg,
    empty: &crate::workflow::expr::EmptyVar,
    line: u32,
) -> crate::findings::Finding {
    let name = &empty.name;
    let (at_line, at_column, set) = match empty.defined {
        Some(pos) => (
            Some(pos.line),
            Some(pos.column),
            format!("its `env:` entry at line {}", pos.line),
        ),
        None => (
            az.location.line,
            az.location.column,
            "no `env:` block of the workflow sets it".to_string(),
        ),
    };
    let role = if az.identity {
        "the managed identity's client id"
    } else {
        "the service principal's client id"
    };
    finding(
        Code::WORKFLOW_EMPTY_VARIABLE,
        Severity::Error,
        format!("`{name}` is empty, so `az login` at line {line} gets no username"),
        format!(
            "Step `{}` runs `az login` with `-u {}` (line {line}), meant to be {role}, and `{name}` is empty ({set}). Unquoted, the empty word disappears and az stops with `argument --username/-u: expected one argument`; quoted, az is given an empty client id and the sign-in fails.",
            az.step.label, user.quoted
        ),
        format!(
            "Give `{name}` its value (the client id, e.g. `{name}: ${{{{ vars.{name} }}}}` with the repository variable defined under Settings → Secrets and variables → Actions → Variables)."
        ),
    )
    .at(path, at_line, at_column)
}

fn creds_not_json(step: &Step, why: &str) -> crate::findings::Finding {
    finding(
        Code::WORKFLOW_AZURE_LOGIN_INPUTS,
        Severity::Error,
        format!("the `creds` of step `{}` is not a JSON object", step.label()),
        format!(
            "Step `{}` gives azure/login a `creds` written in the workflow, not as a secret, and it does not parse as JSON ({why}). azure/login parses `creds` first whatever else is given (`JSON.parse`), so the step fails before it signs in. The value is not shown here.",
            step.label()
        ),
        "Keep the service principal's JSON in a repository secret and pass it as `creds: ${{ secrets.AZURE_CREDENTIALS }}`, with the keys clientId, clientSecret, tenantId and subscriptionId; a client secret written in the workflow file is readable by everyone who can read the repository, so reset it: az ad app credential reset --id <client-id> --append. Better: drop the secret and sign in with OIDC (`client-id`, `tenant-id`, `subscription-id`, job `permissions: id-token: write`).".into(),
    )
}

/// WORKFLOW_AZURE_CREDS_UNCHECKED: the step's `creds` is a secret this step cannot
/// read; the same secret given to acr-preflight would be proven by a token request.
fn creds_unchecked(step: &Step, written: &str) -> crate::findings::Finding {
    // One expression, as written (`${{ secrets.X }}`); anything longer is not repeated.
    let written = written.trim();
    let written = if written.starts_with("${{")
        && written.ends_with("}}")
        && written.matches("${{").count() == 1
        && written.len() <= 200
        && !written.contains(char::is_control)
    {
        written.to_string()
    } else {
        "${{ secrets.AZURE_CREDENTIALS }}".to_string()
    };
    finding(
        Code::WORKFLOW_AZURE_CREDS_UNCHECKED,
        Severity::Notice,
        format!(
            "the `creds` secret of step `{}` cannot be checked",
            step.label()
        ),
        format!(
            "Step `{}` signs in with `creds: {written}`, a client secret this step is not given: a step reads only the secrets passed to it, so whether the JSON has the keys azure/login reads (clientId, clientSecret, tenantId) and whether Entra still accepts the secret (AADSTS7000215 for a wrong one, AADSTS7000222 for an expired one) is found out only when azure/login runs.",
            step.label()
        ),
        format!(
            "Give acr-preflight the same secret, in its step's `with:`:\n    azure-credentials: {written}\nIt then signs in with that client secret as azure/login will, and a broken JSON, a missing key, a secret ID in place of the value or a refused secret fails this step instead."
        ),
    )
}

fn creds_keys_missing(
    step: &Step,
    json: &serde_json::Value,
    missing: &[&str],
) -> crate::findings::Finding {
    let present: Vec<String> = json
        .as_object()
        .map(|o| o.keys().map(|k| format!("`{k}`")).collect())
        .unwrap_or_default();
    let list = |keys: &[&str]| {
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    finding(
        Code::WORKFLOW_AZURE_LOGIN_INPUTS,
        Severity::Error,
        format!(
            "the `creds` of step `{}` lacks {}",
            step.label(),
            list(missing)
        ),
        format!(
            "Step `{}` gives azure/login a `creds` JSON written in the workflow whose keys are {}; {} {} missing or empty. azure/login then fails with \"Not all parameters are provided in 'creds'. Double-check if all keys are defined in 'creds': 'clientId', 'clientSecret', 'tenantId'.\" (The output of the retired `az ad sp create-for-rbac --sdk-auth` had these keys; its newer output names them appId, password and tenant.) Values are not shown here.",
            step.label(),
            if present.is_empty() { "none".to_string() } else { present.join(", ") },
            list(missing),
            if missing.len() == 1 { "is" } else { "are" }
        ),
        "Write the JSON with the keys azure/login reads, keep it in a repository secret and pass `creds: ${{ secrets.AZURE_CREDENTIALS }}`:\n{\"clientId\": \"<appId>\", \"clientSecret\": \"<password>\", \"tenantId\": \"<tenant>\", \"subscriptionId\": \"<subscription-id>\"}\nA client secret written in the workflow file is readable by everyone who can read the repository: reset it (az ad app credential reset --id <client-id> --append). Better: sign in with OIDC (`client-id`, `tenant-id`, `subscription-id`, job `permissions: id-token: write`).".into(),
    )
}

fn creds_ignored(step: &Step, individual: &[&str], both: bool) -> crate::findings::Finding {
    let names = individual
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let (severity, outcome) = if both {
        (
            Severity::Warning,
            "It then signs in with `client-id` and `tenant-id` and no secret, which is OIDC: it needs `permissions: id-token: write` and a federated credential on the app for this workflow, and the client secret in `creds` is never used.",
        )
    } else {
        (
            Severity::Error,
            "Without both `client-id` and `tenant-id` it then fails with \"Using auth-type: SERVICE_PRINCIPAL. Not all values are present. Ensure 'client-id' and 'tenant-id' are supplied.\"",
        )
    };
    finding(
        Code::WORKFLOW_AZURE_LOGIN_INPUTS,
        severity,
        format!(
            "step `{}` gives azure/login both `creds` and {names}, so `creds` is ignored",
            step.label()
        ),
        format!(
            "Step `{}` gives azure/login `creds` and {names}. When any of `client-id`, `tenant-id` or `subscription-id` is set, azure/login warns \"At least one of the parameters 'client-id', 'subscription-id' or 'tenant-id' is set. 'creds' will be ignored.\" and reads nothing from `creds`. {outcome}",
            step.label()
        ),
        "Use one style. For OIDC (recommended) remove `creds` and keep `client-id`, `tenant-id` and `subscription-id`, with `permissions: id-token: write` on the job. For a client secret, remove `client-id`, `tenant-id` and `subscription-id` and keep `creds: ${{ secrets.AZURE_CREDENTIALS }}` with clientId, clientSecret, tenantId and subscriptionId in the JSON.".into(),
    )
}

fn no_subscription_input(step: &Step) -> crate::findings::Finding {
    finding(
        Code::WORKFLOW_AZURE_LOGIN_INPUTS,
        Severity::Error,
        format!(
            "step `{}` gives azure/login no subscription and no `allow-no-subscriptions: true`",
            step.label()
        ),
        format!(
            "Step `{}` runs azure/login without `subscription-id` (nor a subscriptionId in `creds`) and without `allow-no-subscriptions: true`. azure/login refuses that before signing in: \"Ensure 'subscription-id' is supplied or 'allow-no-subscriptions' is 'true'.\"",
            step.label()
        ),
        "Give the subscription that holds the registry, `subscription-id: ${{ secrets.AZURE_SUBSCRIPTION_ID }}`, or, when the identity holds roles only on the registry (no subscription is listed for it), `allow-no-subscriptions: true`.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_labels_are_told_from_others() {
        for hosted in [
            "ubuntu-latest",
            "ubuntu-24.04",
            "ubuntu-24.04-arm",
            "ubuntu-slim",
            "windows-2025",
            "windows-11-arm",
            "macos-14-large",
            "macos-latest-xlarge",
        ] {
            assert!(hosted_label(hosted), "{hosted}");
        }
        for other in [
            "self-hosted",
            "ubuntu",
            "ubuntu-",
            "my-runner",
            "ubuntu-latest-gpu",
            "${{ matrix.os }}",
            "windows-x",
        ] {
            assert!(!hosted_label(other), "{other}");
        }
    }

    #[test]
    fn literal_creds_errors_never_quote_the_value() {
        let text = Text::at(
            "{\"clientSecret\": \"s3cr3t-value\" \"x\"}",
            crate::workflow::Pos::new(1, 1),
        );
        let Some(Err(e)) = literal_creds(&text) else {
            panic!("not an error");
        };
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(e.contains("line 1 column"), "{e}");
        let expr = Text::at(
            "${{ secrets.AZURE_CREDENTIALS }}",
            crate::workflow::Pos::new(1, 1),
        );
        assert!(literal_creds(&expr).is_none());
    }
}
