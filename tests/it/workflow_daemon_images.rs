//! P40 for images put into the docker daemon by `run:` steps (`docker pull` then
//! `docker tag` to a name without a registry host) and for `COPY --from=<image>` of a
//! loaded image, on a builder with its own image store; and the cases that stay quiet:
//! the `docker` driver, a tag made after the build, a `COPY --from` of a stage, and
//! `docker load`, whose names the workflow does not show. Offline: the workflow check
//! reads the workflow and Dockerfiles from an in-memory workspace.

use crate::support::workflow_fixture::{Fixture, of};
use acr_preflight::findings::{CheckReport, Code, Severity};

const FIXTURE: Fixture = Fixture("daemon-images.yml");

const APP: (&str, &str) = ("app/Dockerfile", "FROM base:ci\nRUN make\n");
const RUNTIME: (&str, &str) = (
    "runtime/Dockerfile",
    "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM myreg.azurecr.io/team/runtime-base:1\nCOPY --from=build /out/app /app\nCOPY --from=tools:ci /bin/tool /bin/tool\n",
);

fn run(job: &str) -> CheckReport {
    FIXTURE.run_with(&FIXTURE.config(job), &[APP, RUNTIME])
}

fn line_of(needle: &str) -> u32 {
    FIXTURE
        .text()
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("{needle} not in the fixture"))
}

#[test]
fn a_pulled_image_retagged_without_a_host_is_invisible_to_a_container_builder() {
    let report = run("tagged");
    let found = of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    let (severity, line, _, at) = FIXTURE.placed(f);
    assert_eq!(severity, Severity::Error);
    assert_eq!(line, line_of("name: App image") + 1);
    assert!(at.starts_with("docker/build-push-action@v6"), "{at}");
    assert_eq!(
        f.title,
        "`FROM base:ci` in app/Dockerfile names the image step `Retag base` loaded, which the `docker-container` builder cannot see"
    );
    let tag_line = line_of("docker tag myreg.azurecr.io/team/base:1 base:ci");
    for part in [
        format!(
            "Step `Retag base` tags an image of the docker daemon's image store as `base:ci` (`docker tag`, line {tag_line})"
        ),
        "whose `FROM base:ci` (line 1)".to_string(),
        "means `docker.io/library/base:ci`".to_string(),
    ] {
        assert!(f.message.contains(&part), "{part}: {}", f.message);
    }
}

#[test]
fn copy_from_a_loaded_image_is_invisible_and_copy_from_a_stage_is_not_judged() {
    let report = run("copied");
    let found = of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE);
    // `COPY --from=build` names a stage of the file: only `tools:ci` is reported.
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        f.title,
        "`COPY --from=tools:ci` in runtime/Dockerfile names the image step `Tools image` loaded, which the `docker-container` builder cannot see"
    );
    assert!(
        f.message
            .contains("whose `COPY --from=tools:ci` (line 5) names that image"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .contains("write `COPY --from=<registry>/tools:ci` with the full name"),
        "{}",
        f.fix
    );
}

#[test]
fn the_docker_driver_a_later_tag_and_a_loaded_tarball_stay_quiet() {
    // The `docker` driver reads the daemon's store; a tag made after the build is not
    // there yet; `docker load` names no image in the workflow, and `FROM base:ci` may
    // well be a Docker Hub image: nothing is said rather than a guess.
    for job in ["tagged-docker-driver", "tagged-after", "loaded-tarball"] {
        let report = run(job);
        assert!(
            of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE).is_empty(),
            "{job}: {:?}",
            report.findings
        );
    }
}
