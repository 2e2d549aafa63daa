//! Commands that name images without building them (P37): `docker tag` (its target),
//! `docker manifest create` (the list) and `docker manifest push`, `docker buildx
//! imagetools create --tag`, and the tags and registry caches docker/bake-action is
//! given inline (`set: <target>.tags=…`), and the bake invocations whose files
//! [`bake_files`](super::bake_files) reads.

use super::bake_files::{BakeCall, override_of, override_pushes};
use super::*;

impl StepScan<'_, '_> {
    /// A `docker` image command: `words` start at the subcommand. Records its names and
    /// says whether it was one.
    pub(super) fn image_command(
        &mut self,
        text: &Text,
        words: &[Word],
        (start, end): (usize, usize),
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
        // The commands that talk to a registry read the docker config like a build:
        // recorded as one, so `sudo` and `DOCKER_CONFIG` are judged for them too.
        let what = match origin {
            Origin::ManifestCreate => Some("docker manifest create"),
            Origin::ManifestPush => Some("docker manifest push"),
            Origin::ImagetoolsCreate => Some("docker buildx imagetools create"),
            _ => None,
        };
        if let Some(what) = what {
            self.build(what, text, start, end);
        }
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
    /// or a `.push=true` / registry `.output` entry), `.cache-from=…` and `.cache-to=…`,
    /// then the targets of its bake files ([`bake_files`](super::bake_files)).
    pub(super) fn bake_action(&mut self) {
        let step = self.step;
        let mut call = BakeCall::default();
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
        call.push = pushes;
        for name in ["files", "targets"] {
            let Some(text) = step.input(name) else {
                continue;
            };
            for (offset, entry) in Self::entries(text, true) {
                let v = self.value_in_text(offset, &entry);
                let value = v.expanded.text.trim().to_string();
                if !v.expanded.is_resolved() {
                    self.found.notes.push(format!(
                        "docker/bake-action `{name}` of step `{}` (line {}) is not known here ({entry}): its bake targets are not read.",
                        self.step_ref.label, self.step_ref.line
                    ));
                    call.elsewhere = Some(format!("`{name}` is not known here"));
                } else if name == "files" {
                    call.files.push(value);
                } else {
                    call.targets.push(value);
                }
            }
        }
        let resolved = |name: &str| {
            let text = step.input(name)?;
            let e = self.scope().expand(&text.value);
            Some(if e.is_resolved() {
                Ok(e.text.trim().to_string())
            } else {
                Err(text.value.trim().to_string())
            })
        };
        match resolved("source") {
            Some(Ok(s)) if s == "." || s.starts_with("./") || s == "{{defaultContext}}" => {
                call.workdir = Some(s.trim_start_matches("{{defaultContext}}").to_string())
            }
            Some(Ok(s)) => {
                call.elsewhere = Some(format!("its `source` is `{s}`, not the workspace"))
            }
            Some(Err(s)) => call.elsewhere = Some(format!("its `source` ({s}) is not known here")),
            // v6 builds the Git context of the same commit, which the workspace stands for.
            None => {}
        }
        match resolved("workdir") {
            Some(Ok(w)) => call.workdir = Some(w),
            Some(Err(w)) => call.elsewhere = Some(format!("its `workdir` ({w}) is not known here")),
            None => {}
        }
        let mut tags: Vec<Value> = Vec::new();
        if let Some(text) = step.input("set") {
            for (offset, entry) in Self::entries(text, false) {
                let whole = self.value_in_text(offset, &entry);
                if let Some((pattern, key, replaces, value)) = override_of(&whole.expanded.text) {
                    if override_pushes(&key, &value) {
                        call.push_patterns.push(pattern.clone());
                    }
                    call.sets.push((pattern, key, replaces));
                }
                let Some((key, value)) = bake_override(&whole) else {
                    continue;
                };
                match key.as_str() {
                    "tags" => tags.extend(comma_fields(&value)),
                    "cache-from" | "cache-to" => {
                        self.cache_entry(Origin::BakeSet, text, &value, key == "cache-from")
                    }
                    "push" | "output" => {
                        pushes |= value.expanded.is_resolved()
                            && override_pushes(&key, &value.expanded.text)
                    }
                    _ => {}
                }
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
        if let Some(text) = step.input("set") {
            for value in &tags {
                self.add(role, Origin::BakeSet, text, value, None, Vec::new());
            }
        }
        if undecided.is_empty() {
            self.bake_files(call);
        } else {
            self.found.notes.push(format!(
                "docker/bake-action `push` of step `{}` (line {}) is not known here: its bake targets are not read.",
                self.step_ref.label, self.step_ref.line
            ));
        }
    }

    /// `docker buildx bake …` (or `docker bake …`) after `bake`: its files, targets,
    /// `--push` and `--set` overrides; `--print`/`--list` build nothing.
    pub(super) fn bake_command(
        &mut self,
        text: &Text,
        words: &[Word],
        locals: &HashMap<String, Result<String, String>>,
    ) {
        let args = self.expand_all(text, words, locals);
        let opts = options(
            &args,
            &[
                "-f",
                "--file",
                "--set",
                "--builder",
                "--progress",
                "--metadata-file",
                "--allow",
                "--call",
                "--provenance",
                "--sbom",
                "--var",
            ],
        );
        if opts
            .iter()
            .any(|(n, _)| n == "--print" || n == "--list" || n.starts_with("--list="))
        {
            return;
        }
        let mut call = BakeCall {
            locals: locals.clone(),
            push: opts.iter().any(|(n, _)| n == "--push"),
            ..BakeCall::default()
        };
        match &self.base {
            workdir::Base::Known(dir) => call.workdir = Some(dir.clone()),
            workdir::Base::Unknown(why) => call.elsewhere = Some(why.clone()),
        }
        let known = |v: &Value| {
            v.expanded
                .is_resolved()
                .then(|| v.expanded.text.trim().to_string())
        };
        for (name, value) in &opts {
            let Some(v) = value else { continue };
            let Some(resolved) = known(v) else {
                call.elsewhere = Some(format!("`{}` is not known here", v.written.text.trim()));
                continue;
            };
            match name.as_str() {
                "" => call.targets.push(resolved),
                "-f" | "--file" if resolved == "-" => {
                    call.elsewhere = Some("it reads its definition from standard input".into())
                }
                "-f" | "--file" => call.files.push(resolved),
                "--set" => {
                    if let Some((pattern, key, replaces, value)) = override_of(&resolved) {
                        if override_pushes(&key, &value) {
                            call.push_patterns.push(pattern.clone());
                        }
                        call.sets.push((pattern, key.clone(), replaces));
                        let role = if call.push { Role::Push } else { Role::Tag };
                        match key.as_str() {
                            "tags" => {
                                let eq = outside_expressions(&v.written.text, '=').unwrap_or(0);
                                for field in comma_fields(&v.slice(eq + 1)) {
                                    self.add(role, Origin::BakeSet, text, &field, None, Vec::new());
                                }
                            }
                            "cache-from" | "cache-to" => {
                                let eq = outside_expressions(&v.written.text, '=').unwrap_or(0);
                                self.cache_entry(
                                    Origin::BakeSet,
                                    text,
                                    &v.slice(eq + 1),
                                    key == "cache-from",
                                );
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        self.bake_files(call);
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
