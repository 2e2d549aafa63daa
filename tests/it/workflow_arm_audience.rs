//! WORKFLOW_ARM_AUDIENCE_TOKEN end to end: a job whose `run:` step logs in to
//! myreg.azurecr.io with `az account get-access-token` (the ARM audience by default),
//! while ARM (the fake at management.azure.com) says the registry's
//! `azureADAuthenticationAsArmPolicy` is disabled.

use crate::identity::{
    CLIENT_ID, OBJECT_ID, Run, SUB, World, job_env, job_workspace, run_config, world_with,
};
use crate::support::azure::Role;

const WORKFLOW: &str = ".github/workflows/build.yml";

/// Runs the binary in a workspace whose job logs in with `token_command`'s output.
fn job_run(w: &World, token_command: &str) -> Run {
    let workspace = job_workspace(&format!(
        "      - name: Log in to ACR
        run: docker login myreg.azurecr.io -u 00000000-0000-0000-0000-000000000000 -p \"$({token_command})\"
      - run: docker buildx build --push -t myreg.azurecr.io/team/app:1 .
"
    ));
    let ws = workspace.path().to_str().unwrap().to_string();
    run_config(
        w,
        true,
        &job_env(&ws),
        &["--client-id", CLIENT_ID],
        Some("{}"),
    )
}

fn registry(arm_audience: bool) -> World {
    let w = world_with(false, |r| r.arm_audience_tokens(arm_audience));
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    // ARM read, so the run learns the registry's policy.
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{SUB}"));
    w
}

const ARM_TOKEN: &str = "az account get-access-token --query accessToken -o tsv";

#[test]
fn an_arm_audience_login_to_a_registry_that_refuses_it_is_an_error_at_its_step() {
    let w = registry(false);
    let r = job_run(&w, ARM_TOKEN);
    let f = r.only("WORKFLOW_ARM_AUDIENCE_TOKEN");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        "step `Log in to ACR` gives myreg.azurecr.io an ARM-audience token, which the registry refuses"
    );
    assert_eq!(f["file"], WORKFLOW);
    assert_eq!(f["line"], 11);
    assert_eq!(
        f["column"], 90,
        "the `az` of `$(az account get-access-token …)`"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`{ARM_TOKEN}` ({WORKFLOW}:11)"))
            && message.contains("docker login on myreg.azurecr.io")
            && message.contains("azureADAuthenticationAsArmPolicy.status: disabled"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("az account get-access-token --resource https://containerregistry.azure.net --query accessToken -o tsv")
            && fix.contains("az acr config authentication-as-arm update -r myreg --status enabled"),
        "{fix}"
    );
    assert_eq!(r.status, 1);
}

#[test]
fn the_acr_audience_or_a_registry_that_takes_arm_tokens_passes() {
    // The ACR audience asked for explicitly: accepted in both policy states.
    let w = registry(false);
    let r = job_run(
        &w,
        "az account get-access-token --resource https://containerregistry.azure.net --query accessToken -o tsv",
    );
    assert!(
        !r.codes()
            .contains(&"WORKFLOW_ARM_AUDIENCE_TOKEN".to_string()),
        "{:#}",
        r.json
    );
    // The default (enabled) policy: the ARM-audience login works.
    let w = registry(true);
    let r = job_run(&w, ARM_TOKEN);
    assert!(
        !r.codes()
            .contains(&"WORKFLOW_ARM_AUDIENCE_TOKEN".to_string()),
        "{:#}",
        r.json
    );
}
