//! buildx's own builder store, read from disk: the builders that exist on this machine
//! whoever created them (an earlier job, a person, a step of this job), and the one in
//! use. Read without running docker, so it works in the FROM-scratch image and costs a
//! few small file reads.
//!
//! Layout (docker/buildx, `util/confutil/config.go`, `store/store.go`,
//! `store/nodegroup.go`, `store/util.go`): the store folder is `$BUILDX_CONFIG`, else
//! `buildx` beside the docker config file (`$DOCKER_CONFIG/buildx`, `~/.docker/buildx`).
//! - `instances/<name>`: one JSON node group per builder, name lower-cased: `Name`,
//!   `Driver`, `Nodes` (each `Name`, `Endpoint`, `Platforms`, `DriverOpts`, `Flags`,
//!   `Files`), `Dynamic`.
//! - `current`: `{"Key": <endpoint>, "Name": <builder>, "Global": <bool>}`, written by
//!   `docker buildx use` (and `create --use`); `Key` is the docker context's name, or
//!   the daemon address for the `default` context.
//! - `defaults/<first 20 hex of sha256(endpoint)>`: the builder `use --default` made
//!   the default of that endpoint.
//!
//! No builder named there and nothing in use means the context's own builder (driver
//! `docker`). A docker context name is also accepted as a builder name
//! (`store/storeutil/storeutil.go` `GetNodeGroup`); contexts live under
//! `$DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json` (docker/cli
//! `cli/context/store`).
//!
//! Every file is read through [`crate::fsread::read_capped`]; unknown fields are
//! ignored; a file that cannot be read or parsed leaves that builder "not known" with
//! the reason, never a guess.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An `instances/<name>` file: a node group is a few hundred bytes, more with a
/// buildkitd.toml and its certificates inlined in `Files`.
pub const INSTANCE_CAP: u64 = 1024 * 1024;
/// `current` and `defaults/<hash>`: a name and an endpoint.
pub const CURRENT_CAP: u64 = 64 * 1024;
/// More builders than this are not read (the rest are counted as not judged).
pub const MAX_INSTANCES: usize = 256;

/// The store folder buildx uses: `$BUILDX_CONFIG`, else `<docker config>/buildx`.
pub fn store_dir(buildx_config: Option<&Path>, docker_config: &Path) -> PathBuf {
    match buildx_config.filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => docker_config.join("buildx"),
    }
}

/// The `current` key of the daemon the docker CLI talks to: the context's name, or the
/// daemon address for the `default` context (docker/buildx `util/dockerutil/context.go`).
pub fn endpoint_key(docker_context: Option<&str>, docker_host: Option<&str>) -> String {
    match docker_context.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c != "default" => c.to_string(),
        _ => docker_host
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or(super::socket::DEFAULT_HOST)
            .to_string(),
    }
}

/// A builder in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBuilder {
    /// As buildx stores it (lower case): the file name under `instances/`.
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// What was read, or why it could not be.
    pub read: Result<NodeGroupFacts, String>,
}

/// What the checks need of a node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupFacts {
    /// `Driver`, lower case (`docker-container`, `kubernetes`, `remote`, `docker`).
    pub driver: String,
    /// Each node's `Endpoint`.
    pub endpoints: Vec<String>,
    /// Each node's `Name` (its `docker-container` container is `buildx_buildkit_<name>`).
    pub nodes: Vec<String>,
    /// The `image` driver option of the first node that has one: the BuildKit image
    /// the `docker-container` driver creates its container from.
    pub image: Option<String>,
    /// The `env.<name>` driver options every node passes, names lower-cased, each once.
    pub driver_env: Vec<String>,
    /// The proxy driver options of any node that point BuildKit's container at a proxy
    /// on loopback: (variable, `host:port`), each variable once; none from a node with
    /// `network=host` (see [`crate::workflow::proxy_url::loopback_opts`]).
    pub proxy_loopback: Vec<(String, String)>,
}

impl StoredBuilder {
    pub fn driver(&self) -> Option<&str> {
        self.read.as_ref().ok().map(|f| f.driver.as_str())
    }
}

/// The builder buildx uses when a build names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InUse {
    /// None chosen: the docker context's own builder (driver `docker`).
    Default,
    /// A builder of the store, by its (lower-case) name.
    Builder(String),
    /// The store's choice cannot be told here; why.
    NotKnown(String),
}

/// The store as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildxStore {
    pub dir: PathBuf,
    /// The folder has `instances/`: buildx has run here with this configuration.
    pub exists: bool,
    /// By name.
    pub builders: Vec<StoredBuilder>,
    pub in_use: InUse,
    /// More than [`MAX_INSTANCES`] entries: the rest were not read.
    pub truncated: bool,
}

impl BuildxStore {
    /// The builder of that name (buildx lower-cases names).
    pub fn get(&self, name: &str) -> Option<&StoredBuilder> {
        let name = name.to_ascii_lowercase();
        self.builders.iter().find(|b| b.name == name)
    }

    /// The names, for messages: `` `a`, `b` `` or `none`.
    pub fn names(&self) -> String {
        if self.builders.is_empty() {
            return "none".to_string();
        }
        self.builders
            .iter()
            .map(|b| format!("`{}`", b.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What acr-preflight could see of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Read(BuildxStore),
    /// Not looked at or not readable; why (a sentence).
    NotInspected(String),
}

impl Store {
    pub fn read(&self) -> Option<&BuildxStore> {
        match self {
            Store::Read(s) => Some(s),
            Store::NotInspected(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct NodeGroupFile {
    #[serde(rename = "Driver", default)]
    driver: String,
    #[serde(rename = "Nodes", default)]
    nodes: Option<Vec<NodeFile>>,
}

#[derive(Deserialize)]
struct NodeFile {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Endpoint", default)]
    endpoint: String,
    #[serde(rename = "DriverOpts", default)]
    driver_opts: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct CurrentFile {
    #[serde(rename = "Key", default)]
    key: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Global", default)]
    global: bool,
}

/// Reads the store in `dir` for the daemon whose `current` key is `endpoint`.
pub fn read(dir: &Path, endpoint: &str) -> Store {
    let instances = dir.join("instances");
    let entries = match std::fs::read_dir(&instances) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Store::Read(BuildxStore {
                dir: dir.to_path_buf(),
                exists: false,
                builders: Vec::new(),
                in_use: InUse::Default,
                truncated: false,
            });
        }
        Err(e) => {
            return Store::NotInspected(format!("{} cannot be listed: {e}", instances.display()));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        // buildx's own atomic writes leave `.tmp-*` files only while writing.
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let truncated = names.len() > MAX_INSTANCES;
    names.truncate(MAX_INSTANCES);
    let builders: Vec<StoredBuilder> = names
        .into_iter()
        .map(|name| {
            let path = instances.join(&name);
            let read = node_group(&path);
            StoredBuilder { name, path, read }
        })
        .collect();
    let mut store = BuildxStore {
        dir: dir.to_path_buf(),
        exists: true,
        builders,
        in_use: InUse::Default,
        truncated,
    };
    store.in_use = in_use(&store, endpoint);
    Store::Read(store)
}

fn node_group(path: &Path) -> Result<NodeGroupFacts, String> {
    let bytes = crate::fsread::read_capped(path, INSTANCE_CAP).map_err(|e| e.to_string())?;
    let file: NodeGroupFile =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a buildx node group: {e}"))?;
    let nodes = file.nodes.unwrap_or_default();
    let env_of = |n: &NodeFile| -> Vec<String> {
        n.driver_opts
            .iter()
            .flatten()
            .filter_map(|(k, _)| {
                k.to_ascii_lowercase()
                    .strip_prefix("env.")
                    .map(str::to_string)
            })
            .collect()
    };
    let mut driver_env: Vec<String> = nodes.first().map(env_of).unwrap_or_default();
    for n in nodes.iter().skip(1) {
        let theirs = env_of(n);
        driver_env.retain(|v| theirs.contains(v));
    }
    driver_env.sort();
    driver_env.dedup();
    let mut proxy_loopback: Vec<(String, String)> = Vec::new();
    for n in &nodes {
        let entries: Vec<String> = n
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (name, at) in
            crate::workflow::proxy_url::loopback_opts(entries.iter().map(String::as_str))
        {
            if !proxy_loopback.iter().any(|(n, _)| *n == name) {
                proxy_loopback.push((name, at));
            }
        }
    }
    let image = nodes
        .iter()
        .flat_map(|n| n.driver_opts.iter().flatten())
        .find(|(k, v)| k.eq_ignore_ascii_case("image") && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string());
    Ok(NodeGroupFacts {
        driver: file.driver.trim().to_ascii_lowercase(),
        nodes: nodes.iter().map(|n| n.name.clone()).collect(),
        image,
        endpoints: nodes.into_iter().map(|n| n.endpoint).collect(),
        driver_env,
        proxy_loopback,
    })
}

/// buildx's `Txn.Current`: `current` when it is global or for this endpoint, else the
/// endpoint's default, else the context's own builder.
fn in_use(store: &BuildxStore, endpoint: &str) -> InUse {
    let exists = |name: &str| store.get(name).map(|b| b.name.clone());
    let current_path = store.dir.join("current");
    let mut other_endpoint = None;
    match crate::fsread::read_capped(&current_path, CURRENT_CAP) {
        Ok(bytes) => {
            let current: CurrentFile = match serde_json::from_slice(&bytes) {
                Ok(c) => c,
                Err(e) => {
                    return InUse::NotKnown(format!(
                        "{} is not buildx's JSON: {e}",
                        current_path.display()
                    ));
                }
            };
            if !current.name.is_empty() {
                if current.global
                    && let Some(n) = exists(&current.name)
                {
                    return InUse::Builder(n);
                }
                if current.key == endpoint {
                    return exists(&current.name).map_or(InUse::Default, InUse::Builder);
                }
                other_endpoint = Some((current.key, current.name));
            }
        }
        Err(crate::fsread::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return InUse::NotKnown(format!("{} cannot be read: {e}", current_path.display()));
        }
    }
    let defaults = store.dir.join("defaults").join(endpoint_hash(endpoint));
    match crate::fsread::read_capped(&defaults, CURRENT_CAP) {
        Ok(bytes) => {
            let name = String::from_utf8_lossy(&bytes).trim().to_string();
            return exists(&name).map_or(InUse::Default, InUse::Builder);
        }
        Err(crate::fsread::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return InUse::NotKnown(format!("{} cannot be read: {e}", defaults.display()));
        }
    }
    match other_endpoint {
        // buildx would fall back to the context's builder when its key is this runner's
        // endpoint; a docker context this tool does not read may make it that one.
        Some((key, name)) => InUse::NotKnown(format!(
            "{} names builder `{name}` for the docker endpoint `{key}`, not `{endpoint}`",
            current_path.display()
        )),
        None => InUse::Default,
    }
}

/// buildx's `toHash`: the first 20 hex digits of the SHA-256 of the endpoint.
fn endpoint_hash(endpoint: &str) -> String {
    let mut hex = sha256_hex(endpoint);
    hex.truncate(20);
    hex
}

fn sha256_hex(text: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the docker config has a context named `name` (buildx accepts one as a
/// builder name): `contexts/meta/<sha256(name)>/meta.json` exists.
pub fn context_exists(docker_config: &Path, name: &str) -> bool {
    docker_config
        .join("contexts/meta")
        .join(sha256_hex(name))
        .join("meta.json")
        .is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, body: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    const SOCK: &str = "unix:///var/run/docker.sock";

    #[test]
    fn a_missing_store_has_no_builders_and_the_default_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let s = read(&dir.path().join("buildx"), SOCK);
        let s = s.read().unwrap();
        assert!(!s.exists && s.builders.is_empty());
        assert_eq!(s.in_use, InUse::Default);
        assert_eq!(s.names(), "none");
    }

    #[test]
    fn node_groups_current_and_defaults_are_read_as_buildx_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "instances/ci",
            r#"{"Name":"ci","Driver":"docker-container","Nodes":[{"Name":"ci0","Endpoint":"unix:///var/run/docker.sock","Platforms":null,"DriverOpts":{"env.HTTPS_PROXY":"http://u:p@proxy:3128","image":"moby/buildkit:buildx-stable-1"},"Flags":null,"Files":null}],"Dynamic":false}"#,
        );
        write(
            d,
            "instances/k8s",
            r#"{"Name":"k8s","Driver":"kubernetes","Nodes":[{"Name":"k0","Endpoint":"kubernetes:///k8s?deployment=&kubeconfig="}],"Extra":1}"#,
        );
        write(d, "instances/broken", "{not json");
        write(
            d,
            "current",
            &format!(r#"{{"Key":"{SOCK}","Name":"k8s","Global":false}}"#),
        );
        let s = read(d, SOCK);
        let s = s.read().unwrap();
        assert_eq!(s.names(), "`broken`, `ci`, `k8s`");
        assert_eq!(s.in_use, InUse::Builder("k8s".into()));
        let ci = s.get("CI").unwrap().read.as_ref().unwrap();
        assert_eq!(ci.driver, "docker-container");
        assert_eq!(ci.driver_env, vec!["https_proxy"]);
        assert_eq!(ci.nodes, vec!["ci0"]);
        assert_eq!(ci.image.as_deref(), Some("moby/buildkit:buildx-stable-1"));
        assert!(
            s.get("broken")
                .unwrap()
                .read
                .as_ref()
                .unwrap_err()
                .contains("not a buildx node group")
        );
        // Another endpoint's choice is not taken; the endpoint's default is.
        let other = read(d, "ctx-b");
        assert!(matches!(other.read().unwrap().in_use, InUse::NotKnown(_)));
        write(d, &format!("defaults/{}", endpoint_hash("ctx-b")), "ci");
        assert_eq!(
            read(d, "ctx-b").read().unwrap().in_use,
            InUse::Builder("ci".into())
        );
        write(d, "current", "[");
        assert!(matches!(
            read(d, SOCK).read().unwrap().in_use,
            InUse::NotKnown(_)
        ));
    }

    #[test]
    fn the_endpoint_hash_and_key_follow_buildx() {
        // digest.FromBytes("unix:///var/run/docker.sock").Hex()[:20]
        assert_eq!(endpoint_hash(SOCK), "13c4025c96f36e94b348");
        assert_eq!(endpoint_key(None, None), SOCK);
        assert_eq!(
            endpoint_key(Some("default"), Some("tcp://d:2375")),
            "tcp://d:2375"
        );
        assert_eq!(endpoint_key(Some("remote"), None), "remote");
        assert_eq!(
            store_dir(None, Path::new("/h/.docker")),
            Path::new("/h/.docker/buildx")
        );
        assert_eq!(
            store_dir(Some(Path::new("/b")), Path::new("/h/.docker")),
            Path::new("/b")
        );
    }
}
