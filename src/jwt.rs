//! Reads JWT claims without verifying the signature: we only need to know what a
//! token claims (expiry, access rights) to explain a failure, never to trust it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The claims of a JWT-shaped value, or `None` when it is not a JWT.
pub fn claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.trim().split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() {
        return None;
    }
    let _ = signature;
    // Some issuers pad; base64url without padding is the JWS form.
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let header: serde_json::Value = serde_json::from_slice(&decode(header).ok()?).ok()?;
    header.as_object()?;
    match serde_json::from_slice(&decode(payload).ok()?).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// When the token expires, from its `exp` claim (seconds since the epoch).
pub fn expiry(token: &str) -> Option<SystemTime> {
    let exp = claims(token)?.get("exp")?.as_f64()?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(exp.min(1e12)))
}

/// An expiry as a UTC timestamp, `2026-11-28T18:22:18Z`, for messages.
pub fn format_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the whole u64 range we use.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// An RFC 3339 UTC timestamp as ARM writes it (`2026-12-05T07:58:12.1234567Z`, also
/// with `+00:00`); `None` for anything else. The fraction is dropped.
pub fn parse_utc(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let body = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once('T')?;
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, mo, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let time = time.split('.').next()?;
    let mut t = time.split(':');
    let (h, mi, sec) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    // Days-from-civil (Howard Hinnant's algorithm), the inverse of `format_utc`.
    let y = y - i64::from(mo <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + sec).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// "in 12 minutes", "3 hours ago": how far `t` is from `now`, for messages.
pub fn describe_distance(t: SystemTime, now: SystemTime) -> String {
    let (secs, future) = match t.duration_since(now) {
        Ok(d) => (d.as_secs(), true),
        Err(e) => (e.duration().as_secs(), false),
    };
    let amount = if secs < 120 {
        format!("{secs} seconds")
    } else if secs < 2 * 3600 {
        format!("{} minutes", secs / 60)
    } else if secs < 2 * 86_400 {
        format!("{} hours", secs / 3600)
    } else {
        format!("{} days", secs / 86_400)
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Builds an unsigned JWT-shaped value with the given claims (tests and fixtures).
pub fn unsigned_for_tests(claims: &serde_json::Value) -> String {
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(&serde_json::json!({"alg":"RS256","typ":"JWT"})),
        enc(claims)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exp_and_rejects_non_jwts() {
        let t = unsigned_for_tests(&serde_json::json!({"exp": 1_800_000_000, "sub": "x"}));
        assert_eq!(
            expiry(&t),
            Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        );
        assert_eq!(expiry("not-a-jwt"), None);
        assert_eq!(expiry("a.b.c"), None);
        assert_eq!(expiry(""), None);
        let no_exp = unsigned_for_tests(&serde_json::json!({"sub": "x"}));
        assert_eq!(expiry(&no_exp), None);
        let bad_exp = unsigned_for_tests(&serde_json::json!({"exp": "soon"}));
        assert_eq!(expiry(&bad_exp), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(1_795_890_138)),
            "2026-11-28T18:22:18Z"
        );
    }

    #[test]
    fn parses_arm_timestamps() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_890_138);
        assert_eq!(parse_utc("2026-11-28T18:22:18Z"), Some(t));
        assert_eq!(parse_utc("2026-11-28T18:22:18.1234567Z"), Some(t));
        assert_eq!(parse_utc("2026-11-28T18:22:18+00:00"), Some(t));
        assert_eq!(
            parse_utc("2024-02-29T00:00:00Z").map(format_utc).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        for bad in [
            "",
            "2026-11-28",
            "2026-13-01T00:00:00Z",
            "2026-11-28T18:22:18+02:00",
            "x026-11-28T18:22:18Z",
            "1969-12-31T23:59:59Z",
            "2026-11-28T18:22Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn describes_distance() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            describe_distance(now + Duration::from_secs(600), now),
            "in 10 minutes"
        );
        assert_eq!(
            describe_distance(now - Duration::from_secs(7200 * 3), now),
            "6 hours ago"
        );
    }
}
