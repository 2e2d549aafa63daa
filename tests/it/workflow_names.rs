//! Issue 13, names: every reference a build step gives is parsed with the reference
//! grammar where it is written (tests/fixtures/workflows/names.yml, one job a case),
//! through the real binary as the runner starts it: registry cache references, tags
//! that are not pushed, named build contexts, and capitals an expression supplies.

use crate::workflow_precision::{find, findings, position, run};
use serde_json::Value;

const WORKFLOW: &str = include_str!("../fixtures/workflows/names.yml");

fn job(id: &str) -> Value {
    let r = run(
        WORKFLOW,
        id,
        &[("auth-mode", "anonymous")],
        &[("GITHUB_REPOSITORY", "Octo/Shop")],
    );
    assert!(!r.report.is_null(), "{}", r.stdout);
    r.report
}

/// The REF_INVALID finding about `reference` (named in its title).
fn invalid<'a>(report: &'a Value, reference: &str) -> &'a Value {
    let shown = format!("`{reference}` is not a valid image reference");
    findings(report)
        .into_iter()
        .find(|f| {
            f["code"] == "REF_INVALID" && f["title"].as_str().is_some_and(|t| t.ends_with(&shown))
        })
        .unwrap_or_else(|| panic!("no REF_INVALID about {reference}: {report}"))
}

fn at(f: &Value) -> (u64, u64) {
    (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap())
}

#[test]
fn a_registry_cache_reference_with_capitals_is_invalid_where_it_is_written() {
    let report = job("cache");
    let f = invalid(&report, "myreg.azurecr.io/App:buildcache");
    assert_eq!(f["severity"], "error");
    assert_eq!(at(f), position(WORKFLOW, "myreg.azurecr.io/App:buildcache"));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("repository name (App) must be lowercase"),
        "{message}"
    );
    assert!(message.contains("cache reference"), "{message}");
    assert_eq!(
        f["fix"],
        "Write `myreg.azurecr.io/app:buildcache` instead of `myreg.azurecr.io/App:buildcache`."
    );
    // `type=gha` names no registry, and the valid cache-to is not reported.
    let all: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["code"] == "REF_INVALID")
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
}

#[test]
fn an_unpushed_tag_and_a_bare_cache_from_are_parsed_too() {
    let report = job("unpushed");
    let tag = invalid(&report, "app:feature+x");
    assert_eq!(at(tag), position(WORKFLOW, "app:feature+x"));
    let message = tag["message"].as_str().unwrap();
    assert!(message.contains("does not push it"), "{message}");
    assert!(message.contains("invalid reference format"), "{message}");
    let cache = invalid(&report, "myreg.azurecr.io/Cache");
    assert_eq!(at(cache), position(WORKFLOW, "myreg.azurecr.io/Cache"));
    assert_eq!(
        cache["fix"],
        "Write `myreg.azurecr.io/cache` instead of `myreg.azurecr.io/Cache`."
    );
}

#[test]
fn a_named_build_context_with_a_bad_reference_is_invalid_and_a_layout_is_not_a_reference() {
    let report = job("contexts");
    let f = invalid(&report, "docker-image://myreg.azurecr.io/Base:v1");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        at(f),
        position(WORKFLOW, "docker-image://myreg.azurecr.io/Base:v1")
    );
    assert_eq!(
        f["fix"],
        "Write `docker-image://myreg.azurecr.io/base:v1` instead of `docker-image://myreg.azurecr.io/Base:v1`."
    );
    let all = findings(&report)
        .into_iter()
        .filter(|f| f["code"] == "REF_INVALID")
        .count();
    assert_eq!(all, 1, "oci-layout:// is a directory: {report}");
}

#[test]
fn capitals_from_an_expression_name_the_expression_and_its_lower_casing() {
    let report = job("expression");
    let f = invalid(&report, "ghcr.io/Octo/Shop:1");
    assert_eq!(
        at(f),
        position(WORKFLOW, "ghcr.io/${{ github.repository }}:1")
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("comes from `${{ github.repository }}`, which is `Octo/Shop` in this run"),
        "{message}"
    );
    assert_eq!(
        f["fix"],
        "Lower-case it before the build: add a step before step `docker/build-push-action@v6` that runs `echo \"IMAGE=ghcr.io/${GITHUB_REPOSITORY,,}\" >> \"$GITHUB_ENV\"` (bash's `${NAME,,}` lower-cases) and write `${{ env.IMAGE }}:1` in tags; or generate the tags with docker/metadata-action (`images: ghcr.io/${{ github.repository }}`), which lower-cases the image name."
    );
}

/// A pushed tag is the reference check's (it stands in for --push): its REF_INVALID gets
/// the same expression and fix, once.
#[test]
fn a_pushed_tag_from_an_expression_gets_the_same_fix_from_the_reference_check() {
    let report = job("expression-push");
    let reference = "ghcr.io/Octo/Shop:0123456789abcdef0123456789abcdef01234567";
    let f = invalid(&report, reference);
    assert_eq!(f["check"], "reference");
    assert_eq!(
        at(f),
        position(
            WORKFLOW,
            "ghcr.io/${{ github.repository }}:${{ github.sha }}"
        )
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("`echo \"IMAGE=ghcr.io/${GITHUB_REPOSITORY,,}\" >> \"$GITHUB_ENV\"`"),
        "{fix}"
    );
    assert!(
        fix.contains("`${{ env.IMAGE }}:${{ github.sha }}`"),
        "{fix}"
    );
    let count = findings(&report)
        .into_iter()
        .filter(|f| f["code"] == "REF_INVALID")
        .count();
    assert_eq!(count, 1, "{report}");
    assert!(find(&report, "REF_INVALID").is_some());
}

/// Issue 13, platforms: a named context read by a build that asks for platforms, on the
/// real registry: an OCI index with linux/amd64 and linux/arm64, or (`single`) one
/// linux/amd64 image. `platforms` empty: the build asks for none.
fn platforms_run(platforms: &str) -> (crate::workflow_precision::Run, String) {
    context_run(platforms, false)
}

/// A build that reads `docker-image://<host>/team/base:v1` as the named context `base`,
/// for these platforms (none when empty).
pub(crate) fn context_workflow(host: &str, platforms: &str) -> String {
    let platforms = if platforms.is_empty() {
        String::new()
    } else {
        format!("\n          platforms: {platforms}")
    };
    format!(
        "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - uses: docker/build-push-action@v6
        with:
          build-contexts: base=docker-image://{host}/team/base:v1{platforms}
          push: false
"
    )
}

fn context_run(platforms: &str, single: bool) -> (crate::workflow_precision::Run, String) {
    let registry = crate::support::registry::TestRegistry::start_blocking(
        crate::support::registry::Kind::Plain,
    );
    crate::support::block_on(async {
        let publisher = crate::support::fixtures::Publisher::new(&registry.url());
        if single {
            publisher.single_image("team/base", "v1").await
        } else {
            publisher.oci_index("team/base", "v1").await
        }
    });
    let workflow = context_workflow(&registry.host(), platforms);
    let r = run(&workflow, "build", &[("auth-mode", "anonymous")], &[]);
    (r, workflow)
}

#[test]
fn a_context_index_without_a_requested_platform_lists_what_it_has() {
    let (r, workflow) = platforms_run("linux/amd64,linux/s390x");
    let f = find(&r.report, "CONTEXT_PLATFORM_MISSING")
        .unwrap_or_else(|| panic!("no CONTEXT_PLATFORM_MISSING:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    assert_eq!(f["check"], "registry");
    let title = f["title"].as_str().unwrap();
    assert!(title.ends_with("has no image for linux/s390x"), "{title}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("builds for linux/amd64, linux/s390x (line 11)"),
        "{message}"
    );
    assert!(
        message.contains("image index for linux/amd64, linux/arm64 only"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("`platforms: linux/amd64`"), "{fix}");
    assert!(
        fix.contains("--platform linux/amd64,linux/arm64,linux/s390x --push"),
        "{fix}"
    );
    // Located at the context, as every finding about a reference.
    let host_at = workflow.find("docker-image://").unwrap();
    let expected = position(&workflow, &workflow[host_at..host_at + 20]);
    assert_eq!(at(f), expected);
    assert_eq!(r.status, 1, "{}", r.stdout);
}

#[test]
fn a_context_index_with_every_requested_platform_is_no_finding() {
    let (r, _) = platforms_run("linux/arm64/v8, linux/amd64");
    assert!(
        find(&r.report, "CONTEXT_PLATFORM_MISSING").is_none(),
        "{}",
        r.stdout
    );
    let registry = r.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "registry")
        .unwrap();
    let verified = registry["verified"].to_string();
    assert!(
        verified.contains("has an image for each platform step"),
        "{verified}"
    );
    assert_eq!(r.status, 0, "{}", r.stdout);
}

fn requests(r: &crate::workflow_precision::Run) -> u64 {
    r.report["stats"]["http_requests"].as_u64().unwrap()
}

/// The index body is the one the lookup already reads: asking for platforms costs no
/// request.
#[test]
fn comparing_an_index_costs_no_request() {
    let (with, _) = platforms_run("linux/amd64,linux/s390x");
    let (without, _) = context_run("", false);
    assert!(find(&without.report, "CONTEXT_PLATFORM_MISSING").is_none());
    assert_eq!(
        requests(&with),
        requests(&without),
        "{}\n{}",
        with.stdout,
        without.stdout
    );
}

#[test]
fn a_single_image_for_another_platform_is_read_from_its_config() {
    let (r, _) = context_run("linux/arm64", true);
    let f = find(&r.report, "CONTEXT_PLATFORM_MISSING")
        .unwrap_or_else(|| panic!("no CONTEXT_PLATFORM_MISSING:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("as a single image, whose config names linux/amd64 only"),
        "{message}"
    );
    // Its manifest body and config blob: two requests more than without platforms.
    let (without, _) = context_run("", true);
    assert_eq!(requests(&r), requests(&without) + 2, "{}", r.stdout);
    let (same, _) = context_run("linux/amd64", true);
    assert!(
        find(&same.report, "CONTEXT_PLATFORM_MISSING").is_none(),
        "{}",
        same.stdout
    );
}
