//! A workflow fixture of tests/fixtures/workflows/ run through the workflow check from
//! an in-memory workspace (no network, no files written), and the helpers its suites
//! share to look at the findings.

use acr_preflight::checks::workflow::check;
use acr_preflight::config::Config;
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// One fixture file, by name (`buildx-builders.yml`).
#[derive(Clone, Copy)]
pub struct Fixture(pub &'static str);

impl Fixture {
    pub fn text(self) -> String {
        let path = format!(
            "{}/tests/fixtures/workflows/{}",
            env!("CARGO_MANIFEST_DIR"),
            self.0
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The configuration of a run as step `preflight` of job `job` in `octo/shop`.
    pub fn config(self, job: &str) -> Config {
        let mut c = Config::for_tests(PathBuf::from("/home/runner/.docker"));
        c.env.github_actions = true;
        c.env.workflow_ref = Some(format!(
            "octo/shop/.github/workflows/{}@refs/heads/main",
            self.0
        ));
        c.env.job = Some(job.into());
        c.env.action = Some("preflight".into());
        c.env.repository = Some("octo/shop".into());
        // buildx's store: a folder that does not exist, so no builder was left on the
        // runner whatever this machine's own ~/.docker holds.
        c.env.buildx_config = Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/buildx/absent"
        )));
        c
    }

    /// The check's report with `extra` files (Dockerfiles) in the workspace.
    pub fn run_with(self, config: &Config, extra: &[(&str, &str)]) -> CheckReport {
        let mut files = BTreeMap::new();
        files.insert(format!(".github/workflows/{}", self.0), self.text());
        for (path, body) in extra {
            files.insert(path.to_string(), body.to_string());
        }
        check(config, &files, &HashMap::new()).0
    }

    pub fn run(self, job: &str) -> CheckReport {
        self.run_with(&self.config(job), &[])
    }

    /// The finding's severity, line and column, and the fixture text from there on.
    pub fn placed(self, f: &Finding) -> (Severity, u32, u32, String) {
        let l = f.location.as_ref().expect("located");
        let (line, column) = (l.line.unwrap(), l.column.unwrap());
        let at: String = self
            .text()
            .lines()
            .nth(line as usize - 1)
            .unwrap()
            .chars()
            .skip(column as usize - 1)
            .collect();
        (f.severity, line, column, at)
    }
}

/// The findings of `report` with `code`.
pub fn of(report: &CheckReport, code: Code) -> Vec<&Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}
