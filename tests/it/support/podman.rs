//! A real Docker-Engine-compatible API on a unix socket: `podman system service` with its
//! storage in a temp dir (vfs, runc, file events: what works on the test machines, see
//! `scripts/container-test.sh`), a one-file image built offline with buildah (`sleep`
//! and its libraries copied from the host), and containers created or started by name.
//! `Drop` removes the containers and the image, stops the service by its handle and
//! deletes the folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const IMAGE: &str = "localhost/acr-preflight-test/buildkit-stub:1";

pub struct Podman {
    dir: tempfile::TempDir,
    service: Child,
    pub socket: PathBuf,
    names: Vec<String>,
    image: bool,
}

fn storage(dir: &Path) -> Vec<String> {
    vec![
        "--root".into(),
        dir.join("root").display().to_string(),
        "--runroot".into(),
        dir.join("run").display().to_string(),
        "--storage-driver".into(),
        "vfs".into(),
    ]
}

fn run(program: &str, args: &[String]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} cannot start ({e}); scripts/install-deps.sh installs it")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Podman {
    /// Starts the service and waits until its socket answers `GET /_ping`.
    pub fn start() -> Podman {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let mut args = storage(dir.path());
        args.extend(podman_flags(dir.path()));
        args.extend([
            "system".into(),
            "service".into(),
            "--time=0".into(),
            format!("unix://{}", socket.display()),
        ]);
        let service = Command::new("podman")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podman cannot start; scripts/install-deps.sh installs it");
        let mut p = Podman {
            dir,
            service,
            socket,
            names: Vec::new(),
            image: false,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !p.pings() {
            assert!(
                p.service.try_wait().unwrap().is_none(),
                "podman system service exited"
            );
            assert!(Instant::now() < deadline, "podman service never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    fn pings(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(&self.socket) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200")
    }

    /// `DOCKER_HOST` for the service.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn podman(&self, rest: &[&str]) -> String {
        let mut args = storage(self.dir.path());
        args.extend(podman_flags(self.dir.path()));
        args.extend(rest.iter().map(|s| s.to_string()));
        run("podman", &args)
    }

    /// Builds [`IMAGE`] once: `FROM scratch` with `/sleep` (and its libraries) as the
    /// entry point, committed by buildah into the service's storage. No network.
    pub fn image(&mut self) {
        if self.image {
            return;
        }
        let buildah = |rest: &[&str]| {
            let mut args = storage(self.dir.path());
            args.extend(rest.iter().map(|s| s.to_string()));
            run("buildah", &args)
        };
        let ctr = buildah(&["from", "scratch"]);
        let mut files = vec!["/usr/bin/sleep".to_string()];
        let ldd = run("ldd", &["/usr/bin/sleep".to_string()]);
        files.extend(
            ldd.split_whitespace()
                .filter(|w| w.starts_with('/'))
                .map(str::to_string),
        );
        for f in &files {
            buildah(&["copy", &ctr, f, f]);
        }
        buildah(&[
            "config",
            "--entrypoint",
            r#"["/usr/bin/sleep"]"#,
            "--cmd",
            r#"["infinity"]"#,
            &ctr,
        ]);
        buildah(&["commit", "--quiet", &ctr, IMAGE]);
        buildah(&["rm", &ctr]);
        self.image = true;
    }

    /// `podman create --name NAME --env E…` of [`IMAGE`], started when `start`.
    pub fn container(&mut self, name: &str, env: &[&str], start: bool) {
        self.image();
        let mut args = vec![
            "create",
            "--name",
            name,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ];
        if start {
            args.extend(["--network", "host"]);
        }
        for e in env {
            args.extend(["--env", e]);
        }
        args.push(IMAGE);
        self.podman(&args);
        self.names.push(name.to_string());
        if start {
            self.podman(&["start", name]);
        }
    }
}

fn podman_flags(dir: &Path) -> Vec<String> {
    vec![
        "--tmpdir".into(),
        dir.join("tmp").display().to_string(),
        "--runtime".into(),
        "runc".into(),
        "--events-backend".into(),
        "file".into(),
    ]
}

impl Drop for Podman {
    fn drop(&mut self) {
        let mut base = storage(self.dir.path());
        base.extend(podman_flags(self.dir.path()));
        for name in &self.names {
            let mut args = base.clone();
            args.extend(["rm", "--force", "--ignore", "--time", "0", name].map(String::from));
            let _ = Command::new("podman").args(&args).output();
        }
        if self.image {
            let mut args = base.clone();
            args.extend(["rmi", "--force", IMAGE].map(String::from));
            let _ = Command::new("podman").args(&args).output();
        }
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}
