//! The version of the Azure CLI on the runner, read from its installed files instead of
//! running `az version` (a Python start-up of seconds): a few directory listings.
//!
//! - The DEB and RPM packages put `az` in `/usr/bin`, a script that runs
//!   `"$bin_dir"/../../opt/az/bin/python3 -Im azure.cli`, and the Python prefix with the
//!   CLI under `/opt/az/lib/python3.<minor>/site-packages`
//!   (https://github.com/Azure/azure-cli/blob/dev/scripts/release/debian/prepare.sh).
//! - `pip install azure-cli` (a virtual environment, pipx) puts `az` in `<prefix>/bin`
//!   and the package under `<prefix>/lib/python3.<minor>/site-packages`.
//!
//! In both, pip records the installed distribution as `azure_cli-<version>.dist-info`
//! (https://packaging.python.org/en/latest/specifications/recording-installed-packages/).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The Azure CLI found on PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The `az` on PATH.
    pub az: PathBuf,
    /// `2.59.0`.
    pub version: String,
}

impl Installed {
    /// Azure CLI 2.59.0 took MSAL 1.27.0, which bypasses az's token cache for service
    /// principals: every command asks Entra again with the federated token it was given,
    /// so an OIDC sign-in fails with AADSTS700024 once GitHub's ID token is 5 minutes
    /// old (https://github.com/Azure/azure-cli/issues/28737, introduced by
    /// https://github.com/Azure/azure-cli/pull/28556, fixed in 2.60.0 by
    /// https://github.com/Azure/azure-cli/pull/28747).
    pub fn breaks_oidc_renewal(&self) -> bool {
        let mut parts = self.version.split('.');
        parts.next() == Some("2") && parts.next() == Some("59")
    }
}

/// Directory listings are capped: a site-packages folder holds a few hundred entries.
const MAX_ENTRIES: usize = 5000;

/// The Azure CLI on `path` (a `PATH` value) and its version, when its files show it.
pub fn installed(path: Option<&OsStr>) -> Option<Installed> {
    let az = crate::docker::helper::on_path("az", path)?;
    let bin = az.parent()?;
    // The packages' layout first, then a pip prefix.
    let version = [bin.join("../../opt/az"), bin.join("..")]
        .iter()
        .find_map(|prefix| version_under(prefix))?;
    Some(Installed { az, version })
}

/// The version in `<prefix>/lib/python3*/site-packages/azure_cli-<version>.dist-info`.
fn version_under(prefix: &Path) -> Option<String> {
    entries(&prefix.join("lib"))
        .filter(|name| name.starts_with("python3"))
        .find_map(|python| {
            let site = prefix.join("lib").join(python).join("site-packages");
            entries(&site).find_map(|name| {
                let version = name
                    .strip_prefix("azure_cli-")?
                    .strip_suffix(".dist-info")?;
                version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.')
                    .then(|| version.to_string())
                    .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
}

/// The names in `dir` (none when it cannot be read), at most [`MAX_ENTRIES`].
fn entries(dir: &Path) -> impl Iterator<Item = String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .take(MAX_ENTRIES)
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree(az_dir: &str, site: &str, dist: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join(az_dir);
        std::fs::create_dir_all(&bin).unwrap();
        let az = bin.join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(root.path().join(site).join(dist)).unwrap();
        root
    }

    #[test]
    fn reads_the_version_of_the_package_and_of_a_pip_install() {
        let deb = tree(
            "usr/bin",
            "opt/az/lib/python3.12/site-packages",
            "azure_cli-2.59.0.dist-info",
        );
        let path = deb.path().join("usr/bin").into_os_string();
        let found = installed(Some(&path)).expect("package");
        assert_eq!(found.version, "2.59.0");
        assert!(found.breaks_oidc_renewal());

        let pip = tree(
            "venv/bin",
            "venv/lib/python3.11/site-packages",
            "azure_cli-2.67.0.dist-info",
        );
        let path = pip.path().join("venv/bin").into_os_string();
        let found = installed(Some(&path)).expect("pip");
        assert_eq!(found.version, "2.67.0");
        assert!(!found.breaks_oidc_renewal());
    }

    #[test]
    fn no_version_without_the_files_or_with_a_strange_name() {
        let bare = tree(
            "bin",
            "lib/python3.12/site-packages",
            "azure_cli_core-2.59.0.dist-info",
        );
        let path = bare.path().join("bin").into_os_string();
        assert_eq!(installed(Some(&path)), None);
        let odd = tree(
            "bin",
            "lib/python3.12/site-packages",
            "azure_cli-2.59.0 x.dist-info",
        );
        let path = odd.path().join("bin").into_os_string();
        assert_eq!(installed(Some(&path)), None);
        assert_eq!(installed(None), None);
    }
}
