//! The job summary as GitHub renders it: parsed with a GFM parser (comrak) and its
//! structure asserted — the verdict and the finding to fix first, one table with a row
//! per reference, a fenced `sh` block for every fix command, links that lead somewhere
//! real, and no HTML or structure from outside text.

use acr_preflight::findings::{
    CheckId, CheckReport, Code, ContextInfo, Finding, Location, Report, Role, Severity,
};
use acr_preflight::output::summary::{Links, fix_commands, render_with};
use comrak::nodes::{AstNode, NodeValue};
use comrak::{Arena, Options, parse_document};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const BLOB: &str = "https://github.example/team/app/blob/0123456789abcdef0123456789abcdef01234567/";
const DOCS: &str = "https://github.example/acme/acr-preflight/blob/main/docs/checks.md#";

fn links() -> Links {
    Links::new(
        Some("https://github.example"),
        Some("team/app"),
        Some(SHA),
        Some("acme/acr-preflight"),
    )
}

fn gfm() -> Options<'static> {
    let mut o = Options::default();
    o.extension.table = true;
    o.extension.autolink = true;
    o.extension.strikethrough = true;
    o.extension.tasklist = true;
    o.extension.tagfilter = true;
    o
}

fn at(line: u32) -> Location {
    Location {
        file: ".github/workflows/build.yml".into(),
        line: Some(line),
        column: None,
    }
}

fn context(reference: &str, role: Role, line: Option<u32>) -> ContextInfo {
    ContextInfo {
        reference: reference.into(),
        role,
        location: line.map(at),
        ..ContextInfo::default()
    }
}

/// The failing run the issue describes: three contexts on one registry (one tag
/// missing, one repository mistyped, one fine, an index), a push the credential may
/// not do, and a docker config warning.
fn failing() -> Report {
    let mut fine = context("oci://myreg.azurecr.io/team/base:v3", Role::Pull, Some(14));
    fine.digest =
        Some("sha256:29b7f602d3f82bd33f1c1d5bf4419431cd9df0571935758303205e91000e09e4".into());
    fine.media_type = Some("application/vnd.oci.image.index.v1+json".into());
    fine.platforms = vec!["linux/amd64".into(), "linux/arm64".into()];
    let contexts = vec![
        context("oci://myreg.azurecr.io/team/ctx:v51", Role::Pull, Some(12)),
        context("oci://myreg.azurecr.io/taem/tools:v1", Role::Pull, Some(13)),
        fine,
        context("myreg.azurecr.io/team/app:v2", Role::Push, None),
    ];
    let mut credentials = CheckReport::default();
    credentials.push(Finding::new(
        CheckId::CredentialHelpers,
        Code::DOCKER_CONFIG_MISSING,
        Severity::Warning,
        "no docker config at /home/runner/.docker/config.json",
        "The build's docker reads /home/runner/.docker/config.json; it does not exist.",
        "Log in so that /home/runner/.docker holds a credential for myreg.azurecr.io:\naz acr login -n myreg\nOn a runner without a docker daemon, use the token form:\nTOKEN=$(az acr login -n myreg --expose-token --query accessToken -o tsv)\necho \"$TOKEN\" | docker login myreg.azurecr.io -u 00000000-0000-0000-0000-000000000000 --password-stdin",
    ));
    credentials.verified("config.json is valid JSON");
    let mut registry = CheckReport::default();
    registry.push(
        Finding::new(
            CheckId::Registry,
            Code::CONTEXT_NOT_FOUND,
            Severity::Error,
            "tag `v51` does not exist in myreg.azurecr.io/team/ctx",
            "GET /v2/team/ctx/manifests/v51 → HTTP 404. Tags (50): v1, v10, …",
            "`v51` is newer than every tag of its shape in myreg.azurecr.io/team/ctx: was it pushed yet? Push it before this step, or use the newest one, `v50`: `oci://myreg.azurecr.io/team/ctx:v50`. The newest tags: `az acr repository show-tags -n myreg --repository team/ctx --orderby time_desc --top 10`",
        )
        .with_commands(["az acr repository show-tags -n myreg --repository team/ctx --orderby time_desc --top 10"])
        .about("oci://myreg.azurecr.io/team/ctx:v51")
        .at(".github/workflows/build.yml", Some(12), None),
    );
    registry.push(
        Finding::new(
            CheckId::Registry,
            Code::CONTEXT_NOT_FOUND,
            Severity::Error,
            "repository `taem/tools` does not exist on myreg.azurecr.io",
            "GET /v2/taem/tools/manifests/v1 → HTTP 404 NAME_UNKNOWN.",
            "Did you mean repository `team/tools`? Use `oci://myreg.azurecr.io/team/tools:v1`.",
        )
        .about("oci://myreg.azurecr.io/taem/tools:v1")
        .at(".github/workflows/build.yml", Some(13), None),
    );
    registry.push(
        Finding::new(
            CheckId::Registry,
            Code::ROLE_PUSH_MISSING,
            Severity::Error,
            "`ci-bot` may not push `team/app` on myreg.azurecr.io",
            "The token grants pull on `team/app` (needed: pull,push).",
            "Assign the role to the identity behind this credential:\naz role assignment create --assignee <client-id or object-id> --role AcrPush --scope $(az acr show -n myreg --query id -o tsv)\nNew assignments can take a few minutes to apply.",
        )
        .about("myreg.azurecr.io/team/app:v2"),
    );
    registry.verified("oci://myreg.azurecr.io/team/base:v3: sha256:29b7… (OCI index)");
    Report {
        checks: vec![
            (CheckId::CredentialHelpers, credentials),
            (CheckId::Registry, registry),
        ],
        contexts,
        http_requests: 9,
        identity: None,
    }
}

fn nodes<'a>(root: &'a AstNode<'a>) -> Vec<NodeValue> {
    root.descendants()
        .map(|n| n.data.borrow().value.clone())
        .collect()
}

/// The HTML the renderer writes itself; nothing else may appear as HTML.
fn own_html(tag: &str) -> bool {
    let fixed = [
        "<code>",
        "</code>",
        "<br>",
        "<sub>",
        "</sub>",
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
        "</a>",
    ];
    if fixed.contains(&tag) {
        return true;
    }
    let attr = |prefix: &str, ok: &dyn Fn(char) -> bool| {
        tag.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("\">"))
            .is_some_and(|v| !v.is_empty() && v.chars().all(ok))
    };
    attr("<a name=\"acr-preflight-", &|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
    }) || attr("<code title=\"sha256:", &|c| c.is_ascii_hexdigit())
}

/// Every tag in an HTML node's text, each checked against [`own_html`]; the text
/// between tags must hold no `<`.
fn assert_own_html(html: &str) {
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..]
            .find('>')
            .map(|e| start + e + 1)
            .unwrap_or(rest.len());
        let tag = &rest[start..end];
        assert!(own_html(tag), "foreign HTML {tag:?} in {html:?}");
        rest = &rest[end..];
    }
}

struct Parsed {
    tables: usize,
    rows: usize,
    code_blocks: Vec<(String, String)>,
    links: Vec<String>,
    anchors: Vec<String>,
    headings: usize,
    images: usize,
}

fn parse(markdown: &str) -> Parsed {
    let arena = Arena::new();
    let root = parse_document(&arena, markdown, &gfm());
    let mut p = Parsed {
        tables: 0,
        rows: 0,
        code_blocks: Vec::new(),
        links: Vec::new(),
        anchors: Vec::new(),
        headings: 0,
        images: 0,
    };
    for value in nodes(root) {
        match value {
            NodeValue::Table(_) => p.tables += 1,
            NodeValue::TableRow(header) => p.rows += usize::from(!header),
            NodeValue::CodeBlock(c) => {
                assert!(c.fenced, "an indented code block: {:?}", c.literal);
                p.code_blocks.push((c.info, c.literal));
            }
            NodeValue::Link(l) => p.links.push(l.url),
            NodeValue::Image(_) => p.images += 1,
            NodeValue::Heading(_) => p.headings += 1,
            NodeValue::HtmlInline(html) => {
                assert_own_html(&html);
                if let Some(name) = html
                    .strip_prefix("<a name=\"")
                    .and_then(|r| r.strip_suffix("\">"))
                {
                    p.anchors.push(name.to_string());
                }
            }
            NodeValue::HtmlBlock(b) => {
                assert_own_html(&b.literal);
                for line in b.literal.lines() {
                    if let Some(name) = line
                        .strip_prefix("<a name=\"")
                        .and_then(|r| r.strip_suffix("\"></a>"))
                    {
                        p.anchors.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    p
}

/// Every link is the renderer's: a finding anchor that exists, a workflow line at the
/// run's commit, or a code's documentation.
fn assert_links(p: &Parsed) {
    for url in &p.links {
        if let Some(anchor) = url.strip_prefix('#') {
            assert!(
                p.anchors.iter().any(|a| a == anchor),
                "dangling link #{anchor}"
            );
        } else if let Some(rest) = url.strip_prefix(BLOB) {
            let (path, line) = rest.split_once("#L").expect("a line anchor");
            assert!(
                !path.is_empty() && !path.contains(['(', ')', ' ', '<', '>']),
                "{url}"
            );
            assert!(line.parse::<u32>().is_ok(), "{url}");
        } else if let Some(code) = url.strip_prefix(DOCS) {
            assert!(
                Code::ALL
                    .iter()
                    .any(|c| c.as_str().to_ascii_lowercase() == code),
                "{url}"
            );
        } else {
            panic!("a link the renderer did not make: {url}");
        }
    }
}

/// Each command of each finding's fix is a line of a fenced `sh` block.
fn assert_fix_blocks(report: &Report, p: &Parsed) {
    for f in report.findings() {
        for command in fix_commands(f) {
            assert!(
                p.code_blocks
                    .iter()
                    .any(|(info, literal)| info == "sh" && literal.contains(&command)),
                "no sh block holds {command:?}"
            );
        }
    }
}

#[test]
fn the_failing_run_reads_top_down() {
    let report = failing();
    let markdown = render_with(&report, 1 << 20, &links());
    let p = parse(&markdown);

    // Verdict first, with the one finding to fix first (an error, ranked by code).
    let first = markdown.lines().next().unwrap_or("");
    assert_eq!(first, "## acr-preflight: ❌ **fail**");
    let verdict = markdown.lines().nth(2).unwrap_or("");
    assert!(verdict.starts_with("**3 errors, 1 warning** · fix this first: [`ROLE_PUSH_MISSING`](#acr-preflight-1-role_push_missing)"), "{verdict}");

    // One table, one row per reference; failing rows link to their finding.
    assert_eq!(p.tables, 1, "{markdown}");
    assert_eq!(p.rows, report.contexts.len());
    assert!(markdown.contains("| pull | [❌ CONTEXT_NOT_FOUND](#acr-preflight-"));
    assert!(
        markdown.contains("| push | [❌ ROLE_PUSH_MISSING](#acr-preflight-1-role_push_missing)")
    );
    assert!(markdown.contains(&format!(
        "[.github/workflows/build.yml:12]({BLOB}.github/workflows/build.yml#L12)"
    )));
    assert!(markdown.contains("<code title=\"sha256:29b7f602d3f82bd33f1c1d5bf4419431cd9df0571935758303205e91000e09e4\">sha256:29b7f602d3f8</code>"));
    assert!(markdown.contains("| linux/amd64, linux/arm64 |"));
    assert!(markdown.contains("input <code>push</code>"));

    // Findings by severity, each fix command in an sh block, evidence folded.
    assert!(markdown.find("### Errors (3)") < markdown.find("### Warnings (1)"));
    assert_fix_blocks(&report, &p);
    let all: Vec<String> = report.findings().flat_map(fix_commands).collect();
    for wanted in [
        "az role assignment create --assignee <client-id or object-id> --role AcrPush --scope $(az acr show -n myreg --query id -o tsv)",
        "az acr login -n myreg",
        "TOKEN=$(az acr login -n myreg --expose-token --query accessToken -o tsv)",
        "az acr repository show-tags -n myreg --repository team/ctx --orderby time_desc --top 10",
    ] {
        assert!(
            all.iter().any(|c| c == wanted),
            "{wanted} not found in {all:?}"
        );
    }
    // The login commands keep their shape: two blocks around the sentence between them.
    assert!(
        p.code_blocks
            .iter()
            .any(|(_, l)| l == "az acr login -n myreg\n")
    );
    assert_eq!(
        markdown
            .matches("<details><summary>Evidence</summary>")
            .count(),
        4
    );
    assert_links(&p);
    assert_eq!(p.images, 0);
}

#[test]
fn a_credential_problem_comes_before_what_it_hides() {
    let mut report = failing();
    let mut identity = CheckReport::default();
    identity.push(Finding::new(
        CheckId::Identity,
        Code::ID_FEDERATION_MISMATCH,
        Severity::Error,
        "no federated credential of the app matches this job's OIDC token",
        "Entra answered AADSTS700213.",
        "Add a federated credential for exactly this subject:\naz ad app federated-credential create --id 1 --parameters '{\"subject\":\"repo:o/r:pull_request\"}'",
    ));
    // Reported last, ranked first.
    report.checks.push((CheckId::Identity, identity));
    let markdown = render_with(&report, 1 << 20, &links());
    assert!(
        markdown.contains(
            "fix this first: [`ID_FEDERATION_MISMATCH`](#acr-preflight-1-id_federation_mismatch)"
        ),
        "{markdown}"
    );
    let p = parse(&markdown);
    assert_links(&p);
    assert_fix_blocks(&report, &p);
}

#[test]
fn without_the_run_s_repository_there_are_no_source_links() {
    let report = failing();
    let markdown = render_with(&report, 1 << 20, &Links::default());
    assert!(markdown.contains("| <code>oci&#58;//myreg.azurecr.io/team/ctx:v51</code><br><sub>.github/workflows/build.yml:12</sub> |"));
    assert!(markdown.contains("(https://github.com/acr-preflight/acr-preflight/blob/main/docs/checks.md#context_not_found)"));
    // Unsafe parts are refused, not escaped into a link.
    for bad in [
        Links::new(
            Some("javascript:alert(1)"),
            Some("team/app"),
            Some(SHA),
            None,
        ),
        Links::new(
            Some("https://github.example"),
            Some("team/app)x"),
            Some(SHA),
            None,
        ),
        Links::new(
            Some("https://github.example"),
            Some("team/app"),
            Some("main"),
            None,
        ),
    ] {
        let m = render_with(&report, 1 << 20, &bad);
        assert!(!m.contains("/blob/0123"), "{m}");
    }
}

#[test]
fn past_ten_findings_the_rest_is_folded() {
    let mut report = failing();
    let mut many = CheckReport::default();
    for n in 0..14 {
        many.push(Finding::new(
            CheckId::Reference,
            Code::REF_MUTABLE_TAG,
            Severity::Notice,
            format!("tag {n} is mutable"),
            "m",
            format!("Pin it: `docker buildx imagetools inspect myreg.azurecr.io/x:{n}`"),
        ));
    }
    report.checks.push((CheckId::Reference, many));
    let markdown = render_with(&report, 1 << 20, &links());
    assert_eq!(
        markdown
            .matches("<details><summary>8 more findings</summary>")
            .count(),
        1
    );
    assert_eq!(markdown.matches("<a name=\"acr-preflight-").count(), 18);
    let folded = markdown.find("8 more findings").unwrap_or(0);
    assert!(
        markdown[..folded]
            .matches("<a name=\"acr-preflight-")
            .count()
            == 10
    );
    let p = parse(&markdown);
    assert_links(&p);
    assert_fix_blocks(&report, &p);
    assert_eq!(p.tables, 1);
}

/// Outside text that tries every way into the page's structure.
const HOSTILE: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "</details><script>alert(1)</script>",
    "```\n<b>out of the fence</b>\n```",
    "````sh\nrm -rf /\n````",
    "[click](javascript:alert(1)) ![p](https://t.example/p.png)",
    "a | b | c\n|---|---|\n| x | y |",
    "line\n---\n# heading\n    indented code\n1. list\n- item\n> quote",
    "<a name=\"acr-preflight-1-ref_invalid\"></a>",
    "https://evil.example/x www.evil.example",
    "&lt;img src=x&gt; &#60;b&#62;",
    "\u{1b}[31m\r\u{7}\u{0}",
    "[ref]: https://evil.example\n[ref]",
];

#[test]
fn outside_text_stays_text() {
    for (n, evil) in HOSTILE.iter().enumerate() {
        let mut c = context(
            &format!("oci://myreg.azurecr.io/x:{evil}"),
            Role::Pull,
            Some(3),
        );
        c.digest = Some(format!("sha256:{evil}"));
        c.platforms = vec![evil.to_string()];
        c.location = Some(Location {
            file: format!(".github/workflows/{evil}.yml"),
            line: Some(7),
            column: None,
        });
        let mut check = CheckReport::default();
        check.push(
            Finding::new(
                CheckId::Registry,
                Code::CONTEXT_NOT_FOUND,
                Severity::Error,
                format!("title {evil}"),
                format!("message {evil}"),
                format!("Fix: {evil}\naz acr login -n {evil}\nthen `docker login {evil}`"),
            )
            .about(c.reference.clone())
            .at(format!("{evil}.yml"), Some(2), None),
        );
        check.push(
            Finding::new(
                CheckId::Registry,
                Code::ROLE_PUSH_MISSING,
                Severity::Warning,
                evil.to_string(),
                evil.to_string(),
                evil.to_string(),
            )
            .with_commands([format!("az role assignment create --scope {evil}")]),
        );
        check.verified(evil.to_string());
        let report = Report {
            checks: vec![(CheckId::Registry, check)],
            contexts: vec![c],
            http_requests: 0,
            identity: None,
        };
        let markdown = render_with(&report, 1 << 20, &links());
        let p = parse(&markdown);
        assert_eq!(p.tables, 1, "case {n}: {markdown}");
        assert_eq!(p.rows, 1, "case {n}: {markdown}");
        assert_eq!(p.images, 0, "case {n}");
        // h2 verdict, h3 References, h3 Errors, h4, h3 Warnings, h4: nothing more.
        assert_eq!(p.headings, 6, "case {n}: {markdown}");
        assert_links(&p);
        assert_fix_blocks(&report, &p);
        // Code blocks are only the renderer's, each holding only fix commands.
        for (info, literal) in &p.code_blocks {
            assert_eq!(info, "sh", "case {n}: {markdown}");
            assert!(
                literal.starts_with("az ") || literal.starts_with("docker "),
                "case {n}: {literal}"
            );
        }
        assert!(!markdown.contains('\u{1b}') && !markdown.contains('\r'));
    }
}

#[test]
fn the_summary_keeps_to_its_budget() {
    let mut report = failing();
    let mut many = CheckReport::default();
    for n in 0..400 {
        many.push(
            Finding::new(
                CheckId::Registry,
                Code::CONTEXT_NOT_FOUND,
                Severity::Error,
                format!("tag v{n} does not exist"),
                "x".repeat(2_000),
                format!("az acr repository show-tags -n myreg --repository r{n}"),
            )
            .about(format!("oci://myreg.azurecr.io/r{n}:v1")),
        );
        report.contexts.push(context(
            &format!("oci://myreg.azurecr.io/r{n}:v1"),
            Role::Pull,
            Some(n),
        ));
    }
    report.checks.push((CheckId::Registry, many));
    for budget in [60_000u64, 200_000] {
        let markdown = render_with(&report, budget, &links());
        assert!(markdown.len() as u64 <= budget);
        assert!(markdown.contains("more findings did not fit"));
        let p = parse(&markdown);
        assert_eq!(p.tables, 1);
        // Rows whose finding was cut link nowhere; the others to an anchor that exists.
        assert_links(&p);
    }
}
