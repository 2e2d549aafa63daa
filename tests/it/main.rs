//! One integration-test binary: every suite is a module, so the harness in `support/`
//! (and the dependencies) compile once instead of once per suite.

mod support;

mod actions_contract;
mod azure_fakes_selftest;
mod base_images;
mod cli;
mod credentials;
mod credentials_pass;
mod docker_side;
mod fault_injection;
mod fuzz_corpus;
mod generated_docs;
mod git_contexts;
mod github_feedback;
mod harness_selftest;
mod host_install;
mod hostile_files_and_streams;
mod hostile_secrets;
mod identity;
mod identity_arm_facts;
mod identity_arm_history;
mod push_proof;
mod reference_vectors;
mod registry;
mod registry_edge;
mod report_schema;
mod secrets_never_leak;
mod self_contained;
mod self_hosted;
mod sinks_property;
mod summary_structure;
mod tls_roots;
mod workflow;
mod workflow_buildx;
mod workflow_context;
mod workflow_e2e;
mod workflow_edges;
mod workflow_names;
mod workflow_precision;
mod workflow_withheld;
