//! The host part of a proxy URL, and whether it is on loopback (P47). Only the host and
//! port ever leave this module: a proxy URL can carry a user and a password.

use std::net::IpAddr;

/// `host:port` of a proxy URL whose host is on loopback (`localhost`, `127.0.0.0/8`,
/// `::1`), with the port when one is written; `None` for any other host or for what is
/// not a URL. A URL without a scheme is read as Go's `net/http` reads it, as `http://`.
pub fn loopback(url: &str) -> Option<String> {
    let url = url.trim().trim_matches(['"', '\'']);
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // The user and password, when written, end at the last `@`.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let host = host.to_ascii_lowercase();
    let on_loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !on_loopback || port.is_some_and(|p| !p.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let shown = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Some(match port.filter(|p| !p.is_empty()) {
        Some(port) => format!("{shown}:{port}"),
        None => shown,
    })
}

/// The driver options (resolved `key=value` entries) that give BuildKit's container a
/// proxy on loopback: (variable, lower-case, `host:port`). None when an entry puts the
/// container in the host's network (`network=host`), where loopback is the runner's.
pub fn loopback_opts<'a>(entries: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let entry = entry.trim().trim_matches(['"', '\'']);
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "network" && value.trim().eq_ignore_ascii_case("host") {
            return Vec::new();
        }
        let Some(name) = key.strip_prefix("env.") else {
            continue;
        };
        if !matches!(name, "http_proxy" | "https_proxy") || out.iter().any(|(n, _)| n == name) {
            continue;
        }
        if let Some(at) = loopback(value) {
            out.push((name.to_string(), at));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_shown_without_user_or_password() {
        for (url, shown) in [
            ("http://127.0.0.1:3128", Some("127.0.0.1:3128")),
            ("http://ci:s3cret@localhost:3128/", Some("localhost:3128")),
            ("https://[::1]:8443", Some("[::1]:8443")),
            ("127.0.0.2:8080", Some("127.0.0.2:8080")),
            ("http://LOCALHOST", Some("localhost")),
            ("http://proxy.corp.example:3128", None),
            ("http://172.17.0.1:3128", None),
            ("http://u:p@10.0.0.1:3128", None),
            ("http://127.0.0.1:x@evil", None),
            ("", None),
        ] {
            assert_eq!(loopback(url).as_deref(), shown, "{url}");
        }
    }

    #[test]
    fn host_network_makes_loopback_the_runners() {
        let opts = [
            "env.https_proxy=http://127.0.0.1:3128",
            "env.no_proxy=localhost",
        ];
        assert_eq!(
            loopback_opts(opts.into_iter()),
            [("https_proxy".to_string(), "127.0.0.1:3128".to_string())]
        );
        let host = ["network=host", "env.https_proxy=http://127.0.0.1:3128"];
        assert!(loopback_opts(host.into_iter()).is_empty());
    }
}
