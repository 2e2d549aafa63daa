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
