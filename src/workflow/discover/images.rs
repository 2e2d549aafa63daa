//! Commands that name images without building them (P37): `docker tag` (its target),
//! `docker manifest create` (the list) and `docker manifest push`, `docker buildx
//! imagetools create --tag`, and the tags and registry caches docker/bake-action is
//! given inline (`set: <target>.tags=…`). A bake file on disk is not read.

use super::*;

impl StepScan<'_, '_> {
    /// A `docker` image command: `words` start at the subcommand. Records its names and
    /// says whether it was one.
    pub(super) fn image_command(
        &mut self,
        text: &Text,
        words: &[Word],
        locals: &HashMap<String, Result<String, String>>,
    ) -> bool {
        let lit = |k: usize| words.get(k).and_then(Word::literal).unwrap_or_default();
        let (origin, from) = match (lit(0).as_str(), lit(1).as_str(), lit(2).as_str()) {
            ("tag", _, _) => (Origin::DockerTag, 1),
            ("image", "tag", _) => (Origin::DockerTag, 2),
            ("manifest", "create", _) => (Origin::ManifestCreate, 2),
            ("manifest", "push", _) => (Origin::ManifestPush, 2),
            ("buildx", "imagetools", "create") => (Origin::ImagetoolsCreate, 3),
            _ => return false,
        };
        let args = self.expand_all(text, &words[from.min(words.len())..], locals);
        match origin {
            Origin::ImagetoolsCreate => self.imagetools_create(text, &args),
            _ => {
                let opts = options(&args, &[]);
                let mut operands = opts.iter().filter(|(n, _)| n.is_empty());
                // `docker tag SOURCE TARGET`: the target; the manifest commands: the list.
                let named = match origin {
                    Origin::DockerTag => operands.nth(1),
                    _ => operands.next(),
                };
                let role = if origin == Origin::ManifestPush {
                    Role::Push
                } else {
                    Role::Tag
                };
                if let Some((_, Some(value))) = named {
                    self.add(role, origin, text, value, None, Vec::new());
                }
            }
        }
        true
    }

    /// `docker buildx imagetools create -t X …`: each tag is pushed, unless `--dry-run`.
    fn imagetools_create(&mut self, text: &Text, args: &[Value]) {
        let opts = options(
            args,
            &[
                "-t",
                "--tag",
                "-f",
                "--file",
                "--annotation",
                "--builder",
                "--progress",
                "--platform",
            ],
        );
        let role = if opts.iter().any(|(n, _)| n == "--dry-run") {
            Role::Tag
        } else {
            Role::Push
        };
        for value in values_of(&opts, &["-t", "--tag"]) {
            self.add(
                role,
                Origin::ImagetoolsCreate,
                text,
                value,
                None,
                Vec::new(),
            );
        }
    }

    /// docker/bake-action: the `set` entries `<target>.tags=…` (pushed with `push: true`
    /// or a `.push=true` / registry `.output` entry), `.cache-from=…` and `.cache-to=…`.
    /// The targets of a bake file are not read (no HCL reader here).
    pub(super) fn bake_action(&mut self) {
        let step = self.step;
        let Some(text) = step.input("set") else {
            return;
        };
        let mut pushes = false;
        let mut undecided: Vec<Unresolved> = Vec::new();
        if let Some(push) = step.input("push") {
            let e = self.scope().expand(&push.value);
            if e.is_resolved() {
                pushes = e.text.trim().eq_ignore_ascii_case("true");
            } else {
                undecided = e.unresolved;
            }
        }
        let mut tags: Vec<Value> = Vec::new();
        for (offset, entry) in Self::entries(text, false) {
            let whole = self.value_in_text(offset, &entry);
            let Some((key, value)) = bake_override(&whole) else {
                continue;
            };
            match key.as_str() {
                "tags" => tags.extend(comma_fields(&value)),
                "cache-from" | "cache-to" => {
                    self.cache_entry(Origin::BakeSet, text, &value, key == "cache-from")
                }
                "push" => {
                    pushes |= value.expanded.is_resolved()
                        && value.expanded.text.trim().eq_ignore_ascii_case("true")
                }
                "output" => {
                    let lower = value.expanded.text.to_ascii_lowercase();
                    pushes |= lower.contains("type=registry") || lower.contains("push=true");
                }
                _ => {}
            }
        }
        if !pushes
            && !tags.is_empty()
            && let Some(push) = step.input("push")
        {
            for u in &undecided {
                let loc = self.location(push, u.offset, u.offset + u.written.len());
                self.found
                    .undecided
                    .push((u.clone(), loc, self.step_ref.clone()));
            }
        }
        let role = if pushes { Role::Push } else { Role::Tag };
        for value in &tags {
            self.add(role, Origin::BakeSet, text, value, None, Vec::new());
        }
    }
}

/// `<target>.<key>=<value>` (or `+=`) of a bake override: the key, lower-case, and the
/// value; `None` when the entry has no `=` outside expressions or no `.` before it.
fn bake_override(whole: &Value) -> Option<(String, Value)> {
    let written = &whole.written.text;
    let eq = outside_expressions(written, '=')?;
    let left = written[..eq].trim().trim_end_matches('+');
    let (_, key) = left.rsplit_once('.')?;
    Some((key.trim().to_ascii_lowercase(), whole.slice(eq + 1)))
}

/// The comma-separated fields of a value (commas outside expressions).
fn comma_fields(value: &Value) -> Vec<Value> {
    let written = &value.written.text;
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(comma) = outside_expressions(&written[start..], ',') {
        out.push(value.between(start, start + comma));
        start += comma + 1;
    }
    out.push(value.between(start, written.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::names;
    use super::*;

    #[test]
    fn image_commands_name_their_targets_and_lists() {
        let got = names(
            "jobs:\n  b:\n    steps:\n      - run: |\n          docker tag app:1 r.io/app:1\n          docker image tag app:1 app:local\n          docker manifest create --amend myapp:1 r.io/app:amd64 r.io/app:arm64\n          docker manifest push --purge myapp:1\n          docker buildx imagetools create -t r.io/app:2 --tag=r.io/app:latest r.io/app:amd64\n          docker buildx imagetools create --dry-run -t r.io/app:3 r.io/app:amd64\n",
        );
        let want = |role, s: &str| (role, s.to_string(), Some(s.to_string()));
        assert_eq!(
            got,
            vec![
                want(Role::Tag, "r.io/app:1"),
                want(Role::Tag, "app:local"),
                want(Role::Tag, "myapp:1"),
                want(Role::Push, "myapp:1"),
                want(Role::Push, "r.io/app:2"),
                want(Role::Push, "r.io/app:latest"),
                want(Role::Tag, "r.io/app:3"),
            ]
        );
    }

    #[test]
    fn bake_action_reads_inline_tags_and_caches_only() {
        let got = names(
            "jobs:\n  b:\n    steps:\n      - uses: docker/bake-action@v6\n        with:\n          push: true\n          set: |\n            *.tags=r.io/app:1,r.io/app:latest\n            app.tags+=ghcr.io/o/app:1\n            *.cache-to=type=registry,ref=r.io/app:cache,mode=max\n            *.platform=linux/amd64,linux/arm64\n      - uses: docker/bake-action@v6\n        with:\n          set: app.tags=app:dev\n",
        );
        let want = |role, s: &str| (role, s.to_string(), Some(s.to_string()));
        assert_eq!(
            got,
            vec![
                want(Role::CacheTo, "r.io/app:cache"),
                want(Role::Push, "r.io/app:1"),
                want(Role::Push, "r.io/app:latest"),
                want(Role::Push, "ghcr.io/o/app:1"),
                want(Role::Tag, "app:dev"),
            ]
        );
    }
}
