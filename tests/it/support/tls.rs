//! A throwaway certificate authority (P-256, made with the `openssl` CLI) and server
//! certificates it signs, for the registry's TLS listener.
//!
//! ```ignore
//! let dir = tempfile::tempdir().unwrap();
//! let ca = TestCa::new(dir.path());
//! let (cert, key) = ca.issue_server_cert(&["registry.test"]); // + IP:127.0.0.1, IP:::1
//! let other = TestCa::untrusted(dir.path()); // for "unknown issuer" tests
//! ```

use super::openssl;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// A CA whose files live in `<dir>/<label>/`.
pub struct TestCa {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    name: String,
}

impl TestCa {
    /// The CA tests trust: `<dir>/ca/ca.crt`, CN `acr-preflight test CA`.
    pub fn new(dir: &Path) -> TestCa {
        TestCa::named(dir, "ca", "acr-preflight test CA")
    }

    /// A second, unrelated CA (`<dir>/untrusted-ca/`): certificates it issues must be
    /// rejected by a client that trusts only [`TestCa::new`]'s CA.
    pub fn untrusted(dir: &Path) -> TestCa {
        TestCa::named(dir, "untrusted-ca", "acr-preflight untrusted CA")
    }

    /// A CA in `<dir>/<label>/` with the given common name.
    pub fn named(dir: &Path, label: &str, common_name: &str) -> TestCa {
        let dir = dir.join(label);
        std::fs::create_dir_all(&dir).expect("create CA dir");
        let cert = dir.join("ca.crt");
        let key = dir.join("ca.key");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                path_str(&key),
                "-out",
                path_str(&cert),
                "-days",
                "3650",
                "-subj",
                &format!("/CN={common_name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            Some(&dir),
            b"",
        );
        TestCa {
            dir,
            cert,
            key,
            name: common_name.to_string(),
        }
    }

    /// The CA certificate (PEM): what a client passes as its extra root (`--ca-file`).
    pub fn ca_pem_path(&self) -> &Path {
        &self.cert
    }

    /// The CA certificate as a reqwest root, for `ClientBuilder::tls_certs_merge`.
    pub fn certificate(&self) -> reqwest::Certificate {
        let pem = std::fs::read(&self.cert).expect("read CA cert");
        reqwest::Certificate::from_pem(&pem).expect("parse CA cert")
    }

    pub fn common_name(&self) -> &str {
        &self.name
    }

    /// Issues a server certificate (P-256, serverAuth) whose SANs are `names` (DNS names,
    /// or IP addresses when they parse as one) plus `IP:127.0.0.1` and `IP:::1`. CN is the
    /// first name. Returns `(cert_pem_path, key_path)`, both new files in the CA's dir.
    pub fn issue_server_cert(&self, names: &[&str]) -> (PathBuf, PathBuf) {
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let stem = format!("server-{serial}");
        let key = self.dir.join(format!("{stem}.key"));
        let csr = self.dir.join(format!("{stem}.csr"));
        let cert = self.dir.join(format!("{stem}.crt"));
        let ext = self.dir.join(format!("{stem}.ext"));

        let mut sans: Vec<String> = Vec::new();
        for name in names {
            let san = match name.parse::<IpAddr>() {
                Ok(ip) => format!("IP:{ip}"),
                Err(_) => format!("DNS:{name}"),
            };
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        for ip in ["IP:127.0.0.1", "IP:::1"] {
            if !sans.iter().any(|s| s == ip) {
                sans.push(ip.to_string());
            }
        }
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
                sans.join(",")
            ),
        )
        .expect("write extfile");

        let cn = names.first().copied().unwrap_or("localhost");
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                path_str(&key),
                "-out",
                path_str(&csr),
                "-subj",
                &format!("/CN={cn}"),
            ],
            Some(&self.dir),
            b"",
        );
        // A serial per certificate (time-based, plus a counter) instead of -CAcreateserial,
        // so concurrent issuers never share a .srl file.
        let serial_hex = format!("{:x}{:04x}", super::now_unix(), serial);
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                path_str(&csr),
                "-CA",
                path_str(&self.cert),
                "-CAkey",
                path_str(&self.key),
                "-set_serial",
                &format!("0x{serial_hex}"),
                "-days",
                "825",
                "-extfile",
                path_str(&ext),
                "-out",
                path_str(&cert),
            ],
            Some(&self.dir),
            b"",
        );
        (cert, key)
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}
