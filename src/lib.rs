//! acr-preflight: verify a container build's registry set-up before the build runs.

pub mod checks;
pub mod config;
pub mod docker_config;
pub mod findings;
pub mod gha;
pub mod jwt;
pub mod reference;
pub mod secrets;
