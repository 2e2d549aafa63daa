//! Publishing fixtures to a registry over the distribution API (reqwest), the way a client
//! without a Docker engine does it:
//! - blob: `POST /v2/<repo>/blobs/uploads/` → 202 + `Location` (relative or absolute,
//!   carries `?_state=`), then `PUT <location>&digest=sha256:…` with
//!   `Content-Type: application/octet-stream` → 201. (distribution 2.8 ignores a body on
//!   the POST, and parses a PUT without a content type as a form → `DIGEST_INVALID`.)
//! - manifest: `PUT /v2/<repo>/manifests/<ref>` with the manifest's exact media type as
//!   `Content-Type` → 201 and `Docker-Content-Digest` = sha256 of the exact bytes.
//!
//! Content is deterministic: the same fixture has the same digest on every run. Layers
//! are real `.tar.gz` files (ustar + gzip with stored deflate blocks, built here).
//!
//! ```ignore
//! let publisher = Publisher::new(&reg.url());                       // plain registry
//! let publisher = Publisher::new(&reg.url()).with_token_server(&ts); // token registry
//! let img = publisher.single_image("team/app", "v1").await;
//! assert_eq!(img.media_type, OCI_MANIFEST);
//! ```

use super::sha256::digest;
use super::token::{Signer, TokenServer};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Digest of the 2-byte empty descriptor content `{}`.
pub const OCI_EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The annotation ACR Tasks (oras-style artifacts) use to name a layer's file.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// `artifactType` of [`Publisher::titled_artifact`].
pub const CONTEXT_ARTIFACT_TYPE: &str = "application/vnd.acr-preflight.test.context.v1";
/// The Accept header to send on manifest requests (distribution 2.8 answers 404 for an
/// OCI manifest or index whose type the Accept header does not list, and converts a
/// schema2 image to schema1 when there is no Accept header).
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// The `org.opencontainers.image.title` annotation, if any.
    pub title: Option<String>,
}

/// A published manifest (image, artifact or index).
#[derive(Clone, Debug)]
pub struct Published {
    pub repo: String,
    /// The tag it was pushed under (children of an index: empty, pushed by digest).
    pub tag: String,
    /// `<registry host>/<repo>:<tag>`, host as in the publisher's base URL.
    pub reference: String,
    /// `sha256:` of the exact manifest bytes (checked against `Docker-Content-Digest`).
    pub digest: String,
    pub media_type: String,
    /// Manifest size in bytes.
    pub size: u64,
    /// The exact manifest bytes pushed.
    pub manifest: Vec<u8>,
    pub artifact_type: Option<String>,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    /// `(os, architecture)` for a child of an index.
    pub platform: Option<(String, String)>,
    /// An index's child manifests, in index order.
    pub children: Vec<Published>,
}

impl Published {
    /// `<host>/<repo>@<digest>`.
    pub fn reference_by_digest(&self) -> String {
        let host = self.reference.split('/').next().unwrap_or_default();
        format!("{host}/{}@{}", self.repo, self.digest)
    }

    /// The manifest as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.manifest).expect("manifest JSON")
    }
}

enum Auth {
    None,
    Bearer(String),
    /// Mint a pull+push token per repository with the token server's key.
    Mint {
        signer: Signer,
        issuer: String,
        service: String,
    },
}

/// Pushes blobs and manifests. Panics (with status and body) when the registry refuses:
/// fixtures are set-up, not the behaviour under test.
pub struct Publisher {
    client: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
    ca: Option<reqwest::Certificate>,
    resolve: Option<(String, SocketAddr)>,
}

fn build_client(
    ca: Option<&reqwest::Certificate>,
    resolve: Option<&(String, SocketAddr)>,
) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        // No pooled connections: a publisher may outlive the runtime it was used on
        // (see `support::block_on`).
        .pool_max_idle_per_host(0);
    if let Some(ca) = ca {
        builder = builder.tls_certs_merge([ca.clone()]);
    }
    if let Some((host, addr)) = resolve {
        builder = builder.resolve(host, *addr);
    }
    builder.build().expect("fixture HTTP client")
}

impl Publisher {
    /// For the registry at `base_url` (`http://127.0.0.1:PORT`), without credentials.
    pub fn new(base_url: &str) -> Publisher {
        Publisher {
            client: build_client(None, None),
            base: reqwest::Url::parse(base_url).expect("registry base URL"),
            auth: Auth::None,
            ca: None,
            resolve: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` (e.g. from [`TokenServer::admin_token`]).
    pub fn with_bearer(mut self, token: &str) -> Publisher {
        self.auth = Auth::Bearer(token.to_string());
        self
    }

    /// Mints a `pull,push` token for each repository pushed to, signed by `server`'s key.
    pub fn with_token_server(mut self, server: &TokenServer) -> Publisher {
        self.auth = Auth::Mint {
            signer: server.signer().clone(),
            issuer: server.issuer().to_string(),
            service: server.service().to_string(),
        };
        self
    }

    /// Trusts this CA certificate (PEM file) in addition to the system roots.
    pub fn with_ca(mut self, ca_pem: &Path) -> Publisher {
        let pem = std::fs::read(ca_pem).expect("read CA");
        self.ca = Some(reqwest::Certificate::from_pem(&pem).expect("CA PEM"));
        self.client = build_client(self.ca.as_ref(), self.resolve.as_ref());
        self
    }

    /// Resolves `host` to `addr` (for `https://registry.test:PORT` style base URLs).
    pub fn with_resolve(mut self, host: &str, addr: SocketAddr) -> Publisher {
        self.resolve = Some((host.to_string(), addr));
        self.client = build_client(self.ca.as_ref(), self.resolve.as_ref());
        self
    }

    /// Uses this client as is (its TLS and resolve settings).
    pub fn with_client(mut self, client: reqwest::Client) -> Publisher {
        self.client = client;
        self
    }

    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    fn authorize(&self, req: reqwest::RequestBuilder, repo: &str) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Mint {
                signer,
                issuer,
                service,
            } => {
                let now = super::now_unix();
                let token = signer.sign(&json!({
                    "iss": issuer,
                    "sub": "fixture-publisher",
                    "aud": service,
                    "exp": now + 300,
                    "nbf": now - 5,
                    "iat": now,
                    "jti": format!("publisher-{now}-{repo}"),
                    "access": [{"type": "repository", "name": repo, "actions": ["pull", "push"]}],
                }));
                req.bearer_auth(token)
            }
        }
    }

    fn url(&self, path: &str) -> reqwest::Url {
        self.base.join(path).expect("registry URL")
    }

    async fn expect(response: reqwest::Response, status: u16, what: &str) -> reqwest::Response {
        if response.status().as_u16() == status {
            return response;
        }
        let got = response.status();
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.unwrap_or_default();
        panic!("{what}: expected {status}, got {got}\nheaders: {headers}\nbody: {body}");
    }

    /// Uploads `bytes` as a blob of `repo` (POST then PUT); returns its digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let start = self
            .authorize(
                self.client
                    .post(self.url(&format!("/v2/{repo}/blobs/uploads/")))
                    .header("Content-Length", "0"),
                repo,
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("start upload to {repo}: {e}"));
        let start = Self::expect(start, 202, &format!("start blob upload to {repo}")).await;
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("upload Location header")
            .to_string();
        // The Location may be relative or absolute; it already has a query (`_state`).
        let mut put_url = self.url(&location);
        put_url.query_pairs_mut().append_pair("digest", &digest);
        let put = self
            .authorize(
                self.client
                    .put(put_url)
                    .header("Content-Type", "application/octet-stream")
                    .body(bytes.to_vec()),
                repo,
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("finish upload to {repo}: {e}"));
        let put = Self::expect(put, 201, &format!("finish blob upload {digest} to {repo}")).await;
        if let Some(d) = put.headers().get("docker-content-digest") {
            assert_eq!(d.to_str().unwrap(), digest, "registry digest of blob");
        }
        digest
    }

    /// PUTs a manifest under `reference` (tag or digest) with `media_type` as its
    /// Content-Type; returns the digest of the exact bytes (checked against the
    /// registry's `Docker-Content-Digest`).
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let digest = digest(bytes);
        let put = self
            .authorize(
                self.client
                    .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
                    .header("Content-Type", media_type)
                    .body(bytes.to_vec()),
                repo,
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("push manifest {repo}:{reference}: {e}"));
        let put = Self::expect(put, 201, &format!("push manifest {repo}:{reference}")).await;
        let registry_digest = put
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(registry_digest, digest, "registry digest of manifest");
        digest
    }

    async fn blob(
        &self,
        repo: &str,
        media_type: &str,
        bytes: &[u8],
        title: Option<&str>,
    ) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: self.push_blob(repo, bytes).await,
            size: bytes.len() as u64,
            title: title.map(str::to_string),
        }
    }

    async fn manifest(
        &self,
        repo: &str,
        tag: &str,
        manifest: Value,
        config: Option<Descriptor>,
        layers: Vec<Descriptor>,
        children: Vec<Published>,
    ) -> Published {
        let media_type = manifest["mediaType"].as_str().unwrap().to_string();
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = digest(&bytes);
        let reference = if tag.is_empty() { digest.as_str() } else { tag };
        self.push_manifest(repo, reference, &media_type, &bytes)
            .await;
        Published {
            repo: repo.to_string(),
            tag: tag.to_string(),
            reference: format!("{}/{repo}:{tag}", self.host()),
            digest,
            media_type,
            size: bytes.len() as u64,
            artifact_type: manifest["artifactType"].as_str().map(str::to_string),
            manifest: bytes,
            config,
            layers,
            platform: None,
            children,
        }
    }

    /// An OCI image for `linux/<arch>`: an image config and one `tar+gzip` layer holding
    /// `files`. Pushed by `tag`, or by digest when `tag` is empty.
    async fn oci_image(
        &self,
        repo: &str,
        tag: &str,
        arch: &str,
        files: &[(&str, &[u8])],
    ) -> Published {
        let tar = tar(files);
        let layer_bytes = gzip(&tar);
        let config_bytes = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["/hello"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(&tar)]},
        }))
        .unwrap();
        let config = self.blob(repo, OCI_CONFIG, &config_bytes, None).await;
        let layer = self
            .blob(repo, OCI_LAYER_TAR_GZIP, &layer_bytes, None)
            .await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor_json(&config),
            "layers": [descriptor_json(&layer)],
        });
        self.manifest(repo, tag, manifest, Some(config), vec![layer], Vec::new())
            .await
    }

    /// An OCI image manifest (`linux/amd64`) with an image config and one layer.
    pub async fn single_image(&self, repo: &str, tag: &str) -> Published {
        self.oci_image(repo, tag, "amd64", &[("hello", b"hello from amd64\n")])
            .await
    }

    /// An OCI index with `linux/amd64` and `linux/arm64` images (children pushed by
    /// digest first).
    pub async fn oci_index(&self, repo: &str, tag: &str) -> Published {
        let mut children = Vec::new();
        for arch in ["amd64", "arm64"] {
            let content = format!("hello from {arch}\n");
            let mut child = self
                .oci_image(repo, "", arch, &[("hello", content.as_bytes())])
                .await;
            child.platform = Some(("linux".to_string(), arch.to_string()));
            children.push(child);
        }
        let manifests: Vec<Value> = children
            .iter()
            .map(|c| {
                let (os, arch) = c.platform.clone().unwrap();
                json!({
                    "mediaType": c.media_type,
                    "digest": c.digest,
                    "size": c.size,
                    "platform": {"architecture": arch, "os": os},
                })
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        });
        self.manifest(repo, tag, index, None, Vec::new(), children)
            .await
    }

    /// An ACR-Tasks-style build context: an OCI manifest with `artifactType`
    /// [`CONTEXT_ARTIFACT_TYPE`], the empty config (`application/vnd.oci.empty.v1+json`,
    /// [`OCI_EMPTY_DIGEST`], size 2), and one `tar+gzip` layer (a Dockerfile and a file)
    /// annotated `org.opencontainers.image.title: context.tar.gz`.
    pub async fn titled_artifact(&self, repo: &str, tag: &str) -> Published {
        let config = self.blob(repo, OCI_EMPTY, b"{}", None).await;
        assert_eq!(config.digest, OCI_EMPTY_DIGEST);
        let layer_bytes = gzip(&tar(&context_files()));
        let layer = self
            .blob(
                repo,
                OCI_LAYER_TAR_GZIP,
                &layer_bytes,
                Some("context.tar.gz"),
            )
            .await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": CONTEXT_ARTIFACT_TYPE,
            "config": descriptor_json(&config),
            "layers": [descriptor_json(&layer)],
        });
        self.manifest(repo, tag, manifest, Some(config), vec![layer], Vec::new())
            .await
    }

    /// The "not an artifact" case: a plain OCI image (image config, no `artifactType`)
    /// whose layer holds the same build-context files as [`Publisher::titled_artifact`]
    /// but carries no title annotation, as `docker push` of an image would leave it.
    pub async fn untitled_image(&self, repo: &str, tag: &str) -> Published {
        self.oci_image(repo, tag, "amd64", &context_files()).await
    }

    /// A Docker schema2 image: `application/vnd.docker.distribution.manifest.v2+json`,
    /// config `application/vnd.docker.container.image.v1+json`, one rootfs layer.
    pub async fn docker_v2_image(&self, repo: &str, tag: &str) -> Published {
        let tar = tar(&[("hello", b"hello from docker v2\n")]);
        let config_bytes = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(&tar)]},
        }))
        .unwrap();
        let config = self.blob(repo, DOCKER_CONFIG, &config_bytes, None).await;
        let layer = self.blob(repo, DOCKER_LAYER, &gzip(&tar), None).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_V2,
            "config": descriptor_json(&config),
            "layers": [descriptor_json(&layer)],
        });
        self.manifest(repo, tag, manifest, Some(config), vec![layer], Vec::new())
            .await
    }
}

fn descriptor_json(d: &Descriptor) -> Value {
    let mut v = json!({"mediaType": d.media_type, "digest": d.digest, "size": d.size});
    if let Some(title) = &d.title {
        v["annotations"] = json!({ TITLE_ANNOTATION: title });
    }
    v
}

/// The files of the build-context fixtures.
pub fn context_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("Dockerfile", b"FROM scratch\nCOPY hello.txt /\n".as_slice()),
        ("hello.txt", b"hello\n".as_slice()),
    ]
}

/// A ustar archive of regular files (mode 0644, uid/gid 0, mtime 0): deterministic.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in files {
        assert!(
            name.len() < 100,
            "tar name too long for the harness: {name}"
        );
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let mut put = |offset: usize, text: &str| {
            header[offset..offset + text.len()].copy_from_slice(text.as_bytes());
        };
        put(100, "0000644\0"); // mode
        put(108, "0000000\0"); // uid
        put(116, "0000000\0"); // gid
        put(124, &format!("{:011o}\0", content.len())); // size
        put(136, "00000000000\0"); // mtime
        put(148, "        "); // checksum, counted as spaces
        put(156, "0"); // regular file
        put(257, "ustar\0");
        put(263, "00");
        put(265, "root");
        put(297, "root");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        let checksum = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(checksum.as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0); // two zero blocks end the archive
    out
}

/// A gzip member (RFC 1952) holding `data` in stored (uncompressed) deflate blocks, with
/// mtime 0: deterministic, and readable by any gunzip.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last)); // BFINAL, BTYPE=00 (stored)
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE, reflected, polynomial 0xEDB88320) as gzip uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}
