//! The folder a `run:` script's relative paths are read from (its base). The runner
//! starts the script in the step's `working-directory:`, else the job's
//! `defaults.run.working-directory`, else the workflow's, relative to the workspace
//! (GitHub's workflow syntax, `jobs.<job_id>.steps[*].working-directory` and
//! `defaults.run`:
//! <https://docs.github.com/en/actions/using-workflows/workflow-syntax-for-github-actions#jobsjob_idstepsworking-directory>,
//! <https://docs.github.com/en/actions/using-jobs/setting-default-values-for-jobs>);
//! a `uses:` step is not affected. The script then moves with `cd`, `pushd` and `popd`,
//! read in order; a `cd` inside a subshell `( … )` ends with it. A folder that cannot
//! be known here (an expression or variable that does not resolve, `cd -`, `cd` alone,
//! a folder outside the workspace) makes the base unknown: the paths relative to it are
//! then not read, and a note says why, rather than reading them from the wrong folder.

use super::*;
use crate::workflow::shell::Part;

/// Where the relative paths of a script command point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Base {
    /// A folder of the workspace, relative to it (`.` for the workspace itself).
    Known(String),
    /// Not known here: why, naming what was written and where.
    Unknown(String),
}

impl Base {
    pub fn root() -> Base {
        Base::Known(".".into())
    }

    /// `path` read from this base: an absolute path as it is; `None` for a relative
    /// path when the base is not known.
    pub fn resolve(&self, path: &str) -> Option<String> {
        if path.starts_with('/') {
            return Some(path.to_string());
        }
        match self {
            Base::Known(dir) => Some(join(dir, path)),
            Base::Unknown(_) => None,
        }
    }
}

/// `rel` under the workspace folder `dir` (`.` for the workspace), with `.` and `..`
/// resolved. Leading `..` that leave the workspace are kept: such a path is never
/// read (the workspace refuses it).
pub(super) fn join(dir: &str, rel: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut above = 0usize;
    for part in dir.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    above += 1;
                }
            }
            p => out.push(p),
        }
    }
    let mut parts: Vec<&str> = std::iter::repeat_n("..", above).collect();
    parts.extend(out);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The base of each command of one script, subshell by subshell.
pub(super) struct Dirs {
    frames: Vec<Frame>,
}

struct Frame {
    /// The subshell this frame belongs to (`None`: the script itself).
    subshell: Option<usize>,
    base: Base,
    /// `pushd`'s stack of earlier folders.
    pushed: Vec<Base>,
}

impl Dirs {
    pub fn new(base: Base) -> Dirs {
        Dirs {
            frames: vec![Frame {
                subshell: None,
                base,
                pushed: Vec::new(),
            }],
        }
    }

    /// Leaves the subshells `command` is not in, enters those it is in (each starting
    /// where its parent is), and returns the base it runs in.
    pub fn enter(&mut self, command: &Command) -> &Base {
        while self.frames.len() > 1
            && self
                .frames
                .last()
                .and_then(|f| f.subshell)
                .is_some_and(|id| !command.subshells.contains(&id))
        {
            self.frames.pop();
        }
        for id in &command.subshells {
            if self.frames.iter().any(|f| f.subshell == Some(*id)) {
                continue;
            }
            let (base, pushed) = self
                .frames
                .last()
                .map(|f| (f.base.clone(), f.pushed.clone()))
                .unwrap_or((Base::root(), Vec::new()));
            self.frames.push(Frame {
                subshell: Some(*id),
                base,
                pushed,
            });
        }
        &self.top().base
    }

    fn top(&mut self) -> &mut Frame {
        if self.frames.is_empty() {
            *self = Dirs::new(Base::root());
        }
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }
}

/// `${{ github.workspace }}` (any spacing), which the runner replaces with the workspace.
fn workspace_expression(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("${{")?;
    let close = rest.find("}}")?;
    (rest[..close].trim() == "github.workspace").then(|| &rest[close + 2..])
}

impl StepScan<'_, '_> {
    /// The base a `run:` step's script starts in: its effective `working-directory`.
    pub(super) fn step_base(&self) -> Base {
        let Some(dir) = &self.step.working_directory else {
            return Base::root();
        };
        let written = dir.value.trim();
        let unknown = |why: &str| {
            Base::Unknown(format!(
                "its `working-directory: {written}` (line {}) {why}",
                dir.start.line
            ))
        };
        let (from_root, rest) = match workspace_expression(written) {
            Some(rest) => (true, rest),
            None => (false, written),
        };
        let e = self.scope().expand(rest);
        if let Some(u) = e.unresolved.first() {
            return unknown(&format!("is not known here: {}: {}", u.written, u.reason));
        }
        let path = e.text.trim();
        if from_root {
            return Base::Known(join(".", path));
        }
        match self.workspace_relative(path) {
            Some(p) => Base::Known(p),
            None => unknown("is outside the workspace"),
        }
    }

    /// A resolved folder as a workspace folder: relative to it, or absolute under the
    /// workspace acr-preflight is given (`$GITHUB_WORKSPACE`); `None` for any other
    /// absolute folder, or one that leaves the workspace.
    fn workspace_relative(&self, path: &str) -> Option<String> {
        let rel = if path.starts_with('/') {
            let roots = [
                self.input.process_env.get("GITHUB_WORKSPACE").cloned(),
                self.input
                    .run
                    .github_workspace
                    .as_ref()
                    .map(|p| p.display().to_string()),
            ];
            roots.into_iter().flatten().find_map(|root| {
                let root = root.trim_end_matches('/');
                let rest = path.strip_prefix(root)?;
                (rest.is_empty() || rest.starts_with('/')).then(|| join(".", rest))
            })?
        } else {
            path.to_string()
        };
        let rel = join(".", &rel);
        (rel != ".." && !rel.starts_with("../")).then_some(rel)
    }

    /// A `cd`, `pushd` or `popd` (Set-Location, Push-Location, Pop-Location): moves the
    /// base of `dirs` and returns true; false for any other command.
    pub(super) fn change_dir(
        &self,
        text: &Text,
        command: &Command,
        locals: &HashMap<String, Result<String, String>>,
        dirs: &mut Dirs,
    ) -> bool {
        let words = &command.words;
        let name = words
            .first()
            .and_then(Word::literal)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (push, pop) = match name.as_str() {
            "cd" | "chdir" | "set-location" | "sl" => (false, false),
            "pushd" | "push-location" => (true, false),
            "popd" | "pop-location" => (false, true),
            _ => return false,
        };
        let script = text.value.as_str();
        let start = words.first().map_or(0, |w| w.raw.start);
        let end = words.last().map_or(start, |w| w.raw.end);
        let written = script.get(start..end).unwrap_or_default();
        let line = text.locate(start..end).0;
        let unknown = |why: &str| Base::Unknown(format!("`{written}` (line {line}) {why}"));
        let frame = dirs.top();
        if pop {
            frame.base = frame
                .pushed
                .pop()
                .unwrap_or_else(|| unknown("pops a folder pushed before the script"));
            return true;
        }
        let operands: Vec<&Word> = words[1..]
            .iter()
            .filter(|w| {
                let l = w.literal().unwrap_or_default();
                !(l.starts_with('-') && l.len() > 1)
            })
            .collect();
        let next = match operands.as_slice() {
            [] => unknown("goes to the home folder or swaps pushed folders"),
            [w] if w.literal().as_deref() == Some("-") => {
                unknown("goes back to the previous folder")
            }
            [w] => self.folder(&frame.base, script, w, locals, &unknown),
            _ => unknown("is not read here"),
        };
        if push {
            frame.pushed.push(frame.base.clone());
        }
        frame.base = next;
        true
    }

    /// The folder `word` names, from `base`.
    fn folder(
        &self,
        base: &Base,
        script: &str,
        word: &Word,
        locals: &HashMap<String, Result<String, String>>,
        unknown: &dyn Fn(&str) -> Base,
    ) -> Base {
        let scope = self.scope();
        // `$GITHUB_WORKSPACE/…` and `${{ github.workspace }}/…`: from the workspace.
        let from_root = match word.parts.first() {
            Some(Part::Var { name, .. }) => name == "GITHUB_WORKSPACE",
            Some(Part::Expr { inner, .. }) => inner.trim() == "github.workspace",
            _ => false,
        };
        let (word, base) = if from_root {
            let rest = Word {
                raw: word.raw.clone(),
                parts: word.parts[1..].to_vec(),
            };
            (rest, Base::root())
        } else {
            (word.clone(), base.clone())
        };
        let e = word.expand(script, &scope, locals);
        if let Some(u) = e.unresolved.first() {
            return unknown(&format!(
                "goes to a folder not known here: {}: {}",
                u.written, u.reason
            ));
        }
        let path = e.text.trim();
        if path.starts_with('~') {
            return unknown("goes to a folder in the home folder");
        }
        let path = if from_root {
            path.trim_start_matches('/').to_string()
        } else {
            path.to_string()
        };
        let joined = match (&base, path.starts_with('/')) {
            (_, true) => path,
            (Base::Known(dir), false) => join(dir, &path),
            (Base::Unknown(_), false) => return base,
        };
        match self.workspace_relative(&joined) {
            Some(p) => Base::Known(p),
            None => unknown("goes outside the workspace"),
        }
    }

    /// `inputs` with their folder and files read from the current base; when the base
    /// is not known, the relative ones are dropped, with a note.
    pub(super) fn rebase(&mut self, mut inputs: BuildInputs) -> BuildInputs {
        let mut dropped = false;
        for path in [
            &mut inputs.dockerfile,
            &mut inputs.local_context,
            &mut inputs.task_file,
        ] {
            if let Some(p) = path.take() {
                *path = self.base.resolve(&p);
                dropped |= path.is_none();
            }
        }
        if dropped && let Base::Unknown(why) = &self.base {
            let what = self
                .found
                .builds
                .last()
                .map_or("a build", |b| b.what.as_str());
            self.found.notes.push(format!(
                "Files of `{what}` in step `{}` (line {}) not read: {why}, so its relative paths are not judged.",
                self.step_ref.label, self.step_ref.line
            ));
        }
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_resolves_dots_and_keeps_what_leaves_the_workspace() {
        assert_eq!(join(".", "."), ".");
        assert_eq!(join("app", "."), "app");
        assert_eq!(join("app", "./x/../Dockerfile"), "app/Dockerfile");
        assert_eq!(join("app/web", "../../lib"), "lib");
        assert_eq!(join("app", "../../x"), "../x");
        assert_eq!(join(".", "app/"), "app");
    }

    /// A build's (context folder, Dockerfile).
    type Paths = (Option<String>, Option<String>);

    /// The paths of each build of the one-job workflow `yaml`, and the notes.
    fn paths(yaml: &str) -> (Vec<Paths>, Vec<String>) {
        let found = super::super::tests::scan(yaml);
        let paths = found
            .builds
            .iter()
            .map(|b| (b.inputs.local_context.clone(), b.inputs.dockerfile.clone()))
            .collect();
        (paths, found.notes)
    }

    fn known(dir: &str, file: &str) -> Paths {
        (Some(dir.into()), Some(file.into()))
    }

    #[test]
    fn cd_pushd_popd_and_subshells_move_the_base_in_order() {
        let script = "cd app && docker build .\n( cd web; docker build -f ../Dockerfile . )\ndocker build -f x/Dockerfile ctx\npushd $GITHUB_WORKSPACE/lib\ndocker build .\npopd\ndocker build /abs\ncd -\ndocker build .\ncd /\naz acr build -r r .\n";
        let yaml = format!(
            "jobs:\n  a:\n    steps:\n      - run: |\n{}",
            script
                .lines()
                .map(|l| format!("          {l}\n"))
                .collect::<String>()
        );
        let (paths, notes) = paths(&yaml);
        assert_eq!(
            paths,
            vec![
                known("app", "app/Dockerfile"),
                known("app/web", "app/Dockerfile"),
                known("app/ctx", "app/x/Dockerfile"),
                known("lib", "lib/Dockerfile"),
                (Some("/abs".into()), Some("/abs/Dockerfile".into())),
                (None, None),
                (None, None),
            ]
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("`cd -` (line 12) goes back to the previous folder, so its relative paths are not judged"),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("Files of `az acr build` in step `run: cd app && docker build .` (line 4) not read: `cd /` (line 14) goes outside the workspace"),
            "{notes:?}"
        );
    }

    #[test]
    fn working_directory_is_the_step_s_then_the_job_s_and_not_a_uses_step_s() {
        let yaml = "defaults:\n  run:\n    working-directory: top\njobs:\n  a:\n    defaults:\n      run:\n        working-directory: ./svc/\n    steps:\n      - run: docker build .\n      - run: docker build -f Dockerfile ..\n        working-directory: ${{ github.workspace }}/app/web\n      - run: docker build .\n        working-directory: ${{ matrix.dir }}\n      - uses: docker/build-push-action@v6\n        working-directory: nope\n        with:\n          context: ctx\n";
        let (paths, notes) = paths(yaml);
        assert_eq!(
            paths,
            vec![
                known("svc", "svc/Dockerfile"),
                known("app", "app/web/Dockerfile"),
                (None, None),
                known("ctx", "ctx/Dockerfile"),
            ]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0]
                .contains("its `working-directory: ${{ matrix.dir }}` (line 14) is not known here"),
            "{notes:?}"
        );
    }

    #[test]
    fn the_workspace_expression_is_read_with_any_spacing() {
        assert_eq!(
            workspace_expression("${{ github.workspace }}/a"),
            Some("/a")
        );
        assert_eq!(workspace_expression("${{github.workspace}}"), Some(""));
        assert_eq!(workspace_expression("${{ matrix.dir }}"), None);
        assert_eq!(workspace_expression("app"), None);
    }
}
