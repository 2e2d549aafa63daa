//! Docker's client side, as a build on the runner sees it: the configuration file
//! (`config.json`), docker's choice of credential source for a host, and the credential
//! helper programs it runs. Library only: no findings are made here.

pub mod buildx;
pub mod config;
pub mod credential;
pub mod daemon;
pub mod engine;
pub mod helper;
pub mod socket;
