//! What `az acr build <folder>` uploads (P43): a dry run of the Azure CLI's packing of
//! a local context (azure-cli `acr/_archive_utils.py`, `_archive_file_recursively`:
//! https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_archive_utils.py).
//!
//! The CLI walks the whole folder with `os.listdir`, takes each entry with
//! `tarfile.gettarinfo` (which reads the entry itself, `lstat`: a symbolic link is
//! stored as a link and never followed), decides it with the ignore rules
//! ([`crate::dockerignore::parse_azure_cli`]) and walks into every folder, excluded or
//! not, because an exception may include something below it. This walk decides the
//! same way, but does not enter an excluded folder whose contents no rule can include
//! again, never follows a link (so a link loop costs nothing), and stops at
//! [`Limits::max_entries`] entries or at the deadline.

use crate::dockerignore::{AzureCliState, Rule};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How far the walk may go.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub deadline: Instant,
}

/// Folders that hold installed dependencies, rebuilt by the image build itself.
pub const HEAVY: &[&str] = &["node_modules", ".venv", "venv", "bower_components"];

/// A dependency folder ([`HEAVY`]) the upload includes, with what it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heavy {
    /// Relative to the context folder.
    pub path: String,
    pub files: u64,
    pub bytes: u64,
}

/// A symbolic link the upload includes whose target is not in it: absolute, leaving
/// the context folder, or missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideLink {
    /// Relative to the context folder.
    pub path: String,
    /// As stored in the link (control characters dropped, at most 200 characters).
    pub target: String,
}

/// What the upload holds, as far as the walk went.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    /// Regular files included, and their size in bytes (before compression).
    pub files: u64,
    pub bytes: u64,
    /// Entries the walk looked at, included or not.
    pub walked: u64,
    pub heavy: Vec<Heavy>,
    pub outside_links: Vec<OutsideLink>,
    /// Why the walk stopped early, if it did.
    pub stopped: Option<String>,
    pub elapsed: Duration,
}

/// Links kept for messages, at most.
const MAX_LINKS: usize = 50;

/// Dry-runs the packing of `root` with `rules` (highest priority first).
pub fn dry_run(root: &Path, rules: &[Rule], limits: Limits) -> Packed {
    let started = Instant::now();
    let mut packed = Packed::default();
    // (folder on disk, path in the context, state, index of its heavy folder)
    let mut stack: Vec<(PathBuf, String, AzureCliState, Option<usize>)> = vec![(
        root.to_path_buf(),
        String::new(),
        AzureCliState::root(rules),
        None,
    )];
    'walk: while let Some((dir, rel, state, heavy)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            packed.walked += 1;
            if packed.walked > limits.max_entries {
                packed.stopped = Some(format!("after {} entries", limits.max_entries));
                break 'walk;
            }
            if packed.walked % 256 == 0 && Instant::now() >= limits.deadline {
                packed.stopped = Some(format!(
                    "at the time limit, after {} entries",
                    packed.walked
                ));
                break 'walk;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let child = state.child(rules, &path);
            let kind = meta.file_type();
            if !child.ignored {
                if kind.is_file() {
                    packed.files += 1;
                    packed.bytes = packed.bytes.saturating_add(meta.len());
                    if let Some(h) = heavy.and_then(|i| packed.heavy.get_mut(i)) {
                        h.files += 1;
                        h.bytes = h.bytes.saturating_add(meta.len());
                    }
                } else if kind.is_symlink()
                    && packed.outside_links.len() < MAX_LINKS
                    && let Some(target) = outside_target(root, &rel, &entry.path())
                {
                    packed.outside_links.push(OutsideLink { path, target });
                    continue;
                }
            }
            if kind.is_dir() && child.may_include_below(rules) {
                let heavy = match heavy {
                    None if !child.ignored && HEAVY.contains(&name.as_str()) => {
                        packed.heavy.push(Heavy {
                            path: path.clone(),
                            files: 0,
                            bytes: 0,
                        });
                        Some(packed.heavy.len() - 1)
                    }
                    other => other,
                };
                stack.push((entry.path(), path, child, heavy));
            }
        }
    }
    packed.elapsed = started.elapsed();
    packed
}

/// The target of the link at `link` (in the folder `rel` of the context `root`) when
/// it is not inside the context: absolute, climbing out of it, or missing.
fn outside_target(root: &Path, rel: &str, link: &Path) -> Option<String> {
    let target = std::fs::read_link(link).ok()?;
    let shown: String = target
        .to_string_lossy()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if target.is_absolute() {
        return Some(shown);
    }
    let joined = if rel.is_empty() {
        shown.clone()
    } else {
        format!("{rel}/{shown}")
    };
    let inside = crate::dockerignore::clean(&joined);
    if inside == ".." || inside.starts_with("../") {
        return Some(shown);
    }
    // A link to a link is resolved by the builder; only a target that does not exist
    // at all is missing here.
    let exists = std::fs::symlink_metadata(root.join(&inside)).is_ok();
    (!exists).then_some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerignore::parse_azure_cli;

    fn limits() -> Limits {
        Limits {
            max_entries: 10_000,
            deadline: Instant::now() + Duration::from_secs(10),
        }
    }

    /// `cargo test --lib acr_pack -- --ignored --nocapture`: the walk over this
    /// checkout, with its `.dockerignore` read the Azure CLI's way.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_the_walk_of_this_checkout() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join(".dockerignore")).unwrap_or_default();
        let (rules, _) = parse_azure_cli(&text, false);
        let packed = dry_run(root, &rules, limits());
        println!(
            "walked {} entries, packed {} files, {} bytes, in {:?}",
            packed.walked, packed.files, packed.bytes, packed.elapsed
        );
    }

    #[test]
    fn the_walk_decides_like_the_cli_and_never_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, size) in [
            ("Dockerfile", 10),
            ("src/a.py", 100),
            ("web/node_modules/x/index.js", 1000),
            ("build/out.bin", 5000),
            (".git/HEAD", 7),
        ] {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, vec![b'x'; size]).unwrap();
        }
        std::os::unix::fs::symlink("..", root.join("src/loop")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("src/a.py", root.join("ok")).unwrap();
        std::os::unix::fs::symlink("gone", root.join("src/dangling")).unwrap();
        let (rules, _) = parse_azure_cli("build\n", false);
        let packed = dry_run(root, &rules, limits());
        assert_eq!((packed.files, packed.bytes), (3, 1110));
        assert_eq!(
            packed.heavy,
            [Heavy {
                path: "web/node_modules".into(),
                files: 1,
                bytes: 1000
            }]
        );
        let mut links: Vec<_> = packed
            .outside_links
            .iter()
            .map(|l| (l.path.as_str(), l.target.as_str()))
            .collect();
        links.sort();
        assert_eq!(links, [("abs", "/etc/hostname"), ("src/dangling", "gone")]);
        assert!(packed.stopped.is_none());
        let packed = dry_run(
            root,
            &rules,
            Limits {
                max_entries: 3,
                ..limits()
            },
        );
        assert_eq!(packed.stopped.as_deref(), Some("after 3 entries"));
    }
}
