//! Entra tokens a `run:` script gets with the Azure CLI's default audience and hands to
//! a registry. `az account get-access-token` without `--resource`/`--scope` returns a
//! token for Azure Resource Manager (Azure/acr `docs/AAD-OAuth.md`: "By default, the
//! returned access token is for Azure Resource Manager (ARM)";
//! https://learn.microsoft.com/cli/azure/account#az-account-get-access-token). A
//! registry whose `azureADAuthenticationAsArmPolicy` is `disabled` accepts only tokens
//! with the ACR audience, `https://containerregistry.azure.net` (Learn,
//! https://learn.microsoft.com/azure/container-registry/container-registry-disable-authentication-as-arm).
//!
//! A script counts when it gets such a token and gives that token to a registry: ACR's
//! `/oauth2/exchange` (the scripted flow of `AAD-OAuth.md`) or a registry login
//! (`docker login`, `podman`/`buildah`/`nerdctl`/`oras`/`skopeo`/`notation login`,
//! `helm registry login`, `crane auth login`), through `$(…)`, a variable assigned from
//! it, or a pipe into `--password-stdin`. Commands inside `$(…)` count.

use super::shell::{self, Command, Dialect, Part, Word};
use std::ops::Range;

/// The ACR audience's resource name, as azure-cli builds it
/// (`https://containerregistry.azure.net`).
const ACR_AUDIENCE_MARK: &str = "containerregistry";

/// Nested `$(…)` levels read.
const MAX_DEPTH: usize = 3;

/// A script that presents an ARM-audience token to a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmTokenUse {
    /// The `az account get-access-token` command (script bytes).
    pub at: Range<usize>,
    /// The command as written (shortened), for messages.
    pub command: String,
    /// What receives the token: `ACR's /oauth2/exchange`, `docker login`, …
    pub handed_to: String,
    /// The registry host it goes to, when written literally.
    pub registry: Option<String>,
}

/// One command with its words' offsets in the whole script.
struct Flat {
    words: Vec<(Option<String>, Range<usize>)>,
    /// Variables its words read (`$T`, `${T}`).
    vars: Vec<String>,
    /// Variables its words assign (`T=…`).
    assigns: Vec<String>,
    /// The commands inside its `$(…)` (indices).
    inner: Vec<usize>,
    /// Written at the top level of the script (not inside `$(…)`).
    top: bool,
}

/// Pushes the script's commands (inner ones first) and returns the indices of those at
/// this level.
fn flatten(
    script: &str,
    base: usize,
    dialect: Dialect,
    depth: usize,
    out: &mut Vec<Flat>,
) -> Vec<usize> {
    let mut level = Vec::new();
    for Command { words, .. } in shell::parse(script, dialect) {
        let mut inner = Vec::new();
        let mut vars = Vec::new();
        let mut assigns = Vec::new();
        for w in &words {
            inner.extend(nested(script, base, dialect, depth, w, out));
            for part in &w.parts {
                if let Part::Var { name, .. } = part {
                    vars.push(name.clone());
                }
            }
            let prefix = w.literal_prefix();
            if let Some((name, _)) = prefix.split_once('=')
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                assigns.push(name.to_string());
            }
        }
        level.push(out.len());
        out.push(Flat {
            words: words
                .iter()
                .map(|w| (w.literal(), base + w.raw.start..base + w.raw.end))
                .collect(),
            vars,
            assigns,
            inner,
            top: depth == 0,
        });
    }
    level
}

/// The commands inside a word's `$(…)`.
fn nested(
    script: &str,
    base: usize,
    dialect: Dialect,
    depth: usize,
    w: &Word,
    out: &mut Vec<Flat>,
) -> Vec<usize> {
    let mut found = Vec::new();
    if depth >= MAX_DEPTH {
        return found;
    }
    for part in &w.parts {
        let Part::Opaque { raw, .. } = part else {
            continue;
        };
        let Some(text) = script.get(raw.clone()) else {
            continue;
        };
        let (inner, skip) = if let Some(t) = text.strip_prefix("$(") {
            (t.strip_suffix(')').unwrap_or(t), 2)
        } else if let Some(t) = text.strip_prefix('`') {
            (t.strip_suffix('`').unwrap_or(t), 1)
        } else {
            continue;
        };
        found.extend(flatten(
            inner,
            base + raw.start + skip,
            dialect,
            depth + 1,
            out,
        ));
    }
    found
}

/// Whether command `i` is, or runs inside its `$(…)`, an ARM-audience token request.
fn carries(script: &str, commands: &[Flat], i: usize, depth: usize) -> bool {
    let Some(c) = commands.get(i) else {
        return false;
    };
    arm_token(script, c).is_some()
        || (depth < MAX_DEPTH
            && c.inner
                .iter()
                .any(|&j| carries(script, commands, j, depth + 1)))
}

/// The first ARM-audience token the script hands to a registry: a login or exchange
/// command that runs the token request inside its `$(…)`, reads a variable assigned
/// from it, or takes `--password-stdin` right after a command that does.
pub fn arm_token_use(script: &str, dialect: Dialect) -> Option<ArmTokenUse> {
    let mut commands = Vec::new();
    flatten(script, 0, dialect, 0, &mut commands);
    let token = commands.iter().find_map(|c| arm_token(script, c))?;
    let carrying: Vec<bool> = (0..commands.len())
        .map(|i| carries(script, &commands, i, 0))
        .collect();
    let token_vars: Vec<&String> = commands
        .iter()
        .zip(&carrying)
        .filter(|(_, carries)| **carries)
        .flat_map(|(c, _)| c.assigns.iter())
        .collect();
    let uses = |i: usize| {
        let c = &commands[i];
        carrying[i] || c.vars.iter().any(|v| token_vars.contains(&v))
    };
    let mut previous_top: Option<usize> = None;
    for (i, c) in commands.iter().enumerate() {
        let handed = login(c).or_else(|| exchange(script, c));
        if let Some((handed_to, registry)) = handed {
            let stdin = c
                .words
                .iter()
                .any(|(l, _)| l.as_deref() == Some("--password-stdin"));
            if uses(i) || (stdin && previous_top.is_some_and(uses)) {
                return Some(ArmTokenUse {
                    handed_to,
                    registry,
                    ..token
                });
            }
        }
        if c.top {
            previous_top = Some(i);
        }
    }
    None
}

fn lit(c: &Flat, k: usize) -> &str {
    c.words
        .get(k)
        .and_then(|(l, _)| l.as_deref())
        .unwrap_or_default()
}

/// `az account get-access-token` with the default (ARM) audience, or an explicit ARM
/// one. A `--resource`/`--scope` value that is not literal is not judged.
fn arm_token(script: &str, c: &Flat) -> Option<ArmTokenUse> {
    let p = (0..c.words.len()).find(|&k| {
        lit(c, k) == "az" && lit(c, k + 1) == "account" && lit(c, k + 2) == "get-access-token"
    })?;
    let mut k = p + 3;
    while k < c.words.len() {
        let word = lit(c, k);
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word, None),
        };
        if matches!(name, "--resource" | "--scope" | "--resource-type") {
            let value = match inline {
                Some(v) => Some(v),
                None => {
                    k += 1;
                    c.words.get(k).and_then(|(l, _)| l.as_deref())
                }
            };
            match value {
                Some(v) if v.to_ascii_lowercase().contains(ACR_AUDIENCE_MARK) => return None,
                Some(_) => {}
                None => return None,
            }
        }
        k += 1;
    }
    let start = c.words.get(p)?.1.start;
    let end = c.words.last()?.1.end;
    let command = script
        .get(start..end)
        .map(|s| crate::registry::wire::shorten(s.lines().next().unwrap_or(s).trim(), 120))
        .unwrap_or_default();
    Some(ArmTokenUse {
        at: start..end,
        command,
        handed_to: String::new(),
        registry: None,
    })
}

/// A registry login command and the registry it names, when literal.
fn login(c: &Flat) -> Option<(String, Option<String>)> {
    let tools = [
        "docker", "podman", "buildah", "nerdctl", "oras", "skopeo", "notation",
    ];
    let (what, from) = (0..c.words.len()).find_map(|k| {
        let program = lit(c, k).rsplit('/').next().unwrap_or_default();
        match (program, lit(c, k + 1), lit(c, k + 2)) {
            (t, "login", _) if tools.contains(&t) => Some((format!("{t} login"), k + 2)),
            ("helm", "registry", "login") => Some(("helm registry login".to_string(), k + 3)),
            ("crane", "auth", "login") => Some(("crane auth login".to_string(), k + 3)),
            _ => None,
        }
    })?;
    let takes_value = ["-u", "--username", "-p", "--password"];
    let mut k = from;
    let mut registry = None;
    while k < c.words.len() {
        let word = lit(c, k);
        if takes_value.contains(&word) {
            k += 2;
            continue;
        }
        if !word.starts_with('-') {
            registry = (!word.is_empty()).then(|| host_of(word));
            break;
        }
        k += 1;
    }
    Some((what, registry))
}

/// A command with a word naming `…/oauth2/exchange`, with its host when literal.
fn exchange(script: &str, c: &Flat) -> Option<(String, Option<String>)> {
    let written = c
        .words
        .iter()
        .filter_map(|(_, raw)| script.get(raw.clone()))
        .find(|w| w.contains("/oauth2/exchange"))?;
    let written = written.trim_matches(['"', '\'']);
    let host = written
        .strip_prefix("https://")
        .and_then(|rest| rest.split("/oauth2/exchange").next())
        .filter(|h| !h.is_empty() && !h.contains(['$', '{', '}']))
        .map(host_of);
    Some(("ACR's /oauth2/exchange".to_string(), host))
}

fn host_of(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_prefix("https://").unwrap_or(&v);
    v.split('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(script: &str) -> Option<ArmTokenUse> {
        arm_token_use(script, Dialect::Posix)
    }

    #[test]
    fn the_default_audience_handed_to_a_login_or_the_exchange_counts() {
        let s = "docker login myreg.azurecr.io -u 00000000-0000-0000-0000-000000000000 -p \"$(az account get-access-token --query accessToken -o tsv)\"";
        let u = found(s).unwrap();
        assert_eq!(u.handed_to, "docker login");
        assert_eq!(u.registry.as_deref(), Some("myreg.azurecr.io"));
        assert_eq!(
            &s[u.at.clone()],
            "az account get-access-token --query accessToken -o tsv"
        );

        let s = "AAD=$(az account get-access-token --query accessToken -o tsv)\ncurl -s -X POST https://myreg.azurecr.io/oauth2/exchange -d \"access_token=$AAD\"";
        let u = found(s).unwrap();
        assert_eq!(u.handed_to, "ACR's /oauth2/exchange");
        assert_eq!(u.registry.as_deref(), Some("myreg.azurecr.io"));
    }

    #[test]
    fn the_acr_audience_an_unknown_one_or_no_registry_use_does_not() {
        assert!(found("docker login r.azurecr.io -u x -p $(az account get-access-token --resource https://containerregistry.azure.net --query accessToken -o tsv)").is_none());
        assert!(found("T=$(az account get-access-token --scope=https://containerregistry.azure.net/.default -o tsv)\noras login r.azurecr.io -p $T").is_none());
        assert!(
            found("T=$(az account get-access-token --resource \"$AUD\")\ndocker login r -p $T")
                .is_none()
        );
        assert!(found("az account get-access-token -o tsv > t.txt").is_none());
        // A token for something else, and a login with its own password.
        assert!(found("T=$(az account get-access-token --query accessToken -o tsv)\ncurl -H \"Authorization: Bearer $T\" https://management.azure.com/x\ndocker login r.azurecr.io -u u -p \"$PASS\"").is_none());
        let u = found("az account get-access-token --query accessToken -o tsv | docker login r.azurecr.io -u 00000000-0000-0000-0000-000000000000 --password-stdin").unwrap();
        assert_eq!(u.registry.as_deref(), Some("r.azurecr.io"));
        let u = found("T=$(az account get-access-token --resource-type arm)\nhelm registry login r.azurecr.io -p $T").unwrap();
        assert_eq!(u.handed_to, "helm registry login");
    }
}
