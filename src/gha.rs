//! The GitHub Actions runner contract: workflow-command escaping, environment files.

/// Escapes workflow-command data exactly as actions/toolkit `escapeData` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
