//! Credential-helper check (placeholder, being written).
use super::Ctx;
use crate::findings::CheckReport;

pub async fn run(_ctx: &Ctx, _hosts: &[String]) -> (CheckReport, Vec<()>) {
    (CheckReport::default(), Vec::new())
}
