//! The job's own `GITHUB_TOKEN` given to a registry login as its password (P50):
//! docker/login-action's `password`, and in `run:` scripts `docker login -p …` or
//! `--password-stdin` fed by `echo`/`printf` through a pipe or by a here-string. The
//! token is `${{ secrets.GITHUB_TOKEN }}` or `${{ github.token }}`, written there or
//! through an `env:` entry of the step, job or workflow (`$GITHUB_TOKEN`,
//! `${{ env.GITHUB_TOKEN }}`): GitHub does not put the token in a step's environment
//! by itself, so a variable counts only when an `env:` block sets it to the token.

use super::*;

/// Whether `written` (a value as written in the workflow) holds the job's token as a
/// whole expression: `${{ secrets.GITHUB_TOKEN }}`, `${{ github.token }}`.
pub fn names_job_token(written: &str) -> bool {
    let mut rest = written;
    while let Some(open) = rest.find("${{") {
        let after = &rest[open + 3..];
        let Some(close) = after.find("}}") else {
            return false;
        };
        let inner: String = after[..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(
            inner.as_str(),
            "secrets.github_token" | "github.token" | "secrets['github_token']"
        ) {
            return true;
        }
        rest = &after[close + 2..];
    }
    false
}

/// The variable a whole value reads: `NAME` of `$NAME`, `${NAME}`, `${{ env.NAME }}`.
fn variable(written: &str) -> Option<&str> {
    let w = written.trim();
    let name = if let Some(inner) = w.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
        inner.trim().strip_prefix("env.")?.trim()
    } else if let Some(inner) = w.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        inner
    } else {
        w.strip_prefix('$')?
    };
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some(name)
}

impl StepScan<'_, '_> {
    /// Whether `written` is the job's token, directly or through an `env:` entry that
    /// the step sees (its own, else the job's, else the workflow's).
    pub(super) fn is_job_token(&self, written: &str) -> bool {
        if names_job_token(written) {
            return true;
        }
        let Some(name) = variable(written) else {
            return false;
        };
        [
            &self.step.env,
            &self.input.job.env,
            &self.input.workflow.env,
        ]
        .into_iter()
        .find_map(|env| env.get(name))
        .is_some_and(|value| names_job_token(&value.value))
    }

    /// The password of `docker login` (`words` follow `login`): `-p`/`--password`, or
    /// `--password-stdin` fed the job's token by a pipe or a here-string (`<<<`).
    pub(super) fn login_job_token(&self, script: &str, words: &[Word]) -> bool {
        let written = |w: &Word| w.as_written(script).text;
        let mut stdin = false;
        let mut iter = words.iter().enumerate();
        while let Some((i, word)) = iter.next() {
            let text = written(word);
            match text.as_str() {
                "-p" | "--password" => {
                    if let Some((_, value)) = iter.next() {
                        return self.is_job_token(&written(value));
                    }
                }
                "--password-stdin" => stdin = true,
                _ => {
                    if let Some(value) = text.strip_prefix("--password=") {
                        return self.is_job_token(value);
                    }
                    let before = script.get(..word.raw.start).unwrap_or_default();
                    if i > 0 && before.trim_end().ends_with("<<<") && self.is_job_token(&text) {
                        return words.iter().any(|w| written(w) == "--password-stdin");
                    }
                }
            }
        }
        stdin && self.stdin_job_token
    }

    /// Whether `previous` pipes the job's token into `command`: `echo`/`printf` with the
    /// token as an argument, then a single `|`.
    pub(super) fn pipes_job_token(
        &self,
        script: &str,
        previous: &Command,
        command: &Command,
    ) -> bool {
        let (Some(last), Some(first)) = (previous.words.last(), command.words.first()) else {
            return false;
        };
        let piped = script
            .get(last.raw.end..first.raw.start)
            .is_some_and(|between| between.trim() == "|");
        let program = previous.words[0].literal().unwrap_or_default();
        piped
            && matches!(program.as_str(), "echo" | "printf")
            && previous.words[1..]
                .iter()
                .any(|w| self.is_job_token(&w.as_written(script).text))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::scan;

    fn job_tokens(yaml: &str) -> Vec<(Option<String>, bool)> {
        scan(yaml)
            .logins
            .into_iter()
            .map(|l| (l.registry, l.job_token))
            .collect()
    }

    #[test]
    fn the_job_token_is_seen_through_pipes_here_strings_flags_and_env() {
        let got = job_tokens(
            "jobs:\n  b:\n    steps:\n      - env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n          PAT: ${{ secrets.GHCR_PAT }}\n        run: |\n          echo \"${{ secrets.GITHUB_TOKEN }}\" | docker login ghcr.io -u ${{ github.actor }} --password-stdin\n          printf '%s' \"$GITHUB_TOKEN\" | docker login ghcr.io -u x --password-stdin\n          docker login ghcr.io -u x --password-stdin <<< \"${{ github.token }}\"\n          docker login ghcr.io -u x -p ${{ github.token }}\n          echo \"$PAT\" | docker login ghcr.io -u x --password-stdin\n          echo \"${{ secrets.GITHUB_TOKEN_PAT }}\" | docker login ghcr.io -u x --password-stdin\n          echo \"${{ secrets.GITHUB_TOKEN }}\" || docker login ghcr.io -u x --password-stdin\n",
        );
        let ghcr = |t| (Some("ghcr.io".to_string()), t);
        assert_eq!(
            got,
            vec![
                ghcr(true),
                ghcr(true),
                ghcr(true),
                ghcr(true),
                ghcr(false),
                ghcr(false),
                ghcr(false),
            ]
        );
    }

    #[test]
    fn a_variable_counts_only_when_an_env_block_sets_it_to_the_token() {
        let got = job_tokens(
            "jobs:\n  b:\n    steps:\n      - run: echo \"$GITHUB_TOKEN\" | docker login ghcr.io -u x --password-stdin\n      - uses: docker/login-action@v3\n        env:\n          T: ${{ github.token }}\n        with:\n          registry: ghcr.io\n          password: ${{ env.T }}\n",
        );
        assert_eq!(
            got,
            vec![
                (Some("ghcr.io".to_string()), false),
                (Some("ghcr.io".to_string()), true),
            ]
        );
    }
}
