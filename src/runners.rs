//! Other GitHub Actions runner processes on this machine (P33): a persistent host with
//! several runners under one OS user shares that user's `~/.docker/config.json` and
//! `~/.azure` between their jobs.
//!
//! Linux only: `/proc/<pid>/status` (`Name:`, `Uid:`, `PPid:`) and `/proc/<pid>/cmdline`
//! (proc(5), <https://man7.org/linux/man-pages/man5/proc.5.html>). The runner's two
//! processes are `Runner.Listener` (the service that takes jobs) and `Runner.Worker`
//! (the one that runs a job), <https://github.com/actions/runner/tree/main/src>.

use std::path::PathBuf;

/// The process names of a runner.
pub const RUNNER_PROCESSES: [&str; 2] = ["Runner.Listener", "Runner.Worker"];

/// The most `/proc` entries read, and the most bytes read of a file.
const MAX_PROCESSES: usize = 32_768;
const MAX_READ: u64 = 8 * 1024;

/// A runner process of this user that is not one of this process's ancestors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherRunner {
    pub pid: u32,
    /// `Runner.Listener` or `Runner.Worker`.
    pub name: String,
    /// The program path from its command line (the runner's install folder), when
    /// readable.
    pub program: Option<PathBuf>,
}

/// The scan's result: the other runners and how many processes were looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub others: Vec<OtherRunner>,
    pub processes: usize,
}

#[cfg(target_os = "linux")]
struct Status {
    name: String,
    ppid: u32,
    uid: u32,
}

#[cfg(target_os = "linux")]
fn read_capped(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_READ)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[cfg(target_os = "linux")]
fn status(pid: u32) -> Option<Status> {
    let text = read_capped(&PathBuf::from(format!("/proc/{pid}/status")))?;
    let text = String::from_utf8_lossy(&text);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    Some(Status {
        name: field("Name:")?,
        ppid: field("PPid:")?.parse().ok()?,
        // Real, effective, saved, filesystem: the real uid.
        uid: field("Uid:")?.split_whitespace().next()?.parse().ok()?,
    })
}

/// Scans `/proc` for runner processes of the current real user that are not this
/// process or its ancestors. `None` where there is no `/proc` to read.
#[cfg(target_os = "linux")]
pub fn scan() -> Option<Scan> {
    let me = std::process::id();
    let uid = status(me)?.uid;
    let mut ancestors = vec![me];
    let mut at = me;
    while let Some(s) = status(at) {
        if s.ppid == 0 || ancestors.contains(&s.ppid) || ancestors.len() > 256 {
            break;
        }
        ancestors.push(s.ppid);
        at = s.ppid;
    }
    let mut scan = Scan::default();
    for entry in std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .take(MAX_PROCESSES)
    {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        scan.processes += 1;
        if ancestors.contains(&pid) {
            continue;
        }
        // `Name:` is the first 15 bytes of the program's name: `Runner.Listener` fits.
        let Some(s) = status(pid) else { continue };
        if s.uid != uid || !RUNNER_PROCESSES.contains(&s.name.as_str()) {
            continue;
        }
        let program = read_capped(&entry.path().join("cmdline")).and_then(|c| {
            let first = c.split(|b| *b == 0).next()?;
            (!first.is_empty()).then(|| PathBuf::from(String::from_utf8_lossy(first).as_ref()))
        });
        scan.others.push(OtherRunner {
            pid,
            name: s.name,
            program,
        });
    }
    scan.others.sort_by_key(|o| o.pid);
    Some(scan)
}

/// No `/proc` to read here.
#[cfg(not(target_os = "linux"))]
pub fn scan() -> Option<Scan> {
    None
}
