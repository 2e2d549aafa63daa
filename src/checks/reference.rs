//! Context reference check (placeholder, being written).
use super::Ctx;
use crate::findings::{CheckReport, ContextInfo};

pub async fn run(_ctx: &Ctx) -> (CheckReport, Vec<ContextInfo>) {
    (CheckReport::default(), Vec::new())
}
