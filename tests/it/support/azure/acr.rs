//! The ACR data plane glue: the role table of the [`Arm`] fake turned into
//! [`TokenServer`] grants, and Entra tokens accepted by its `POST /oauth2/exchange`.
//!
//! Principal: the TokenServer user is the app's **object id** (`oid`), the id role
//! assignments name (azure-rest-api-specs Microsoft.Authorization 2022-04-01, role assignments). So `TokenRequest::principal`, the refresh token's
//! `sub` and grants are all keyed by object id.
//!
//! Which Entra tokens the exchange accepts (registered with
//! [`TokenServer::accept_entra_token`] the moment Entra issues them, and for tokens
//! issued before [`AcrBridge::connect`]): tokens whose `tid` is the registry's
//! subscription tenant and whose `aud` is `https://containerregistry.azure.net`, or an
//! ARM audience while the registry's `azureADAuthenticationAsArmPolicy` is enabled
//! (Microsoft Learn, ACR "disable authentication as ARM"; evaluated when the token is issued).
//!
//! Data-plane rights per role assignment covering the registry (scope = registry,
//! resource group or subscription), per the registry's `roleAssignmentMode`:
//!
//! | right (docker scope action) | `LegacyRegistryPermissions` | `AbacRepositoryPermissions` |
//! |---|---|---|
//! | `pull` | action `registries/pull/read` or data action `repositories/content/read` | data action `content/read` |
//! | `push` | action `registries/push/write` or data action `content/write` | data action `content/write` |
//! | `delete` | action `registries/artifacts/delete` or data action `content/delete` | data action `content/delete` |
//! | `metadata_read` | pull, or data action `metadata/read` | data action `metadata/read` |
//! | `metadata_write` | action `*` (Owner, Contributor), or data action `metadata/write` | data action `metadata/write` |
//! | `registry:catalog:*` | action `registries/pull/read` or data action `catalog/read` | data action `catalog/read` |
//!
//! So in ABAC mode AcrPull, AcrPush, Owner, Contributor and Reader grant nothing on the
//! data plane; Container Registry Repository Reader gives pull, Writer pull and push.
//! Wildcards count (Owner's `*` and Reader's `*/read` include `registries/pull/read`, so
//! Reader can pull in RBAC mode, azure-rest-api-specs Microsoft.ContainerRegistry 2025-11-01, roleAssignmentMode). Choices (the reference is silent): the
//! Repository roles also work in RBAC mode; a repository condition
//! ([`Arm::assign_limited`]) limits that assignment's rights to those repositories in
//! both modes (exact names; the TokenServer has no prefix match); catalog listing for
//! AcrPull holders in RBAC mode.
//!
//! Grants are recomputed on every change of the role table or the registry
//! ([`Arm::on_change`]): for each principal concerned, `revoke_all` then `grant` — so the
//! bridge owns the TokenServer grants of every principal that has (or had) an assignment
//! covering the registry; add manual grants for other users only.

use super::super::http::{Request, Response};
use super::super::registry::Kind;
use super::super::token::TokenServer;
use super::arm::{
    ACTION_DELETE, ACTION_PULL, ACTION_PUSH, Arm, DATA_CATALOG_READ, DATA_CONTENT_DELETE,
    DATA_CONTENT_READ, DATA_CONTENT_WRITE, DATA_METADATA_READ, DATA_METADATA_WRITE,
    RoleAssignmentMode, WeakArm,
};
use super::entra::{Entra, IssuedToken};
use super::{ACR_AUDIENCE, AzureFakes, Cloud};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};

/// What one principal may do on one registry's data plane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataPlaneAccess {
    /// (repository or `*`, docker actions), one entry per contributing assignment.
    pub repositories: Vec<(String, Vec<String>)>,
    pub catalog: bool,
}

impl DataPlaneAccess {
    /// Whether `action` (`pull`, `push`, …) is granted on `repo`.
    pub fn can(&self, repo: &str, action: &str) -> bool {
        self.repositories
            .iter()
            .any(|(r, actions)| (r == "*" || r == repo) && actions.iter().any(|a| a == action))
    }

    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty() && !self.catalog
    }
}

/// Computes `principal_id`'s data-plane rights on `registry_id` (module docs).
pub fn data_plane_access(arm: &Arm, principal_id: &str, registry_id: &str) -> DataPlaneAccess {
    let Some(registry) = arm.registry(registry_id) else {
        return DataPlaneAccess::default();
    };
    let abac = registry.role_assignment_mode == RoleAssignmentMode::AbacRepositoryPermissions;
    let mut out = DataPlaneAccess::default();
    for assignment in arm.assignments_covering(principal_id, registry_id) {
        let def = assignment.role.definition();
        let action = |a: &str| !abac && def.allows_action(a);
        let data = |a: &str| def.allows_data_action(a);
        let pull = action(ACTION_PULL) || data(DATA_CONTENT_READ);
        let push = action(ACTION_PUSH) || data(DATA_CONTENT_WRITE);
        let delete = action(ACTION_DELETE) || data(DATA_CONTENT_DELETE);
        let metadata_read = (!abac && pull) || data(DATA_METADATA_READ);
        // AcrPush's actions (`pull/read`, `push/write`) do not carry it (P17); Owner's
        // and Contributor's `*` do, in RBAC mode.
        let metadata_write =
            (!abac && def.actions.iter().any(|a| a == "*")) || data(DATA_METADATA_WRITE);
        let mut actions = Vec::new();
        for (granted, name) in [
            (pull, "pull"),
            (push, "push"),
            (delete, "delete"),
            (metadata_read, "metadata_read"),
            (metadata_write, "metadata_write"),
        ] {
            if granted {
                actions.push(name.to_string());
            }
        }
        if !actions.is_empty() {
            match &assignment.repositories {
                None => out.repositories.push(("*".to_string(), actions)),
                Some(repos) => {
                    for repo in repos {
                        out.repositories
                            .push((repo.to_ascii_lowercase(), actions.clone()));
                    }
                }
            }
        }
        if action(ACTION_PULL) || data(DATA_CATALOG_READ) {
            out.catalog = true;
        }
    }
    out
}

/// A plain-HTTP token registry meant to sit behind [`AzureFakes::serve_registry`]:
/// its challenge names `realm="https://<service>/oauth2/token"`, as ACR's does.
pub fn fronted_registry_kind(ts: &TokenServer) -> Kind {
    Kind::Token {
        realm: format!("https://{}/oauth2/token", ts.service()),
        service: ts.service().to_string(),
        issuer: ts.issuer().to_string(),
        bundle: ts.bundle_path().to_path_buf(),
    }
}

struct Inner {
    ts: Weak<TokenServer>,
    arm: WeakArm,
    registry_id: String,
    /// Principals whose grants this bridge wrote.
    granted: Mutex<BTreeSet<String>>,
}

impl Inner {
    fn sync(&self, arm: &Arm) {
        let Some(ts) = self.ts.upgrade() else { return };
        let mut granted = self.granted.lock().unwrap();
        let mut principals: BTreeSet<String> = granted.clone();
        for a in arm.assignments() {
            if super::arm::scope_covers(&a.scope, &self.registry_id) {
                principals.insert(a.principal_id.to_ascii_lowercase());
            }
        }
        for principal in &principals {
            ts.revoke_all(principal);
            let access = data_plane_access(arm, principal, &self.registry_id);
            for (repo, actions) in &access.repositories {
                let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
                ts.grant(principal, repo, &actions);
            }
            if access.catalog {
                ts.grant_resource(principal, "registry", "catalog", &["*"]);
            }
        }
        *granted = principals;
    }

    fn accept(&self, token: &IssuedToken) {
        let (Some(ts), Some(arm)) = (self.ts.upgrade(), self.arm.upgrade()) else {
            return;
        };
        let Some(registry) = arm.registry(&self.registry_id) else {
            return;
        };
        let Some(tenant) = arm.subscription_tenant(&registry.subscription) else {
            return;
        };
        if !token.tenant_id.eq_ignore_ascii_case(&tenant) {
            return;
        }
        let aud = token.audience.trim_end_matches('/');
        let acr = aud.eq_ignore_ascii_case(ACR_AUDIENCE);
        let arm_aud = Cloud::ALL.iter().any(|c| {
            c.arm_audience().trim_end_matches('/') == aud
                || c.arm_legacy_audience().trim_end_matches('/') == aud
        });
        if acr || (arm_aud && registry.aad_auth_as_arm) {
            ts.accept_entra_token(&token.access_token, &token.object_id.to_ascii_lowercase());
        }
    }
}

/// Connects a [`TokenServer`] (the data plane of one registry of the [`Arm`] fake) to
/// the Entra fake and the role table. The hooks stay installed for the fakes' lifetime
/// whether or not this handle is kept; they hold the TokenServer weakly, so the test's
/// `Arc` decides when it stops.
pub struct AcrBridge {
    inner: Arc<Inner>,
    arm: Arm,
}

impl AcrBridge {
    /// For `registry_id` of `az.arm`; the TokenServer's `service` must be the
    /// registry's login server.
    pub fn connect(az: &AzureFakes, ts: &Arc<TokenServer>, registry_id: &str) -> AcrBridge {
        AcrBridge::connect_parts(&az.entra, &az.arm, ts, registry_id)
    }

    /// The same with the fakes given one by one.
    pub fn connect_parts(
        entra: &Entra,
        arm: &Arm,
        ts: &Arc<TokenServer>,
        registry_id: &str,
    ) -> AcrBridge {
        let registry = arm
            .registry(registry_id)
            .unwrap_or_else(|| panic!("add_registry before bridging {registry_id}"));
        assert!(
            registry.login_server.eq_ignore_ascii_case(ts.service()),
            "token server service {:?} is not the registry's login server {:?}",
            ts.service(),
            registry.login_server
        );
        let inner = Arc::new(Inner {
            ts: Arc::downgrade(ts),
            arm: arm.downgrade(),
            registry_id: registry.id(),
            granted: Mutex::new(BTreeSet::new()),
        });
        for token in entra.issued() {
            inner.accept(&token);
        }
        let hook = inner.clone();
        entra.on_issue(move |token| hook.accept(token));
        let listener = inner.clone();
        arm.on_change(move |arm| listener.sync(arm));
        inner.sync(arm);
        AcrBridge {
            inner,
            arm: arm.clone(),
        }
    }

    /// Recomputes the grants now (also done on every role-table change).
    pub fn sync(&self) {
        self.inner.sync(&self.arm);
    }

    /// `principal_id`'s data-plane rights on the bridged registry.
    pub fn access(&self, principal_id: &str) -> DataPlaneAccess {
        data_plane_access(&self.arm, principal_id, &self.inner.registry_id)
    }

    pub fn registry_id(&self) -> &str {
        &self.inner.registry_id
    }
}

/// ACR's metadata API for the routed registries ([`AzureFakes::serve_registry`]):
/// `GET /acr/v1/{name}` and `GET /acr/v1/{name}/_tags/{reference}`, with the
/// documented answers (azure-rest-api-specs
/// `specification/containerregistry/data-plane/Microsoft.ContainerRegistry`, operations
/// `ContainerRegistry_GetProperties` / `ContainerRegistry_GetTagProperties`; Learn
/// https://learn.microsoft.com/rest/api/containerregistry/repository/get-properties and
/// https://learn.microsoft.com/rest/api/containerregistry/tag/get-properties).
///
/// The fake knows only the repositories and tags a test declares ([`Self::repository`],
/// [`Self::tag`]); every other one answers 404 as a repository or tag that does not
/// exist. A request needs a Bearer token whose `access` claim grants `metadata_read` on
/// the repository (the scope azure-cli asks for these calls, `acr/_docker_utils.py`);
/// the token server signed it, so its claims are read, not its signature checked
/// again. Without one: 401 with a Bearer challenge naming that scope.
#[derive(Clone, Default)]
pub struct AcrMetadata {
    /// (login server, repository) → (changeableAttributes, tags → (digest, attributes)).
    repos: Arc<Mutex<std::collections::HashMap<(String, String), DeclaredRepository>>>,
}

#[derive(Clone, Default)]
struct DeclaredRepository {
    attributes: serde_json::Value,
    tags: std::collections::BTreeMap<String, (String, serde_json::Value)>,
}

/// `changeableAttributes` with write and read as given (delete and list enabled).
pub fn changeable(write: bool, read: bool) -> serde_json::Value {
    serde_json::json!({
        "deleteEnabled": true,
        "writeEnabled": write,
        "readEnabled": read,
        "listEnabled": true,
    })
}

impl AcrMetadata {
    /// Declares `repo` on `host` with these attributes (see [`changeable`]).
    pub fn repository(&self, host: &str, repo: &str, attributes: serde_json::Value) {
        let mut repos = self.repos.lock().unwrap();
        let entry = repos
            .entry((host.to_ascii_lowercase(), repo.to_string()))
            .or_default();
        entry.attributes = attributes;
    }

    /// Declares `repo:tag` (pointing at `digest`) with these attributes; declares the
    /// repository (all enabled) when it is not yet.
    pub fn tag(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
        digest: &str,
        attributes: serde_json::Value,
    ) {
        let mut repos = self.repos.lock().unwrap();
        let entry = repos
            .entry((host.to_ascii_lowercase(), repo.to_string()))
            .or_insert_with(|| DeclaredRepository {
                attributes: changeable(true, true),
                ..Default::default()
            });
        entry
            .tags
            .insert(tag.to_string(), (digest.to_string(), attributes));
    }

    /// For a manifest read (`/v2/<repo>/manifests/<reference>`) of a read-locked
    /// repository or tag: ACR's refusal, `REGISTRY_DISALLOWED_OPERATION` with the text of
    /// the ACR FAQ (https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation).
    /// The status is a choice: 405, as ACR answered a disallowed operation in
    /// Azure/azure-sdk-for-net issue 22827; the pull's own status is not documented.
    pub fn refuses_read(&self, host: &str, path: &str) -> Option<Response> {
        let rest = path.strip_prefix("/v2/")?;
        let (repo, reference) = rest.split_once("/manifests/")?;
        let repos = self.repos.lock().unwrap();
        let declared = repos.get(&(host.to_ascii_lowercase(), repo.to_string()))?;
        let unreadable = |a: &serde_json::Value| a["readEnabled"] == false;
        let locked = unreadable(&declared.attributes)
            || declared
                .tags
                .get(reference)
                .is_some_and(|(_, a)| unreadable(a));
        locked.then(|| {
            Response::registry_error(
                405,
                "REGISTRY_DISALLOWED_OPERATION",
                "The operation is disallowed on this registry, repository or image. View troubleshooting steps at https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation",
            )
        })
    }

    /// Answers a request under `/acr/v1/` for `host`.
    pub fn handle(&self, host: &str, req: &Request) -> Response {
        let Some(rest) = req.path.strip_prefix("/acr/v1/") else {
            return Response::registry_error(404, "NOT_FOUND", "no such route");
        };
        let (repo, tag) = match rest.split_once("/_tags/") {
            Some((repo, tag)) => (repo, Some(tag)),
            None => (rest, None),
        };
        if req.method != "GET" {
            return Response::registry_error(405, "UNSUPPORTED", "the fake serves GET only");
        }
        if !grants_metadata_read(req, repo) {
            return Response::registry_error(
                401,
                "UNAUTHORIZED",
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
            )
            .header(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="https://{host}/oauth2/token",service="{host}",scope="repository:{repo}:metadata_read""#
                ),
            );
        }
        let repos = self.repos.lock().unwrap();
        let Some(declared) = repos.get(&(host.to_ascii_lowercase(), repo.to_string())) else {
            return Response::registry_error(
                404,
                "NAME_UNKNOWN",
                "repository name not known to registry",
            );
        };
        let Some(tag) = tag else {
            return Response::json(
                200,
                &serde_json::json!({
                    "registry": host,
                    "imageName": repo,
                    "createdTime": "2026-01-05T10:00:00.0000000Z",
                    "lastUpdateTime": "2026-01-05T10:00:00.0000000Z",
                    "manifestCount": declared.tags.len(),
                    "tagCount": declared.tags.len(),
                    "changeableAttributes": declared.attributes,
                }),
            );
        };
        match declared.tags.get(tag) {
            Some((digest, attributes)) => Response::json(
                200,
                &serde_json::json!({
                    "registry": host,
                    "imageName": repo,
                    "tag": {
                        "name": tag,
                        "digest": digest,
                        "createdTime": "2026-01-05T10:00:00.0000000Z",
                        "lastUpdateTime": "2026-01-05T10:00:00.0000000Z",
                        "signed": false,
                        "changeableAttributes": attributes,
                    },
                }),
            ),
            None => {
                Response::registry_error(404, "TAG_UNKNOWN", "the specified tag does not exist")
            }
        }
    }
}

/// Whether the request's Bearer token grants `metadata_read` on `repo`.
fn grants_metadata_read(req: &Request, repo: &str) -> bool {
    let Some(token) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    let Some(claims) = super::try_decode_claims(token.trim()) else {
        return false;
    };
    claims["access"].as_array().into_iter().flatten().any(|a| {
        a["type"] == "repository"
            && a["name"] == repo
            && a["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x == "metadata_read" || x == "*")
    })
}
