//! ID_CLI_VERSION, built in one place for both checks that meet it: the identity check
//! (an Azure CLI session already signed in with a federated token) and the workflow
//! check (an OIDC sign-in by a step of the job, followed by az calls). P13.

use crate::azure::cli_install::Installed;
use crate::findings::{CheckId, Code, Finding, Severity};

/// ID_CLI_VERSION: `at` says which call of which session it hits.
pub(crate) fn version_finding(check: CheckId, installed: &Installed, at: &str) -> Finding {
    Finding::new(
        check,
        Code::ID_CLI_VERSION,
        Severity::Warning,
        format!(
            "Azure CLI {} cannot keep an OIDC sign-in for more than 5 minutes",
            installed.version
        ),
        format!(
            "The Azure CLI on PATH ({}) is version {} (its azure_cli dist-info). This release ignores its token cache for service principals and asks Entra again on every command with the federated token it was given, so every az command fails with \"AADSTS700024: Client assertion is not within its valid time range\" once GitHub's ID token is 5 minutes old (azure-cli#28737, fixed in 2.60.0). {at}.",
            installed.az.display(),
            installed.version
        ),
        "Upgrade the Azure CLI on the runner: az upgrade --yes (or `sudo apt-get install --only-upgrade azure-cli`; on a self-hosted runner pin a fixed release, such as `azure-cli=2.60.0-1~$(lsb_release -cs)`, or any later one). With azure/cli, set `azcliversion:` to 2.60.0 or later.",
    )
}
