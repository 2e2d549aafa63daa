//! Proves the test harness in `tests/it/support` against the real registry (distribution
//! 2.8 `docker-registry`), the real `openssl`, and itself: fixtures land with the digests
//! and media types they report, TLS needs the test CA, the token server's ES256 tokens
//! are accepted with the right scopes and refused without, and the misbehaving servers
//! misbehave as documented. Offline, loopback only, every server on port 0.

use crate::support;

use std::time::{Duration, Instant};
use support::fixtures::{
    ACCEPT_MANIFESTS, CONTEXT_ARTIFACT_TYPE, DOCKER_MANIFEST_V2, OCI_EMPTY, OCI_EMPTY_DIGEST,
    OCI_INDEX, OCI_MANIFEST, Published, Publisher, TITLE_ANNOTATION,
};
use support::http::form_encode;
use support::registry::{Kind, TestRegistry, refused_addr};
use support::servers::{self, FIREWALL_BODY, THROTTLED_BODY, Upstream};
use support::tls::TestCa;
use support::token::{
    ANONYMOUS, Access, EmptyAccess, NULL_GUID, TokenServer, basic_auth, decode_claims,
    decode_header, ecdsa_der_to_raw,
};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(" <- ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// HEAD `/v2/<repo>/manifests/<reference>` with the four manifest types accepted.
async fn head_manifest(
    client: &reqwest::Client,
    base: &str,
    repo: &str,
    reference: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .head(format!("{base}/v2/{repo}/manifests/{reference}"))
        .header("Accept", ACCEPT_MANIFESTS);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn assert_served(client: &reqwest::Client, base: &str, fixture: &Published) {
    let r = head_manifest(client, base, &fixture.repo, &fixture.tag, None).await;
    assert_eq!(r.status(), 200, "{}", fixture.reference);
    assert_eq!(header(&r, "docker-content-digest"), fixture.digest);
    assert_eq!(header(&r, "content-type"), fixture.media_type);
    assert_eq!(header(&r, "content-length"), fixture.size.to_string());
}

// ---------------------------------------------------------------------------------------

#[test]
fn harness_primitives_match_reference_tools() {
    use support::fixtures::{crc32, gzip, tar};
    use support::sha256::{digest, sha256_hex};

    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(digest(b"{}"), OCI_EMPTY_DIGEST);
    // Multi-block input with every padding boundary nearby, against sha256sum.
    let data: Vec<u8> = (0..200_003u32).map(|i| (i * 31 % 251) as u8).collect();
    for len in [55, 56, 63, 64, 65, 119, 120, 200_003] {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&data[..len])?;
                c.wait_with_output()
            })
            .unwrap();
        let expected = String::from_utf8(out.stdout).unwrap();
        assert_eq!(sha256_hex(&data[..len]), expected[..64], "len {len}");
    }

    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(support::rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(support::rfc3339(951_827_696), "2000-02-29T12:34:56Z");

    // The tarball is a real .tar.gz: GNU tar lists it and extracts the exact bytes.
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(
        &archive,
        gzip(&tar(&[("Dockerfile", b"FROM scratch\n"), ("big", &big)])),
    )
    .unwrap();
    let listing = std::process::Command::new("tar")
        .args(["-tzf", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(listing.status.success(), "{listing:?}");
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout),
        "Dockerfile\nbig\n"
    );
    let extracted = std::process::Command::new("tar")
        .args(["-xzOf", archive.to_str().unwrap(), "big"])
        .output()
        .unwrap();
    assert!(extracted.status.success(), "{extracted:?}");
    assert_eq!(extracted.stdout, big);

    // DER ECDSA signatures → raw r||s: a 33-byte r (leading 0x00 because the top bit is
    // set) and a 31-byte s (a short value) both come out as 32 bytes each.
    let mut der = vec![0x30, 4 + 33 + 31, 0x02, 33, 0x00];
    der.extend(std::iter::repeat_n(0xAB, 32));
    der.extend([0x02, 31]);
    der.extend(std::iter::repeat_n(0x11, 31));
    let raw = ecdsa_der_to_raw(&der).unwrap();
    assert_eq!(raw[..32], [0xAB; 32]);
    assert_eq!(raw[32], 0);
    assert_eq!(raw[33..], [0x11; 31]);
    assert!(ecdsa_der_to_raw(&der[..der.len() - 1]).is_err());
}

#[tokio::test]
async fn plain_registry_serves_every_fixture() {
    let reg = TestRegistry::start(Kind::Plain).await;
    let base = reg.url();
    let publisher = Publisher::new(&base);
    let client = client();

    let v2 = client.get(format!("{base}/v2/")).send().await.unwrap();
    assert_eq!(v2.status(), 200);
    assert_eq!(
        header(&v2, "docker-distribution-api-version"),
        "registry/2.0"
    );

    let image = publisher.single_image("team/app", "v1").await;
    assert_eq!(image.media_type, OCI_MANIFEST);
    assert_eq!(image.reference, format!("{}/team/app:v1", reg.host()));
    assert_served(&client, &base, &image).await;
    // By digest too.
    let by_digest = head_manifest(&client, &base, "team/app", &image.digest, None).await;
    assert_eq!(by_digest.status(), 200);

    let index = publisher.oci_index("team/multi", "v1").await;
    assert_eq!(index.media_type, OCI_INDEX);
    assert_eq!(index.children.len(), 2);
    let platforms: Vec<_> = index.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);
    assert_served(&client, &base, &index).await;
    for child in &index.children {
        let r = head_manifest(&client, &base, "team/multi", &child.digest, None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), OCI_MANIFEST);
    }

    let artifact = publisher.titled_artifact("team/ctx", "v1").await;
    assert_served(&client, &base, &artifact).await;
    assert_eq!(
        artifact.artifact_type.as_deref(),
        Some(CONTEXT_ARTIFACT_TYPE)
    );
    let m = artifact.json();
    assert_eq!(m["config"]["mediaType"], OCI_EMPTY);
    assert_eq!(m["config"]["digest"], OCI_EMPTY_DIGEST);
    assert_eq!(m["config"]["size"], 2);
    assert_eq!(
        m["layers"][0]["annotations"][TITLE_ANNOTATION],
        "context.tar.gz"
    );
    // The served manifest is byte-identical to what the fixture reports.
    let got = client
        .get(format!("{base}/v2/team/ctx/manifests/v1"))
        .header("Accept", ACCEPT_MANIFESTS)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        artifact.manifest.as_slice()
    );

    let untitled = publisher.untitled_image("team/ctx", "plain").await;
    assert_served(&client, &base, &untitled).await;
    assert!(untitled.artifact_type.is_none());
    assert!(untitled.layers.iter().all(|l| l.title.is_none()));
    assert!(untitled.json()["layers"][0].get("annotations").is_none());

    let docker = publisher.docker_v2_image("team/docker", "v1").await;
    assert_eq!(docker.media_type, DOCKER_MANIFEST_V2);
    assert_served(&client, &base, &docker).await;

    // The Accept pitfall the harness documents: no OCI type accepted → 404.
    let no_accept = client
        .head(format!("{base}/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_accept.status(), 404);

    // Deterministic content: the same fixture has the same digest on another registry.
    let other = TestRegistry::start(Kind::Plain).await;
    let again = Publisher::new(&other.url())
        .single_image("team/app", "v1")
        .await;
    assert_eq!(again.digest, image.digest);
}

#[tokio::test]
async fn tls_registry_is_reached_with_the_test_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let untrusted = TestCa::untrusted(dir.path());
    let (cert, key) = ca.issue_server_cert(&["registry.test", "localhost"]);
    let reg = TestRegistry::start(Kind::Tls { cert, key }).await;
    assert_eq!(reg.url(), format!("https://{}", reg.addr()));

    let with_ca = reqwest::Client::builder()
        .no_proxy()
        .resolve("registry.test", reg.addr())
        .tls_certs_merge([ca.certificate()])
        .build()
        .unwrap();
    // No port in the URL: resolve() supplies it.
    let r = with_ca
        .get("https://registry.test/v2/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The IP SAN works too.
    let r = with_ca
        .get(format!("{}/v2/", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Fixtures publish over TLS with the CA and a resolved name.
    let publisher = Publisher::new(&reg.url_as("registry.test"))
        .with_ca(ca.ca_pem_path())
        .with_resolve("registry.test", reg.addr());
    let image = publisher.single_image("team/app", "v1").await;
    assert_eq!(
        image.reference,
        format!("registry.test:{}/team/app:v1", reg.port())
    );
    let r = head_manifest(&with_ca, "https://registry.test", "team/app", "v1", None).await;
    assert_eq!(header(&r, "docker-content-digest"), image.digest);

    for (label, builder) in [
        ("system roots only", reqwest::Client::builder()),
        (
            "another CA",
            reqwest::Client::builder().tls_certs_merge([untrusted.certificate()]),
        ),
    ] {
        let client = builder
            .no_proxy()
            .resolve("registry.test", reg.addr())
            .build()
            .unwrap();
        let err = client
            .get("https://registry.test/v2/")
            .send()
            .await
            .expect_err(label);
        let chain = error_chain(&err);
        assert!(chain.contains("UnknownIssuer"), "{label}: {chain}");
    }

    // Plain HTTP to the TLS port: Go's answer.
    let r = client()
        .get(format!("http://{}/v2/", reg.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Token auth over TLS starts and challenges.
    let token = TokenServer::start();
    let (cert, key) = ca.issue_server_cert(&["registry.test"]);
    let treg = TestRegistry::start(token.registry_kind_tls(&cert, &key)).await;
    let r = with_ca
        .get(format!("{}/v2/", treg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        header(&r, "www-authenticate"),
        format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            token.oauth2_realm(),
            token.service()
        )
    );
}

#[tokio::test]
async fn token_registry_accepts_exactly_the_granted_scopes() {
    let token = TokenServer::start();
    token.add_user("reader", "reader-pw");
    token.add_user("nobody", "nobody-pw");
    token.grant("reader", "team/app", &["pull"]);
    token.grant(ANONYMOUS, "public/app", &["pull"]);
    let started = Instant::now();
    let reg = TestRegistry::start(token.registry_kind()).await;
    eprintln!(
        "token registry ready in {:?} (process start to listening: {:?})",
        started.elapsed(),
        reg.startup_time()
    );
    let base = reg.url();
    let client = client();

    // Anonymous /v2/: the Bearer challenge names the realm and service.
    let r = client.get(format!("{base}/v2/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        header(&r, "www-authenticate"),
        format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            token.realm(),
            token.service()
        )
    );

    let started = Instant::now();
    let admin = token.admin_token(&[("team/app", &["pull", "push"])]);
    eprintln!(
        "admin_token (one openssl ES256 signature): {:?}",
        started.elapsed()
    );
    let r = client
        .get(format!("{base}/v2/"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let publisher = Publisher::new(&base).with_token_server(&token);
    let image = publisher.single_image("team/app", "v1").await;
    let public = publisher.single_image("public/app", "v1").await;

    let fetch = |user: Option<(&str, &str)>, scopes: &[&str]| {
        let mut query: Vec<(&str, &str)> = vec![("service", token.service())];
        query.extend(scopes.iter().map(|s| ("scope", *s)));
        if let Some((u, _)) = user {
            query.push(("account", u));
        }
        let mut req = client.get(format!("{}?{}", token.realm(), form_encode(&query)));
        if let Some((u, p)) = user {
            req = req.header("Authorization", basic_auth(u, p));
        }
        req.send()
    };

    // A pull grant: HEAD 200 with the fixture's digest.
    let started = Instant::now();
    let r = fetch(Some(("reader", "reader-pw")), &["repository:team/app:pull"])
        .await
        .unwrap();
    eprintln!("token request with ES256 signing: {:?}", started.elapsed());
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["token"], body["access_token"]);
    let jwt = body["token"].as_str().unwrap();
    let header_json = decode_header(jwt);
    assert_eq!(header_json["alg"], "ES256");
    assert_eq!(header_json["x5c"][0], token.signer().x5c());
    let claims = decode_claims(jwt);
    assert_eq!(claims["iss"], token.issuer());
    assert_eq!(claims["aud"], token.service());
    assert_eq!(claims["sub"], "reader");
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "team/app", "actions": ["pull"]}])
    );
    let ok = head_manifest(&client, &base, "team/app", "v1", Some(jwt)).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "docker-content-digest"), image.digest);

    // pull,push requested, pull granted: the intersection.
    let r = fetch(
        Some(("reader", "reader-pw")),
        &["repository:team/app:pull,push"],
    )
    .await
    .unwrap();
    let claims = decode_claims(
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["access"][0]["actions"], serde_json::json!(["pull"]));

    // Nothing granted: 200 with empty actions, and the registry says insufficient_scope.
    let r = fetch(Some(("nobody", "nobody-pw")), &["repository:team/app:pull"])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwt = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        decode_claims(&jwt)["access"],
        serde_json::json!([{"type": "repository", "name": "team/app", "actions": []}])
    );
    let denied = head_manifest(&client, &base, "team/app", "v1", Some(&jwt)).await;
    assert_eq!(denied.status(), 401);
    let challenge = header(&denied, "www-authenticate");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"repository:team/app:pull\""),
        "{challenge}"
    );
    // ...and the same token is fine on /v2/.
    let r = client
        .get(format!("{base}/v2/"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    token.set_empty_access(EmptyAccess::Omit);
    let omitted = token.token_for("nobody", &["repository:team/app:pull"]);
    assert_eq!(decode_claims(&omitted)["access"], serde_json::json!([]));

    // Wrong password: 401 with the distribution error shape.
    let r = fetch(Some(("reader", "wrong")), &["repository:team/app:pull"])
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").starts_with("Basic "));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");

    // Anonymous grant: anonymous token pulls the public repo only.
    let r = fetch(None, &["repository:public/app:pull"]).await.unwrap();
    let jwt = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = head_manifest(&client, &base, "public/app", "v1", Some(&jwt)).await;
    assert_eq!(header(&ok, "docker-content-digest"), public.digest);

    // The null GUID with a refresh token as password.
    let refresh = token.issue_refresh_token("reader");
    let r = fetch(Some((NULL_GUID, &refresh)), &["repository:team/app:pull"])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwt = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(decode_claims(&jwt)["sub"], "reader");

    // Tokens the registry must reject: expired beyond its leeway, wrong issuer.
    let expired = token.mint("reader", &[Access::repository("team/app", &["pull"])], -120);
    let r = head_manifest(&client, &base, "team/app", "v1", Some(&expired)).await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains("invalid_token"));
    let mut claims = token.claims("reader", &[Access::repository("team/app", &["pull"])], 300);
    claims["iss"] = "someone-else".into();
    let foreign = token.signer().sign(&claims);
    let r = head_manifest(&client, &base, "team/app", "v1", Some(&foreign)).await;
    assert_eq!(r.status(), 401);
    assert!(
        reg.log().contains("token from untrusted issuer"),
        "{}",
        reg.log()
    );

    // The log: who asked for what, secrets never recorded.
    let log = token.requests();
    assert_eq!(log.len(), 6, "{log:#?}");
    assert_eq!(log[0].scopes, ["repository:team/app:pull"]);
    assert_eq!(log[0].principal.as_deref(), Some("reader"));
    assert_eq!(log[0].account.as_deref(), Some("reader"));
    assert_eq!(log[0].service.as_deref(), Some(token.service()));
    assert_eq!(log[3].principal, None);
    assert_eq!(log[3].status, 401);
    assert_eq!(log[4].principal.as_deref(), Some(ANONYMOUS));
    assert_eq!(log[5].basic_user.as_deref(), Some(NULL_GUID));
    assert!(!format!("{log:?}").contains(&refresh));
}

#[tokio::test]
async fn token_server_speaks_the_acr_oauth2_endpoints() {
    let token = TokenServer::start();
    token.add_user("pusher", "pusher-pw");
    token.grant("ci", "team/ctx", &["pull"]);
    token.grant("pusher", "*", &["pull", "push"]);
    token.grant_resource("ci", "registry", "catalog", &["*"]);
    let reg = TestRegistry::start(token.registry_kind_oauth2()).await;
    let artifact = Publisher::new(&reg.url())
        .with_token_server(&token)
        .titled_artifact("team/ctx", "v1")
        .await;
    let client = client();
    let post = |path: &str, form: &[(&str, &str)]| {
        client
            .post(format!("{}{path}", token.url()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(form))
            .send()
    };

    // Refresh-token grant, two scopes in one space-separated value.
    let refresh = token.issue_refresh_token("ci");
    assert_eq!(decode_claims(&refresh)["grant_type"], "refresh_token");
    let r = post(
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("service", token.service()),
            ("scope", "repository:team/ctx:pull registry:catalog:*"),
            ("refresh_token", &refresh),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap();
    assert_eq!(
        decode_claims(access_token)["access"],
        serde_json::json!([
            {"type": "repository", "name": "team/ctx", "actions": ["pull"]},
            {"type": "registry", "name": "catalog", "actions": ["*"]},
        ])
    );
    let r = head_manifest(&client, &reg.url(), "team/ctx", "v1", Some(access_token)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "docker-content-digest"), artifact.digest);
    let catalog = client
        .get(format!("{}/v2/_catalog", reg.url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 200);

    // Expired and unknown refresh tokens: 401 invalid_grant.
    let expired = token.issue_refresh_token_expiring("ci", -10);
    for (rt, why) in [
        (expired.as_str(), "refresh token expired"),
        ("not-a-token", "unknown refresh token"),
    ] {
        let r = post(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("service", token.service()),
                ("scope", "repository:team/ctx:pull"),
                ("refresh_token", rt),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_description"], why);
    }

    // Password grant on /token (the distribution path), with a refresh token back.
    let r = post(
        "/token",
        &[
            ("grant_type", "password"),
            ("username", "pusher"),
            ("password", "pusher-pw"),
            ("service", token.service()),
            ("scope", "repository:any/repo:pull,push,delete"),
            ("access_type", "offline"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        decode_claims(body["access_token"].as_str().unwrap())["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );
    assert!(body["refresh_token"].is_string());

    // Entra → ACR exchange, then the refresh token it returns works.
    token.accept_entra_token("entra-jwt", "ci");
    let r = post(
        "/oauth2/exchange",
        &[
            ("grant_type", "access_token"),
            ("service", token.service()),
            ("tenant", "00000000-0000-0000-0000-00000000beef"),
            ("access_token", "entra-jwt"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let exchanged: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        decode_claims(exchanged["refresh_token"].as_str().unwrap())["sub"],
        "ci"
    );

    // A POST that is not a form, and an unsupported grant: 400 with OAuth error names.
    let r = client
        .post(token.oauth2_realm())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(
        "/oauth2/token",
        &[("grant_type", "magic"), ("service", token.service())],
    )
    .await
    .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    // Injected failure.
    token.fail_all_with(support::http::Response::registry_error(
        503,
        "UNAVAILABLE",
        "down",
    ));
    let r = post("/oauth2/token", &[]).await.unwrap();
    assert_eq!(r.status(), 503);
    token.stop_failing();

    let log = token.requests();
    assert_eq!(log.len(), 8, "{log:#?}");
    assert_eq!(log[0].path, "/oauth2/token");
    assert_eq!(log[0].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(
        log[0].scopes,
        ["repository:team/ctx:pull", "registry:catalog:*"]
    );
    assert!(
        log[0]
            .form
            .contains(&("refresh_token".into(), "<redacted>".into()))
    );
    assert_eq!(log[3].principal.as_deref(), Some("pusher"));
    assert!(
        log[3]
            .form
            .contains(&("password".into(), "<redacted>".into()))
    );
    let all = format!("{log:?}");
    for secret in [refresh.as_str(), "pusher-pw", "entra-jwt"] {
        assert!(
            !all.contains(secret),
            "{secret} leaked into the request log"
        );
    }
}

#[tokio::test]
async fn misbehaving_servers_misbehave_as_documented() {
    let client = client();

    let fw = servers::firewall_403();
    let r = client
        .get(format!("{}/v2/", fw.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(r.text().await.unwrap(), FIREWALL_BODY);
    assert_eq!(fw.hits(), 1);

    let throttled = servers::throttling(None);
    for _ in 0..3 {
        let r = client
            .get(format!("{}/v2/", throttled.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "retry-after"), "1");
        assert_eq!(r.text().await.unwrap(), THROTTLED_BODY);
    }
    assert_eq!(throttled.hits(), 3);

    let challenge = Upstream::BearerChallenge {
        realm: "https://registry.test/oauth2/token".into(),
        service: "registry.test".into(),
    };
    let recovers = servers::throttling(Some((2, challenge)));
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                client
                    .get(format!("{}/v2/", recovers.url()))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(statuses, [429, 429, 401]);

    // Throttling in front of the real registry, then relaying to it.
    let reg = TestRegistry::start(Kind::Plain).await;
    let image = Publisher::new(&reg.url())
        .single_image("team/app", "v1")
        .await;
    let proxy = servers::throttling_retry_after(0, Some((1, Upstream::Proxy(reg.addr()))));
    let first = head_manifest(&client, &proxy.url(), "team/app", "v1", None).await;
    assert_eq!(first.status(), 429);
    assert_eq!(header(&first, "retry-after"), "0");
    let second = head_manifest(&client, &proxy.url(), "team/app", "v1", None).await;
    assert_eq!(second.status(), 200);
    assert_eq!(header(&second, "docker-content-digest"), image.digest);
    let got = client
        .get(format!("{}/v2/team/app/manifests/v1", proxy.url()))
        .header("Accept", ACCEPT_MANIFESTS)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        image.manifest.as_slice()
    );
    assert_eq!(proxy.requests()[1].method, "HEAD");

    let silent = servers::silent();
    let started = Instant::now();
    let err = client
        .get(format!("{}/v2/", silent.url()))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{}", error_chain(&err));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(silent.hits(), 1);

    let closer = servers::hang_up();
    let err = client
        .get(format!("{}/v2/", closer.url()))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{}", error_chain(&err));

    let bare = servers::no_challenge();
    let r = client
        .get(format!("{}/v2/", bare.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());

    let bad = servers::malformed_challenge();
    let r = client
        .get(format!("{}/v2/", bad.url()))
        .header("Authorization", "Bearer x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "www-authenticate"), "Bearer garbage");
    assert_eq!(bad.requests()[0].header("authorization"), Some("Bearer x"));
}

#[tokio::test]
async fn stopped_registry_refuses_and_leaves_no_process() {
    let mut reg = TestRegistry::start(Kind::Plain).await;
    let (addr, pid) = (reg.addr(), reg.pid());
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    reg.stop();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let err = client()
        .get(format!("http://{addr}/v2/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{}", error_chain(&err));

    let refused = refused_addr();
    let err = client()
        .get(format!("http://{refused}/v2/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{}", error_chain(&err));

    // Drop reaps too, and a blocking start works for synchronous tests.
    let pid = tokio::task::spawn_blocking(|| {
        let reg = TestRegistry::start_blocking(Kind::Plain);
        reg.pid()
    })
    .await
    .unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn servers_answer_while_the_test_thread_blocks() {
    // A synchronous test that blocks on a child process (as the CLI tests do) while the
    // in-process servers answer it: here curl stands in for the binary under test.
    let token = TokenServer::start();
    token.grant(ANONYMOUS, "team/app", &["pull"]);
    let reg = TestRegistry::start_blocking(token.registry_kind());
    let image = support::block_on(
        Publisher::new(&reg.url())
            .with_token_server(&token)
            .single_image("team/app", "v1"),
    );
    let url = format!(
        "{}?{}",
        token.realm(),
        form_encode(&[
            ("service", token.service()),
            ("scope", "repository:team/app:pull")
        ])
    );
    let out = std::process::Command::new("curl")
        .args(["-fsS", "--noproxy", "*", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-fsSI", "--noproxy", "*", "-H"])
        .arg(format!("Accept: {ACCEPT_MANIFESTS}"))
        .arg("-H")
        .arg(format!(
            "Authorization: Bearer {}",
            body["token"].as_str().unwrap()
        ))
        .arg(format!("{}/v2/team/app/manifests/v1", reg.url()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        headers.contains(&format!("docker-content-digest: {}", image.digest)),
        "{headers}"
    );
}

#[test]
#[should_panic(expected = "unable to open token auth root certificate bundle file")]
fn a_registry_that_cannot_start_fails_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    TestRegistry::start_blocking(Kind::Token {
        realm: "http://127.0.0.1:9/token".into(),
        service: "registry.test".into(),
        issuer: "nobody".into(),
        bundle: dir.path().join("missing.pem"),
    });
}
