//! The docker client configuration (`<dir>/config.json`) and docker/cli's choice of
//! credential source for a registry host. Library only: no findings are made here.
//!
//! Parsing is defensive: the file is read as a `serde_json::Value` and every known key
//! is checked for its type, so that a problem is reported as "`auths["x"].auth` is not
//! valid base64" at `file:line` instead of a generic decode error. Every secret in the
//! file (`auth`, its decoded password, `password`, `identitytoken`, `registrytoken`) is
//! registered with [`Secrets`] the moment it is read, before it is validated.
//!
//! Not supported: `DOCKER_AUTH_CONFIG` (the configuration does not carry it).

use super::credential::{Credential, CredentialKind};
use crate::secrets::Secrets;
use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The file docker reads inside the config directory.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// Larger files are not docker configs; refuse them instead of reading them whole.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Up to this many `auths` entries, every entry's secrets are registered (masked) as
/// the file is read. Beyond it (a generated or hostile file: 40k entries once cost 37 s
/// and 120k `::add-mask::` lines), only the entries of the hosts the build uses are, by
/// [`DockerConfig::register_secrets_for`]: the others are never sent anywhere, so no
/// server can echo them back.
pub const EAGER_MASK_ENTRIES: usize = 256;

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// A key as written in a message: `credsStore`, `credHelpers["host"]`, `auths["host"].auth`.
pub fn key_path(path: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in path.iter().enumerate() {
        if i == 0 {
            out.push_str(part);
        } else if i == 1 {
            out.push('[');
            out.push_str(&serde_json::to_string(part).unwrap_or_default());
            out.push(']');
        } else {
            out.push('.');
            out.push_str(part);
        }
    }
    out
}

/// One problem in an otherwise well-formed JSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, as [`key_path`] writes it.
    pub key: String,
    /// 1-based line and column of the key in the file, when found.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// What is wrong, never quoting a value.
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is {size} bytes; a docker config is a few KiB at most", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u32,
        column: u32,
        /// serde_json's description without its position suffix.
        message: String,
    },
    #[error("{}: {}", path.display(), problems.iter().map(|p| format!("{}: {}", p.key, p.problem)).collect::<Vec<_>>().join("; "))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

impl ConfigError {
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. }
            | ConfigError::TooLarge { path, .. }
            | ConfigError::Syntax { path, .. }
            | ConfigError::Invalid { path, .. } => path,
        }
    }
}

/// The outcome of looking for `<dir>/config.json`.
#[derive(Debug, Clone)]
pub enum Load {
    /// No file: docker runs with an empty configuration (no credentials).
    Missing {
        path: PathBuf,
        /// Whether the directory itself exists.
        dir_exists: bool,
    },
    Loaded(DockerConfig),
}

/// What reading `<dir>/config.json` gave. The run reads it once and every check shares
/// this outcome (`checks::Ctx`).
pub type Read = Result<Load, ConfigError>;

impl Load {
    /// The parsed configuration, when the file exists.
    pub fn loaded(&self) -> Option<&DockerConfig> {
        match self {
            Load::Loaded(config) => Some(config),
            Load::Missing { .. } => None,
        }
    }
}

/// A value with the 1-based line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub line: Option<u32>,
}

/// One `credHelpers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredHelperEntry {
    pub key: String,
    /// The helper suffix; `""` means "use the file store".
    pub helper: String,
    pub line: Option<u32>,
}

/// What kind of credential an `auths` entry holds (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// `auth` or `username`/`password`.
    Basic { username: String },
    /// `identitytoken`: an OAuth2 refresh token, exchanged at the token endpoint.
    IdentityToken { username: Option<String> },
    /// `registrytoken`: a bearer token sent as is.
    RegistryToken,
    /// The entry exists but holds nothing usable (Docker Desktop writes such entries
    /// next to a `credsStore`).
    Empty,
}

/// One `auths` entry. Its secrets are private; [`AuthEntry::credential`] hands them out.
#[derive(Clone)]
pub struct AuthEntry {
    pub key: String,
    pub line: Option<u32>,
    /// The `auth` field as written (base64 of `user:password`), kept for masking.
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identity_token: Option<String>,
    registry_token: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthEntry")
            .field("key", &self.key)
            .field("line", &self.line)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl AuthEntry {
    /// Registers every secret-bearing value of this entry.
    pub fn register_secrets(&self, secrets: &Secrets) {
        for value in [
            &self.auth,
            &self.password,
            &self.identity_token,
            &self.registry_token,
        ]
        .into_iter()
        .flatten()
        {
            secrets.register(value);
        }
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            secrets.register(&format!("{user}:{password}"));
        }
    }

    /// Docker's precedence when it talks to the registry: a registry token is sent
    /// directly, else an identity token is exchanged, else basic auth.
    pub fn kind(&self) -> EntryKind {
        if self.registry_token.is_some() {
            EntryKind::RegistryToken
        } else if self.identity_token.is_some() {
            EntryKind::IdentityToken {
                username: self.username.clone(),
            }
        } else if let Some(user) = &self.username {
            EntryKind::Basic {
                username: user.clone(),
            }
        } else {
            EntryKind::Empty
        }
    }

    /// The credential this entry gives docker, if any.
    pub fn credential(&self) -> Option<Credential> {
        let username = self.username.clone().unwrap_or_default();
        if let Some(token) = &self.registry_token {
            return Some(Credential::new(
                CredentialKind::RegistryToken,
                username,
                token.clone(),
            ));
        }
        if let Some(token) = &self.identity_token {
            return Some(Credential::new(
                CredentialKind::IdentityToken,
                username,
                token.clone(),
            ));
        }
        self.username.as_ref()?;
        Some(Credential::from_username_secret(
            username,
            self.password.clone().unwrap_or_default(),
        ))
    }
}

/// A parsed, valid `config.json`.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    pub path: PathBuf,
    /// `credsStore` as written (may be empty, which means "none").
    pub creds_store: Option<Located<String>>,
    /// `credHelpers`, in file order.
    pub cred_helpers: Vec<CredHelperEntry>,
    /// `auths`, in file order.
    pub auths: Vec<AuthEntry>,
    /// `currentContext`: the docker context the CLI uses when neither `DOCKER_HOST` nor
    /// `DOCKER_CONTEXT` is set (docker/cli `cli/command/cli.go`, `resolveContextName`).
    pub current_context: Option<String>,
}

/// Reads `<dir>/config.json`. A missing file is not an error (docker then has no
/// credentials); an unreadable, malformed or wrongly typed one is.
pub fn load(dir: &Path, secrets: &Secrets) -> Result<Load, ConfigError> {
    let path = dir.join(CONFIG_FILE_NAME);
    // Bounded and non-blocking: a FIFO, a device (a link to /dev/zero), a directory or a
    // huge file is refused at once instead of hanging or filling memory.
    let bytes = match crate::fsread::read_capped(&path, MAX_CONFIG_BYTES) {
        Ok(b) => b,
        Err(crate::fsread::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Load::Missing {
                dir_exists: dir.is_dir(),
                path,
            });
        }
        Err(crate::fsread::ReadError::TooLarge { size, .. }) => {
            return Err(ConfigError::TooLarge { path, size });
        }
        Err(e) => {
            return Err(ConfigError::Read {
                path,
                source: e.into(),
            });
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() as u32 + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() as u32 + 1;
            return Err(ConfigError::Syntax {
                path,
                line,
                column,
                message: "the file is not valid UTF-8".into(),
            });
        }
    };
    parse(&path, &text, secrets).map(Load::Loaded)
}

/// Parses the text of a `config.json` read from `path` (used in messages only).
pub fn parse(path: &Path, text: &str, secrets: &Secrets) -> Result<DockerConfig, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(path, &e))?;
    let top = match value {
        Value::Object(map) => map,
        other => return Err(not_an_object(path, text, &other)),
    };
    let mut reader = Reader {
        positions: key_positions(text),
        problems: Vec::new(),
    };
    // Secrets first: register every secret-bearing value before looking at anything else.
    let mut auths = reader.auths(top.get("auths"), secrets);
    let creds_store = reader.creds_store(top.get("credsStore"));
    let mut cred_helpers = reader.cred_helpers(top.get("credHelpers"));
    if !reader.problems.is_empty() {
        let mut problems = reader.problems;
        problems.sort_by_key(|p| (p.line.unwrap_or(u32::MAX), p.column.unwrap_or(0)));
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }
    // serde_json's map is sorted by key; keep the file's order instead.
    auths.sort_by_key(|a| a.line.unwrap_or(u32::MAX));
    cred_helpers.sort_by_key(|h| h.line.unwrap_or(u32::MAX));
    let current_context = top
        .get("currentContext")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    Ok(DockerConfig {
        path: path.to_path_buf(),
        creds_store,
        cred_helpers,
        auths,
        current_context,
    })
}

/// A JSON syntax error, at its line and column. serde_json's syntax messages describe
/// the grammar, never the content.
fn syntax_error(path: &Path, e: &serde_json::Error) -> ConfigError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.line().max(1) as u32,
        column: e.column().max(1) as u32,
        message,
    }
}

/// A well-formed file whose top level is not an object.
fn not_an_object(path: &Path, text: &str, found: &Value) -> ConfigError {
    let first = text.trim_start();
    let skipped = &text[..text.len() - first.len()];
    let line = skipped.matches('\n').count() as u32 + 1;
    ConfigError::Invalid {
        path: path.to_path_buf(),
        problems: vec![ConfigProblem {
            key: "(top level)".into(),
            line: Some(line),
            column: Some(1),
            problem: format!("must be a JSON object, found {}", type_name(found)),
        }],
    }
}

/// Reads the known keys of a parsed file, collecting every problem with its place.
struct Reader {
    positions: HashMap<Vec<String>, (u32, u32)>,
    problems: Vec<ConfigProblem>,
}

impl Reader {
    fn position(&self, path_parts: &[&str]) -> Option<(u32, u32)> {
        let key: Vec<String> = path_parts.iter().map(|s| s.to_string()).collect();
        self.positions.get(&key).copied()
    }

    fn line_of(&self, path_parts: &[&str]) -> Option<u32> {
        self.position(path_parts).map(|p| p.0)
    }

    fn problem(&mut self, path_parts: &[&str], what: String) {
        let pos = self.position(path_parts);
        self.problems.push(ConfigProblem {
            key: key_path(path_parts),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            problem: what,
        });
    }

    /// `auths`: every entry, its secrets registered as they are read (for files of up
    /// to [`EAGER_MASK_ENTRIES`] entries; larger ones register what is used).
    fn auths(&mut self, auths: Option<&Value>, secrets: &Secrets) -> Vec<AuthEntry> {
        let entries = match auths {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Object(entries)) => entries,
            Some(other) => {
                self.problem(
                    &["auths"],
                    format!("must be an object, found {}", type_name(other)),
                );
                return Vec::new();
            }
        };
        let masking = (entries.len() <= EAGER_MASK_ENTRIES).then_some(secrets);
        let mut read = Vec::new();
        for (key, entry) in entries {
            let fields = match entry {
                Value::Object(fields) => Some(fields),
                Value::Null => None,
                other => {
                    self.problem(
                        &["auths", key],
                        format!("must be an object, found {}", type_name(other)),
                    );
                    continue;
                }
            };
            read.push(self.auth_entry(key, fields, masking));
        }
        read
    }

    fn auth_entry(
        &mut self,
        key: &str,
        fields: Option<&serde_json::Map<String, Value>>,
        masking: Option<&Secrets>,
    ) -> AuthEntry {
        let mut field = |name: &str, secret: bool| -> Option<String> {
            match fields.and_then(|f| f.get(name)) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    if secret && let Some(secrets) = masking {
                        secrets.register(s);
                    }
                    Some(s.clone())
                }
                Some(other) => {
                    self.problem(
                        &["auths", key, name],
                        format!("must be a string, found {}", type_name(other)),
                    );
                    None
                }
            }
        };
        let auth = field("auth", true);
        let mut password = field("password", true);
        let identity_token = field("identitytoken", true);
        let registry_token = field("registrytoken", true);
        let mut username = field("username", false);
        let _ = field("serveraddress", false);
        let _ = field("email", false);
        if let Some(auth) = auth.as_ref().filter(|a| !a.is_empty()) {
            match decode_auth(auth, masking) {
                Ok((user, pass)) => {
                    username = Some(user);
                    password = Some(pass);
                }
                Err(why) => self.problem(&["auths", key, "auth"], why),
            }
        }
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        AuthEntry {
            key: key.to_string(),
            line: self.line_of(&["auths", key]),
            auth: nonempty(auth),
            username: nonempty(username),
            password,
            identity_token: nonempty(identity_token),
            registry_token: nonempty(registry_token),
        }
    }

    fn creds_store(&mut self, value: Option<&Value>) -> Option<Located<String>> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Located {
                value: s.clone(),
                line: self.line_of(&["credsStore"]),
            }),
            Some(other) => {
                self.problem(
                    &["credsStore"],
                    format!(
                        "must be a string (a helper name such as \"pass\"), found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn cred_helpers(&mut self, value: Option<&Value>) -> Vec<CredHelperEntry> {
        let entries = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Object(entries)) => entries,
            Some(other) => {
                self.problem(
                    &["credHelpers"],
                    format!(
                        "must be an object mapping registry hosts to helper names, found {}",
                        type_name(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut helpers = Vec::new();
        for (key, helper) in entries {
            match helper {
                Value::String(s) => helpers.push(CredHelperEntry {
                    key: key.clone(),
                    helper: s.clone(),
                    line: self.line_of(&["credHelpers", key]),
                }),
                other => self.problem(
                    &["credHelpers", key],
                    format!(
                        "must be a string (a helper name such as \"pass\"), found {}",
                        type_name(other)
                    ),
                ),
            }
        }
        helpers
    }
}

/// docker/cli `decodeAuth`: base64 of `user:password`, split at the first `:`, empty
/// user rejected, trailing NULs trimmed from the password. Registers the password with
/// `secrets`, when given.
fn decode_auth(auth: &str, secrets: Option<&Secrets>) -> Result<(String, String), String> {
    let register = |v: &str| {
        if let Some(secrets) = secrets {
            secrets.register(v);
        }
    };
    // Go's decoder skips line breaks.
    let cleaned: String = auth.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let decoded = GO_STD_BASE64.decode(cleaned.as_bytes()).map_err(|e| {
        let why = match e {
            base64::DecodeError::InvalidByte(offset, _) => {
                format!("a character that is not base64 at offset {offset}")
            }
            base64::DecodeError::InvalidLength(_) => "a length that is not valid".to_string(),
            base64::DecodeError::InvalidLastSymbol { offset, .. } => {
                format!("an invalid final symbol at offset {offset}")
            }
            base64::DecodeError::InvalidPadding => "missing or wrong `=` padding".to_string(),
        };
        format!("is not valid base64 of `user:password` ({why})")
    })?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| "decodes to bytes that are not UTF-8 text".to_string())?;
    register(&decoded);
    let Some((user, password)) = decoded.split_once(':') else {
        return Err(
            "decodes to a value without `:`; docker expects base64 of `user:password` (\"invalid auth configuration file\")"
                .to_string(),
        );
    };
    let password = password.trim_matches('\0');
    register(password);
    if user.is_empty() {
        return Err(
            "decodes to an empty user name; docker rejects it (\"invalid auth configuration file\")"
                .to_string(),
        );
    }
    Ok((user.to_string(), password.to_string()))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The 1-based line and column of every object key, by its path from the top
/// (array elements count as `[]`). The text is valid JSON when this runs.
fn key_positions(text: &str) -> HashMap<Vec<String>, (u32, u32)> {
    enum Frame {
        Object { key: Option<String>, want_key: bool },
        Array,
    }
    let mut out = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let (mut line, mut column) = (1u32, 0u32);
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        column += 1;
        match c {
            '\n' => {
                line += 1;
                column = 0;
            }
            '{' => stack.push(Frame::Object {
                key: None,
                want_key: true,
            }),
            '[' => stack.push(Frame::Array),
            '}' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = true;
                }
            }
            '"' => {
                let (key_line, key_column) = (line, column);
                let mut end = text.len() - 1;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    column += 1;
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = j;
                        break;
                    }
                }
                let is_key = matches!(stack.last(), Some(Frame::Object { want_key: true, .. }));
                if !is_key {
                    continue;
                }
                let key: String = serde_json::from_str(&text[start..=end]).unwrap_or_default();
                let mut path: Vec<String> = stack[..stack.len() - 1]
                    .iter()
                    .map(|f| match f {
                        Frame::Object { key, .. } => key.clone().unwrap_or_default(),
                        Frame::Array => "[]".to_string(),
                    })
                    .collect();
                path.push(key.clone());
                out.insert(path, (key_line, key_column));
                if let Some(Frame::Object {
                    key: current,
                    want_key,
                }) = stack.last_mut()
                {
                    *current = Some(key);
                    *want_key = false;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ACR_TOKEN_USER;
    use crate::docker::credential::*;
    use base64::engine::general_purpose::STANDARD;

    fn cfg(text: &str) -> DockerConfig {
        parse(Path::new("/x/config.json"), text, &Secrets::default()).expect("valid config")
    }

    fn problems(text: &str) -> Vec<ConfigProblem> {
        match parse(Path::new("/x/config.json"), text, &Secrets::default()) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn keys_are_normalised_like_docker_cli() {
        assert_eq!(auth_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(auth_key("index.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(auth_key("myreg.azurecr.io"), "myreg.azurecr.io");
        assert_eq!(auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(auth_key("registry-1.docker.io"), "registry-1.docker.io");
        assert_eq!(
            convert_to_hostname("https://myreg.example.com/v1/"),
            "myreg.example.com"
        );
        assert_eq!(
            convert_to_hostname("http://127.0.0.1:5000/v2/"),
            "127.0.0.1:5000"
        );
        assert_eq!(
            convert_to_hostname("myreg.example.com"),
            "myreg.example.com"
        );
        assert_eq!(convert_to_hostname(DOCKER_HUB_KEY), "index.docker.io");
    }

    #[test]
    fn cred_helpers_beat_creds_store_which_beats_auths() {
        let c = cfg(&format!(
            r#"{{
  "auths": {{
    "a.example": {{"auth": "{a}"}},
    "b.example": {{"auth": "{a}"}},
    "c.example": {{"auth": "{a}"}}
  }},
  "credsStore": "desktop",
  "credHelpers": {{ "a.example": "pass" }}
}}"#,
            a = b64("u:p")
        ));
        match c.resolve("a.example") {
            Resolution::Helper {
                name,
                via,
                line,
                key,
            } => {
                assert_eq!(
                    (name.as_str(), via, line, key.as_str()),
                    ("pass", HelperVia::CredHelpers, Some(8), "a.example")
                );
            }
            other => panic!("{other:?}"),
        }
        match c.resolve("b.example") {
            Resolution::Helper {
                name, via, line, ..
            } => {
                assert_eq!(
                    (name.as_str(), via, line),
                    ("desktop", HelperVia::CredsStore, Some(7))
                );
            }
            other => panic!("{other:?}"),
        }
        let c = cfg(&format!(
            r#"{{"auths": {{"b.example": {{"auth": "{}"}}}}}}"#,
            b64("u:p")
        ));
        match c.resolve("b.example") {
            Resolution::File {
                entry,
                legacy_match,
                ..
            } => {
                assert_eq!(
                    entry.kind(),
                    EntryKind::Basic {
                        username: "u".into()
                    }
                );
                assert!(!legacy_match);
                let cred = entry.credential().unwrap();
                assert_eq!((cred.username(), cred.secret()), ("u", "p"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.resolve("z.example"), Resolution::None { .. }));
    }

    #[test]
    fn empty_cred_helper_means_file_store_even_with_creds_store() {
        let c = cfg(&format!(
            r#"{{
  "credsStore": "desktop",
  "credHelpers": {{"a.example": ""}},
  "auths": {{"a.example": {{"auth": "{}"}}}}
}}"#,
            b64("u:p")
        ));
        match c.resolve("a.example") {
            Resolution::File {
                forced_by_empty_helper,
                ..
            } => assert_eq!(forced_by_empty_helper, Some(3)),
            other => panic!("{other:?}"),
        }
        let c = cfg(r#"{"credsStore": "desktop", "credHelpers": {"a.example": ""}}"#);
        assert!(matches!(
            c.resolve("a.example"),
            Resolution::None {
                forced_by_empty_helper: Some(_),
                ..
            }
        ));
        // An empty credsStore is no store at all.
        let c = cfg(r#"{"credsStore": ""}"#);
        assert!(matches!(
            c.resolve("a.example"),
            Resolution::None {
                forced_by_empty_helper: None,
                ..
            }
        ));
    }

    #[test]
    fn legacy_url_keys_match_by_host_name_and_hub_uses_its_key() {
        let c = cfg(&format!(
            r#"{{"auths": {{
  "https://legacy.example:5000/v1/": {{"auth": "{a}"}},
  "https://index.docker.io/v1/": {{"auth": "{h}"}}
}}}}"#,
            a = b64("old:pw"),
            h = b64("hubuser:pw")
        ));
        match c.resolve("legacy.example:5000") {
            Resolution::File {
                entry,
                legacy_match,
                key,
                ..
            } => {
                assert!(legacy_match);
                assert_eq!(key, "legacy.example:5000");
                assert_eq!(entry.key, "https://legacy.example:5000/v1/");
                assert_eq!(entry.line, Some(2));
            }
            other => panic!("{other:?}"),
        }
        // The port is part of the host: no match without it.
        assert!(matches!(
            c.resolve("legacy.example"),
            Resolution::None { .. }
        ));
        for hub in ["docker.io", "index.docker.io"] {
            match c.resolve(hub) {
                Resolution::File {
                    entry,
                    legacy_match,
                    ..
                } => {
                    assert!(!legacy_match);
                    assert_eq!(
                        entry.kind(),
                        EntryKind::Basic {
                            username: "hubuser".into()
                        }
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // A credHelpers entry for Hub must use the Hub key, not `docker.io`.
        let c = cfg(r#"{"credHelpers": {"docker.io": "pass"}}"#);
        assert!(matches!(c.resolve("docker.io"), Resolution::None { .. }));
        let c = cfg(r#"{"credHelpers": {"https://index.docker.io/v1/": "pass"}}"#);
        assert!(matches!(c.resolve("docker.io"), Resolution::Helper { .. }));
    }

    #[test]
    fn entry_kinds_and_token_credentials() {
        let jwt = crate::jwt::unsigned_for_tests(
            &serde_json::json!({"exp": 1_800_000_000, "iss": "Azure Container Registry"}),
        );
        let c = cfg(&format!(
            r#"{{"auths": {{
  "acr.azurecr.io": {{"auth": "{a}", "identitytoken": "{jwt}"}},
  "tok.example": {{"registrytoken": "rt-value-1234"}},
  "empty.example": {{}},
  "up.example": {{"username": "plain", "password": "pw-1234"}}
}}}}"#,
            a = b64(&format!("{ACR_TOKEN_USER}:"))
        ));
        let Resolution::File { entry, .. } = c.resolve("acr.azurecr.io") else {
            panic!()
        };
        assert_eq!(
            entry.kind(),
            EntryKind::IdentityToken {
                username: Some(ACR_TOKEN_USER.into())
            }
        );
        let cred = entry.credential().unwrap();
        assert_eq!(cred.kind(), CredentialKind::IdentityToken);
        assert!(cred.is_acr_refresh_token());
        assert!(
            cred.describe()
                .starts_with("an ACR refresh token for 00000000-")
        );
        assert!(cred.expires().is_some());
        let Resolution::File { entry, .. } = c.resolve("tok.example") else {
            panic!()
        };
        assert_eq!(entry.kind(), EntryKind::RegistryToken);
        let Resolution::File { entry, .. } = c.resolve("empty.example") else {
            panic!()
        };
        assert_eq!(entry.kind(), EntryKind::Empty);
        assert!(entry.credential().is_none());
        let Resolution::File { entry, .. } = c.resolve("up.example") else {
            panic!()
        };
        assert_eq!(
            entry.credential().unwrap().describe(),
            "username/password for plain"
        );
        // The null-GUID user with a JWT password is an ACR refresh token too.
        let cred = Credential::from_username_secret(ACR_TOKEN_USER.into(), jwt.clone());
        assert_eq!(cred.kind(), CredentialKind::IdentityToken);
        let cred = Credential::from_username_secret("someone".into(), "pw".into());
        assert_eq!(cred.kind(), CredentialKind::UsernamePassword);
        assert!(!format!("{cred:?}").contains("pw\""));
    }

    #[test]
    fn secrets_are_registered_even_when_invalid() {
        let secrets = Secrets::default();
        let text = format!(
            r#"{{"auths": {{"a": {{"auth": "{}", "identitytoken": "idtok-secret-1", "password": 5}}}}}}"#,
            b64("u:pass-secret-2")
        );
        let _ = parse(Path::new("/x/config.json"), &text, &secrets);
        let redacted = secrets.redact("idtok-secret-1 pass-secret-2");
        assert_eq!(redacted, "*** ***");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let text = "{\n  \"auths\": {\n    \"a\": {\"auth\": \"x\"},\n  }\n}\n";
        match parse(Path::new("/x/config.json"), text, &Secrets::default()) {
            Err(ConfigError::Syntax {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(line, 4);
                assert!(column >= 3, "{column}");
                assert!(!message.contains("line 4"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_types_and_bad_auth_name_the_key_and_line() {
        let p = problems(&format!(
            r#"{{
  "credsStore": 7,
  "credHelpers": {{
    "a.example": ["pass"]
  }},
  "auths": {{
    "b.example": {{ "auth": "not base64!" }},
    "c.example": {{ "auth": "{nocolon}" }},
    "d.example": {{ "auth": "{emptyuser}" }},
    "e.example": "oops",
    "f.example": {{ "identitytoken": true }}
  }}
}}"#,
            nocolon = b64("justuser"),
            emptyuser = b64(":pw")
        ));
        let summary: Vec<(String, Option<u32>)> =
            p.iter().map(|p| (p.key.clone(), p.line)).collect();
        assert_eq!(
            summary,
            vec![
                ("credsStore".to_string(), Some(2)),
                ("credHelpers[\"a.example\"]".to_string(), Some(4)),
                ("auths[\"b.example\"].auth".to_string(), Some(7)),
                ("auths[\"c.example\"].auth".to_string(), Some(8)),
                ("auths[\"d.example\"].auth".to_string(), Some(9)),
                ("auths[\"e.example\"]".to_string(), Some(10)),
                ("auths[\"f.example\"].identitytoken".to_string(), Some(11)),
            ]
        );
        assert!(p[2].problem.contains("base64"));
        assert!(p[3].problem.contains("without `:`"));
        assert!(p[4].problem.contains("empty user"));
        assert_eq!(p[0].column, Some(3));
        let p = problems("[1, 2]");
        assert_eq!(p[0].key, "(top level)");
        let p = problems(r#"{"auths": []}"#);
        assert_eq!((p[0].key.as_str(), p[0].line), ("auths", Some(1)));
    }

    #[test]
    fn missing_file_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        match load(dir.path(), &Secrets::default()).unwrap() {
            Load::Missing { path, dir_exists } => {
                assert!(dir_exists);
                assert_eq!(path, dir.path().join("config.json"));
            }
            other => panic!("{other:?}"),
        }
        match load(&dir.path().join("nope"), &Secrets::default()).unwrap() {
            Load::Missing { dir_exists, .. } => assert!(!dir_exists),
            other => panic!("{other:?}"),
        }
        std::fs::write(dir.path().join("config.json"), "{\"credsStore\":\"pass\"}").unwrap();
        let Load::Loaded(c) = load(dir.path(), &Secrets::default()).unwrap() else {
            panic!()
        };
        assert_eq!(c.creds_store_name().map(|s| s.value.as_str()), Some("pass"));
    }

    #[test]
    fn key_positions_handle_escapes_and_nesting() {
        let text = "{\"a\\\"b\": {\"x\": [ {\"y\": 1} ]},\n \"c\": \"{not a key}\", \"d\": 2}";
        let pos = key_positions(text);
        assert_eq!(pos.get(&vec!["a\"b".to_string()]), Some(&(1, 2)));
        assert_eq!(
            pos.get(&vec!["a\"b".to_string(), "x".to_string()]),
            Some(&(1, 11))
        );
        assert!(pos.contains_key(&vec![
            "a\"b".to_string(),
            "x".to_string(),
            "[]".to_string(),
            "y".to_string()
        ]));
        assert_eq!(pos.get(&vec!["c".to_string()]), Some(&(2, 2)));
        assert_eq!(pos.get(&vec!["d".to_string()]), Some(&(2, 22)));
        assert_eq!(pos.len(), 5);
    }
}
