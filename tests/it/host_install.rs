//! Host mode: `host/install.sh` against a fake GitHub release served on loopback, and
//! `host/action.yml` against the container action's inputs.
//!
//! The release server is a few lines of std::net on 127.0.0.1 port 0, on its own thread:
//! it serves a fake release (`/download/<tag>/<asset>` and `SHA256SUMS`), answers
//! `/latest/download/<asset>` with a redirect to the latest tag the way github.com does,
//! and records every request so a test can tell whether anything was downloaded. The
//! fake "binaries" are shell scripts that print their asset name, so running the
//! installed file shows which asset was chosen.
//!
//! Run with UPDATE_GENERATED=1 to rewrite host/action.yml's inputs and `INPUT_*`
//! environment from the root action.yml (itself generated from src/cli.rs), and its
//! outputs from the output declaration in src/output/github.rs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use saphyr::{LoadableYamlNode, Yaml};

const TAG: &str = "v1.2.3";

/// (RUNNER_OS, RUNNER_ARCH, asset, tool-cache arch directory, installed file name)
const RUNNERS: [(&str, &str, &str, &str, &str); 5] = [
    (
        "Linux",
        "X64",
        "acr-preflight-x86_64-unknown-linux-musl",
        "x64",
        "acr-preflight",
    ),
    (
        "Linux",
        "ARM64",
        "acr-preflight-aarch64-unknown-linux-musl",
        "arm64",
        "acr-preflight",
    ),
    (
        "macOS",
        "X64",
        "acr-preflight-x86_64-apple-darwin",
        "x64",
        "acr-preflight",
    ),
    (
        "macOS",
        "ARM64",
        "acr-preflight-aarch64-apple-darwin",
        "arm64",
        "acr-preflight",
    ),
    (
        "Windows",
        "X64",
        "acr-preflight-x86_64-pc-windows-msvc.exe",
        "x64",
        "acr-preflight.exe",
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn fake_binary(asset: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho {asset}\n").into_bytes()
}

/// The files of one release: every asset plus a `sha256sum`-format SHA256SUMS.
fn release(tag: &str) -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    let mut sums = String::new();
    for (_, _, asset, _, _) in RUNNERS {
        let body = fake_binary(asset);
        sums.push_str(&format!("{}  {asset}\n", sha256_hex(&body)));
        files.insert(format!("/download/{tag}/{asset}"), body);
    }
    files.insert(format!("/download/{tag}/SHA256SUMS"), sums.into_bytes());
    files
}

struct ServerState {
    files: HashMap<String, Vec<u8>>,
    /// When set, `/latest/download/X` redirects to `/download/<latest>/X`.
    latest: Option<String>,
    requests: Mutex<Vec<String>>,
}

/// A loopback release server, stopped and joined on drop.
struct ReleaseServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReleaseServer {
    fn start(files: HashMap<String, Vec<u8>>, latest: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState {
            files,
            latest: latest.map(str::to_string),
            requests: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // A broken connection only fails the curl that made it.
                        let _ = serve(stream, &state, addr);
                    }
                }
            })
        };
        ReleaseServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, state: &ServerState, addr: SocketAddr) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    if method.is_empty() {
        return Ok(()); // the wake-up connection from Drop
    }
    state.requests.lock().unwrap().push(path.clone());

    let (status, location, body): (&str, Option<String>, &[u8]) =
        if let (Some(rest), Some(tag)) = (path.strip_prefix("/latest/download/"), &state.latest) {
            let to = format!("http://{addr}/download/{tag}/{rest}");
            ("302 Found", Some(to), b"")
        } else if let Some(body) = state.files.get(&path) {
            ("200 OK", None, body)
        } else {
            ("404 Not Found", None, b"Not Found")
        };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(location) = location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// A runner's directories: tool cache, temp and the GITHUB_OUTPUT file, in one TempDir.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tool-cache")).unwrap();
        std::fs::create_dir(dir.path().join("temp")).unwrap();
        Runner { dir }
    }

    fn tool_cache(&self) -> PathBuf {
        self.dir.path().join("tool-cache")
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("temp")
    }

    fn output_file(&self) -> PathBuf {
        self.dir.path().join("github_output")
    }

    /// Runs host/install.sh as a step would, with a clean environment (nothing of the
    /// environment `cargo test` itself runs in, which may be a GitHub runner).
    fn install(&self, os: &str, arch: &str, version: &str, base: &str) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("host/install.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", self.tool_cache())
            .env("RUNNER_TEMP", self.temp())
            .env("GITHUB_OUTPUT", self.output_file())
            .env("ACR_PREFLIGHT_VERSION", version)
            .env("ACR_PREFLIGHT_RELEASE_BASE_URL", base);
        cmd.output().unwrap()
    }

    /// `path=` values written to GITHUB_OUTPUT.
    fn output_paths(&self) -> Vec<String> {
        std::fs::read_to_string(self.output_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("path=").map(str::to_string))
            .collect()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_file(path: &Path) -> String {
    let out = Command::new(path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn each_runner_gets_its_asset_in_the_tool_cache() {
    let server = ReleaseServer::start(release(TAG), None);
    for (os, arch, asset, arch_dir, exe) in RUNNERS {
        let runner = Runner::new();
        let out = runner.install(os, arch, TAG, &server.base_url());
        assert!(out.status.success(), "{os} {arch}: {}", text(&out));

        let version_dir = runner.tool_cache().join("acr-preflight").join(TAG);
        let bin = version_dir.join(arch_dir).join(exe);
        assert_eq!(
            runner.output_paths(),
            vec![bin.display().to_string()],
            "{os} {arch}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&bin.display().to_string()),
            "the log names where the binary went: {}",
            text(&out)
        );
        assert_eq!(run_file(&bin), asset, "{os} {arch} ran the wrong asset");
        let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{os} {arch}: not executable");
        assert!(version_dir.join(format!("{arch_dir}.complete")).is_file());
        assert_eq!(
            files_under(&runner.tool_cache()),
            vec![
                version_dir.join(format!("{arch_dir}.complete")),
                bin.clone()
            ]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
            "only the binary and its marker land in the cache"
        );
        assert!(
            files_under(&runner.temp()).is_empty(),
            "the download directory is removed"
        );
    }
    let requests = server.requests();
    for (_, _, asset, _, _) in RUNNERS {
        assert!(requests.contains(&format!("/download/{TAG}/{asset}")));
    }
}

#[test]
fn an_unsupported_runner_fails_clearly_without_downloading() {
    let server = ReleaseServer::start(release(TAG), None);
    for (os, arch) in [
        ("Windows", "ARM64"),
        ("Linux", "X86"),
        ("macOS", "ARM"),
        ("FreeBSD", "X64"),
    ] {
        let runner = Runner::new();
        let out = runner.install(os, arch, TAG, &server.base_url());
        assert!(!out.status.success(), "{os} {arch}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "no acr-preflight release binary for RUNNER_OS={os} RUNNER_ARCH={arch}"
            )),
            "{}",
            text(&out)
        );
        assert!(
            stderr.contains("Windows X64"),
            "lists what exists: {stderr}"
        );
        assert!(files_under(&runner.tool_cache()).is_empty());
        assert!(runner.output_paths().is_empty());
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn a_tampered_binary_is_refused_and_leaves_nothing_behind() {
    let asset = "acr-preflight-x86_64-unknown-linux-musl";
    let mut files = release(TAG);
    let tampered = b"#!/bin/sh\necho pwned\n".to_vec();
    let actual = sha256_hex(&tampered);
    let expected = sha256_hex(&fake_binary(asset));
    files.insert(format!("/download/{TAG}/{asset}"), tampered);
    let server = ReleaseServer::start(files, None);

    let runner = Runner::new();
    let out = runner.install("Linux", "X64", TAG, &server.base_url());
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checksum mismatch"), "{}", text(&out));
    assert!(stderr.contains(asset), "names the asset: {stderr}");
    assert!(
        stderr.contains(&format!("expected {expected}")),
        "expected digest: {stderr}"
    );
    assert!(
        stderr.contains(&format!("actual {actual}")),
        "actual digest: {stderr}"
    );
    assert!(
        files_under(&runner.tool_cache()).is_empty(),
        "no binary and no .complete marker: {:?}",
        files_under(&runner.tool_cache())
    );
    assert!(
        std::fs::read_dir(runner.tool_cache())
            .unwrap()
            .next()
            .is_none(),
        "not even a directory in the tool cache"
    );
    assert!(files_under(&runner.temp()).is_empty());
    assert!(runner.output_paths().is_empty());
}

#[test]
fn an_asset_missing_from_sha256sums_is_refused() {
    let asset = "acr-preflight-aarch64-apple-darwin";
    let mut files = release(TAG);
    let sums_path = format!("/download/{TAG}/SHA256SUMS");
    let sums = String::from_utf8(files[&sums_path].clone()).unwrap();
    let kept: String = sums
        .lines()
        .filter(|l| !l.ends_with(asset))
        .map(|l| format!("{l}\n"))
        .collect();
    files.insert(sums_path, kept.into_bytes());
    let server = ReleaseServer::start(files, None);

    let runner = Runner::new();
    let out = runner.install("macOS", "ARM64", TAG, &server.base_url());
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "checksum refused for {asset}: {}/download/{TAG}/SHA256SUMS has no line for it",
            server.base_url()
        )),
        "{}",
        text(&out)
    );
    assert!(
        stderr.contains(&format!("actual {}", sha256_hex(&fake_binary(asset)))),
        "{stderr}"
    );
    assert!(files_under(&runner.tool_cache()).is_empty());
    assert!(runner.output_paths().is_empty());
}

#[test]
fn a_complete_install_is_reused_without_downloading() {
    let runner = Runner::new();
    let server = ReleaseServer::start(release(TAG), None);
    let first = runner.install("macOS", "X64", TAG, &server.base_url());
    assert!(first.status.success(), "{}", text(&first));
    let downloads = server.requests().len();
    assert!(downloads >= 2, "{:?}", server.requests());

    let second = runner.install("macOS", "X64", TAG, &server.base_url());
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        server.requests().len(),
        downloads,
        "nothing fetched the second time: {:?}",
        server.requests()
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("from the tool cache"));

    // And with the server gone altogether.
    let base = server.base_url();
    drop(server);
    let third = runner.install("macOS", "X64", TAG, &base);
    assert!(third.status.success(), "{}", text(&third));

    let bin = runner
        .tool_cache()
        .join(format!("acr-preflight/{TAG}/x64/acr-preflight"));
    assert_eq!(runner.output_paths(), vec![bin.display().to_string(); 3]);
    assert_eq!(run_file(&bin), "acr-preflight-x86_64-apple-darwin");
}

#[test]
fn an_install_without_its_marker_is_downloaded_again() {
    let runner = Runner::new();
    let version_dir = runner.tool_cache().join("acr-preflight").join(TAG);
    let bin = version_dir.join("arm64/acr-preflight");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::write(&bin, "#!/bin/sh\necho half-written\n").unwrap();

    let server = ReleaseServer::start(release(TAG), None);
    let out = runner.install("Linux", "ARM64", TAG, &server.base_url());
    assert!(out.status.success(), "{}", text(&out));
    assert!(server.requests().contains(&format!(
        "/download/{TAG}/acr-preflight-aarch64-unknown-linux-musl"
    )));
    assert_eq!(run_file(&bin), "acr-preflight-aarch64-unknown-linux-musl");
    assert!(version_dir.join("arm64.complete").is_file());
}

#[test]
fn a_missing_version_fails_clearly() {
    let server = ReleaseServer::start(release(TAG), None);
    let runner = Runner::new();
    let out = runner.install("Linux", "X64", "v9.9.9", &server.base_url());
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot download {}/download/v9.9.9/SHA256SUMS",
            server.base_url()
        )),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("404"), "curl's status: {stderr}");
    assert!(stderr.contains("'v9.9.9'"), "{stderr}");
    assert!(files_under(&runner.tool_cache()).is_empty());
    assert!(files_under(&runner.temp()).is_empty());
    assert!(runner.output_paths().is_empty());
}

#[test]
fn a_version_that_is_not_a_tag_is_refused_before_any_request() {
    let server = ReleaseServer::start(release(TAG), None);
    for version in ["../../etc", "v1/x", "-rf", " "] {
        let runner = Runner::new();
        let out = runner.install("Linux", "X64", version, &server.base_url());
        assert!(!out.status.success(), "{version:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid version"),
            "{}",
            text(&out)
        );
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn latest_is_cached_under_the_tag_it_redirects_to() {
    let server = ReleaseServer::start(release(TAG), Some(TAG));
    let runner = Runner::new();
    let out = runner.install("Linux", "X64", "latest", &server.base_url());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        server
            .requests()
            .contains(&"/latest/download/SHA256SUMS".to_string())
    );
    let bin = runner
        .tool_cache()
        .join(format!("acr-preflight/{TAG}/x64/acr-preflight"));
    assert_eq!(runner.output_paths(), vec![bin.display().to_string()]);
    assert_eq!(run_file(&bin), "acr-preflight-x86_64-unknown-linux-musl");

    // The next `latest` asks again which tag that is, then reuses the cached binary.
    let before = server.requests().len();
    let again = runner.install("Linux", "X64", "latest", &server.base_url());
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        server.requests()[before..],
        ["/latest/download/SHA256SUMS".to_string()]
    );
}

#[test]
fn latest_without_a_tag_to_go_by_is_not_cached() {
    // A mirror that serves /latest/download/ directly, with no redirect to a tag.
    let files: HashMap<String, Vec<u8>> = release(TAG)
        .into_iter()
        .map(|(k, v)| {
            (
                k.replace(&format!("/download/{TAG}/"), "/latest/download/"),
                v,
            )
        })
        .collect();
    let server = ReleaseServer::start(files, None);
    let runner = Runner::new();
    let out = runner.install("Windows", "X64", "latest", &server.base_url());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        files_under(&runner.tool_cache()).is_empty(),
        "nothing cached as `latest`"
    );
    let paths = runner.output_paths();
    assert_eq!(paths.len(), 1);
    let bin = PathBuf::from(&paths[0]);
    assert!(bin.starts_with(runner.temp()), "{bin:?}");
    assert!(bin.ends_with("x64/acr-preflight.exe"), "{bin:?}");
    assert_eq!(run_file(&bin), "acr-preflight-x86_64-pc-windows-msvc.exe");
}

#[test]
fn install_sh_passes_shellcheck() {
    let Ok(out) = Command::new("shellcheck")
        .arg(root().join("host/install.sh"))
        .output()
    else {
        eprintln!("shellcheck is not installed (apt-get install shellcheck): skipped");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

// ---- host/action.yml ----

/// The text from `start` (included) up to `end` (excluded).
fn section<'a>(text: &'a str, start: &str, end: &str) -> (usize, usize, &'a str) {
    let a = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not found"));
    let b = text[a..]
        .find(end)
        .map(|i| a + i)
        .unwrap_or_else(|| panic!("{end:?} not found after {start:?}"));
    (a, b, &text[a..b])
}

/// Input names in the order of an action.yml's `inputs:` block.
fn input_names(inputs_block: &str) -> Vec<String> {
    inputs_block
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.strip_suffix(':'))
        .map(str::to_string)
        .collect()
}

const ENV_START: &str = "the program reads these and writes the outputs.\n";
const ENV_END: &str = "      run: exec \"$ACR_PREFLIGHT_BIN\"\n";

/// host/action.yml as it must be: the root's inputs verbatim before `version`, one
/// `INPUT_<NAME>` per root input in the run step, and the declared outputs, each the
/// run step's.
fn expected_host_action(host: &str, root_action: &str) -> String {
    let (_, _, root_inputs) = section(root_action, "inputs:\n", "outputs:\n");
    let (a, b, _) = section(host, "inputs:\n", "  version:\n");
    let host = format!("{}{}{}", &host[..a], root_inputs, &host[b..]);
    let env: String = input_names(root_inputs)
        .iter()
        .map(|n| {
            format!(
                "        INPUT_{}: ${{{{ inputs.{n} }}}}\n",
                n.replace(' ', "_").to_uppercase()
            )
        })
        .collect();
    let (a, b, _) = section(&host, ENV_START, ENV_END);
    let a = a + ENV_START.len();
    let host = format!("{}{}{}", &host[..a], env, &host[b..]);
    let outputs = acr_preflight::output::github::action_yml_outputs(Some("run"));
    let (a, b, _) = section(&host, "outputs:\n", "runs:\n");
    format!("{}{}{}", &host[..a], outputs, &host[b..])
}

#[test]
fn host_action_inputs_are_the_container_actions_plus_version() {
    let path = root().join("host/action.yml");
    let host = std::fs::read_to_string(&path).unwrap();
    let root_action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let expected = expected_host_action(&host, &root_action);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        host == expected,
        "host/action.yml is out of date with action.yml; run `UPDATE_GENERATED=1 cargo test --test it host_install`"
    );
}

fn load(path: &str) -> Yaml<'static> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    Yaml::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{path}: empty"))
}

fn get<'a>(node: &'a Yaml<'static>, key: &str) -> &'a Yaml<'static> {
    node.as_mapping_get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {node:?}"))
}

fn str_of(node: &Yaml<'static>) -> String {
    match node {
        Yaml::Value(v) => match v.as_str() {
            Some(s) => s.to_string(),
            None => format!("{v:?}"),
        },
        other => panic!("not a scalar: {other:?}"),
    }
}

fn keys(node: &Yaml<'static>) -> Vec<String> {
    node.as_mapping()
        .unwrap()
        .keys()
        .map(str_of)
        .collect::<Vec<_>>()
}

#[test]
fn host_action_passes_every_input_and_maps_the_outputs() {
    let host = load("host/action.yml");
    let root_action = load("action.yml");

    let root_inputs = get(&root_action, "inputs");
    let host_inputs = get(&host, "inputs");
    let mut expected = keys(root_inputs);
    expected.push("version".into());
    assert_eq!(keys(host_inputs), expected);
    for name in keys(root_inputs) {
        assert_eq!(
            get(host_inputs, &name),
            get(root_inputs, &name),
            "input `{name}` differs from action.yml"
        );
    }
    assert_eq!(
        str_of(get(get(host_inputs, "version"), "default")),
        "latest"
    );

    let runs = get(&host, "runs");
    assert_eq!(str_of(get(runs, "using")), "composite");
    let steps = get(runs, "steps").as_sequence().unwrap();
    let step = |id: &str| {
        steps
            .iter()
            .find(|s| s.as_mapping_get("id").map(str_of).as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no step `{id}`"))
    };

    let install = step("install");
    assert_eq!(str_of(get(install, "shell")), "bash");
    assert!(str_of(get(install, "run")).contains("$GITHUB_ACTION_PATH/install.sh"));
    assert_eq!(
        str_of(get(get(install, "env"), "ACR_PREFLIGHT_VERSION")),
        "${{ inputs.version }}"
    );

    let run = step("run");
    assert_eq!(str_of(get(run, "shell")), "bash");
    let env = get(run, "env");
    assert_eq!(
        str_of(get(env, "ACR_PREFLIGHT_BIN")),
        "${{ steps.install.outputs.path }}"
    );
    for name in keys(root_inputs) {
        let var = format!("INPUT_{}", name.to_uppercase());
        assert_eq!(
            str_of(get(env, &var)),
            format!("${{{{ inputs.{name} }}}}"),
            "{var}"
        );
    }
    let input_vars = keys(env)
        .into_iter()
        .filter(|k| k.starts_with("INPUT_"))
        .count();
    assert_eq!(input_vars, keys(root_inputs).len(), "no stray INPUT_ entry");
    assert_eq!(
        str_of(get(run, "run")).trim(),
        "exec \"$ACR_PREFLIGHT_BIN\"",
        "the binary's exit status is the step's"
    );

    let outputs = get(&host, "outputs");
    assert_eq!(keys(outputs), keys(get(&root_action, "outputs")));
    for name in keys(outputs) {
        assert_eq!(
            str_of(get(get(outputs, &name), "value")),
            format!("${{{{ steps.run.outputs.{name} }}}}")
        );
    }
}

#[test]
fn the_version_default_is_the_line_release_yml_rewrites() {
    let host = std::fs::read_to_string(root().join("host/action.yml")).unwrap();
    let line = "    default: 'latest' # pinned to the release tag by release.yml";
    assert_eq!(
        host.lines().filter(|l| *l == line).count(),
        1,
        "host/action.yml must hold exactly one line {line:?}"
    );
    let (_, _, version) = section(&host, "  version:\n", "outputs:\n");
    assert!(version.contains(line));
}
