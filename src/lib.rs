//! acr-preflight: verify a container build's registry set-up before the build runs.

pub mod acr_pack;
pub mod action_container;
pub mod azure;
pub mod checks;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod docker;
pub mod dockerfile;
pub mod dockerignore;
pub mod event;
pub mod feedback;
pub mod findings;
pub mod fsread;
pub mod git;
pub mod http;
pub mod jwt;
pub mod output;
pub mod reference;
pub mod registry;
pub mod run;
pub mod runners;
pub mod secrets;
pub mod suggest;
pub mod tarball;
pub mod workflow;
