//! Files from outside, read and written defensively.
//!
//! Reading: every file the tool reads that someone else controls (the docker config, the
//! workflow file, the event payload, the CA file, the federated token file) goes through
//! [`read_capped`]. It opens without blocking (`O_NONBLOCK`, so a FIFO cannot stall the
//! run past `--timeout`) and without taking a terminal (`O_NOCTTY`), looks at what it
//! opened (`fstat` of the handle, not of the name, so a swapped link changes nothing),
//! refuses anything but a regular file (a symlink to `/dev/zero`, a FIFO, a directory,
//! a socket) and reads at most `cap + 1` bytes, so a file that grows while it is read
//! still costs no more than its cap.
//!
//! Writing: the runner's files (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`) are opened by
//! [`open_runner_file`] with `O_APPEND | O_NOFOLLOW`: a final symlink is refused, not
//! followed, and anything but a regular file is refused. New files (the JSON report)
//! are created by [`create_new_file`] with `O_EXCL | O_NOFOLLOW` in a directory that is
//! not itself a symlink.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The open(2) flags and file kinds of Unix. Elsewhere (the Windows release build) the
/// same functions check what std can: the name's metadata before opening (a symbolic
/// link is refused by its `symlink_metadata`) and the handle's after.
#[cfg(unix)]
mod platform {
    use std::fs::{FileType, OpenOptions};
    use std::io;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

    /// The Unix kinds of non-regular file, in words.
    pub fn special(t: &FileType) -> Option<&'static str> {
        if t.is_fifo() {
            Some("a FIFO (named pipe)")
        } else if t.is_char_device() {
            Some("a character device")
        } else if t.is_block_device() {
            Some("a block device")
        } else if t.is_socket() {
            Some("a socket")
        } else {
            None
        }
    }

    /// Reading: no blocking on a FIFO, no controlling terminal.
    pub fn for_reading(o: &mut OpenOptions) {
        o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }

    /// Appending to a runner file: no final symlink, no blocking on a FIFO.
    pub fn for_appending(o: &mut OpenOptions) {
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC);
    }

    /// Creating a new file: mode 0644, no final symlink.
    pub fn for_creating(o: &mut OpenOptions) {
        o.mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_CLOEXEC);
    }

    /// ELOOP is what O_NOFOLLOW answers for a final symlink.
    pub fn is_final_symlink(e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::ELOOP)
    }

    /// ENXIO is what a non-blocking open for writing answers for a FIFO with no reader.
    pub fn is_fifo_without_reader(e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::ENXIO)
    }
}

#[cfg(not(unix))]
mod platform {
    use std::fs::{FileType, OpenOptions};
    use std::io;

    pub fn special(_: &FileType) -> Option<&'static str> {
        None
    }

    pub fn for_reading(_: &mut OpenOptions) {}

    pub fn for_appending(_: &mut OpenOptions) {}

    pub fn for_creating(_: &mut OpenOptions) {}

    pub fn is_final_symlink(_: &io::Error) -> bool {
        false
    }

    pub fn is_fifo_without_reader(_: &io::Error) -> bool {
        false
    }
}

/// The CA file (`--ca-file`, input `ca-file`): the whole Mozilla root bundle is about
/// 220 KiB.
pub const CA_FILE_CAP: u64 = 4 * 1024 * 1024;

/// The federated token file (`AZURE_FEDERATED_TOKEN_FILE`): a JWT of a few KiB.
pub const FEDERATED_TOKEN_CAP: u64 = 64 * 1024;

/// The event payload (`GITHUB_EVENT_PATH`): GitHub caps webhook payloads at 25 MB.
pub const EVENT_PAYLOAD_CAP: u64 = 25 * 1024 * 1024;

/// Why a file from outside was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read (missing, no permission, …).
    Io(io::Error),
    /// The path names something that is not a regular file.
    NotRegular { what: &'static str },
    /// The file holds more than `cap` bytes; `size` is what was seen (at least cap + 1).
    TooLarge { size: u64, cap: u64 },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular { what } => {
                write!(
                    f,
                    "it is {what}, not a regular file; refused without reading"
                )
            }
            ReadError::TooLarge { size, cap } => write!(
                f,
                "it holds {size} bytes or more, above the {} limit; refused without reading it whole",
                human(*cap)
            ),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Io(e) => e,
            other @ ReadError::NotRegular { .. } => {
                io::Error::new(io::ErrorKind::InvalidInput, other.to_string())
            }
            other @ ReadError::TooLarge { .. } => {
                io::Error::new(io::ErrorKind::InvalidData, other.to_string())
            }
        }
    }
}

/// `4 MiB`, `64 KiB`, `100 bytes`.
pub fn human(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a non-regular file is, in words.
fn kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if let Some(special) = platform::special(&t) {
        Some(special)
    } else if t.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("not a regular file")
    }
}

/// Reads a regular file of at most `cap` bytes (symlinks to regular files are followed:
/// Kubernetes mounts projected tokens and secrets through them).
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    // A look before opening, so that a device is not even opened (opening some has
    // effects); the handle is checked again below, which is what counts.
    let before = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(what) = kind(&before) {
        return Err(ReadError::NotRegular { what });
    }
    let mut options = OpenOptions::new();
    options.read(true);
    platform::for_reading(&mut options);
    let file = options.open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(what) = kind(&meta) {
        return Err(ReadError::NotRegular { what });
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            cap,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

/// A refusal to write to `path`, worded for the runner-file messages.
fn refuse(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {what}; acr-preflight writes only to a regular file at the path the runner named"
        ),
    )
}

fn nofollow_error(e: io::Error) -> io::Error {
    if platform::is_final_symlink(&e) {
        refuse("a symbolic link")
    } else {
        e
    }
}

/// Opens a runner file (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`) for appending, creating
/// it when missing, without following a final symlink and without blocking on a FIFO;
/// anything but a regular file is refused.
pub fn open_runner_file(path: &Path) -> io::Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && let Some(what) = kind(&meta)
    {
        return Err(refuse(what));
    }
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    platform::for_appending(&mut options);
    let file = options.open(path).map_err(|e| {
        if platform::is_fifo_without_reader(&e) {
            refuse("a FIFO (named pipe)")
        } else {
            nofollow_error(e)
        }
    })?;
    let meta = file.metadata()?;
    if let Some(what) = kind(&meta) {
        return Err(refuse(what));
    }
    Ok(file)
}

/// Whether `dir` is a real directory (not a symlink to one).
pub fn is_real_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir())
}

/// Creates `dir/name` afresh (`O_EXCL | O_NOFOLLOW`, mode 0644) in a directory that is
/// not a symlink, and writes `bytes` to it.
pub fn create_new_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if !is_real_dir(dir) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a directory of its own (a symbolic link or another kind of file); nothing is written through it",
                dir.display()
            ),
        ));
    }
    let path = dir.join(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    platform::for_creating(&mut options);
    let mut file = options.open(&path).map_err(nofollow_error)?;
    file.write_all(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_within_their_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_capped(&path, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_capped(&path, 9),
            Err(ReadError::TooLarge { size: 10, cap: 9 })
        ));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read_capped(&link, 10).unwrap(), b"0123456789");
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_capped(&zero, 100).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let e = read_capped(&fifo, 100).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_capped(dir.path(), 100).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let e = io::Error::from(read_capped(&dir.path().join("missing"), 100).unwrap_err());
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn runner_files_are_never_followed_or_devices() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("summary");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = open_runner_file(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(open_runner_file(&dangling).is_err());
        assert!(!dir.path().join("nowhere").exists());
        assert!(open_runner_file(Path::new("/dev/full")).is_err());
        assert!(open_runner_file(dir.path()).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let fresh = dir.path().join("fresh");
        assert!(open_runner_file(&fresh).is_ok());
    }

    #[test]
    fn new_files_are_created_once_and_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        create_new_file(dir.path(), "r.json", b"{}").unwrap();
        assert!(create_new_file(dir.path(), "r.json", b"{}").is_err());
        let elsewhere = tempfile::tempdir().unwrap();
        let link = dir.path().join("linked");
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        assert!(create_new_file(&link, "r.json", b"{}").is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        std::os::unix::fs::symlink(elsewhere.path().join("x"), dir.path().join("l.json")).unwrap();
        assert!(create_new_file(dir.path(), "l.json", b"{}").is_err());
        assert!(!elsewhere.path().join("x").exists());
    }
}
