//! Where referenced files may live: the spec root, and the check that keeps every file named
//! inside a spec (`consumes[].location`, `binds[].location`, MCP resource and prompt `location`,
//! Arazzo `sourceDescriptions[].url`) under it.
//!
//! The **spec root** of a file named on the command line (or in [`crate::Inputs`]) is the parent
//! of the directory holding it: `specs/prisma/` for `specs/prisma/capabilities/x.yaml`, so a
//! capability can import `./shared/…` and an Arazzo file can name `../openapi/…`. Files named
//! directly by the caller are always read; files a spec names are read only when, after
//! resolving symlinks and `..`, they lie under the root of the spec that (transitively) named
//! them. [`Scope::anywhere`] (the CLI's `--allow-outside-spec-dir`) lifts the restriction.

use std::path::{Component, Path, PathBuf};

use crate::diagnostics::{Diagnostic, Span};

/// The diagnostic code for a reference that leaves the spec root.
pub const OUTSIDE_CODE: &str = "path-outside-spec-dir";

/// The directories files named by a spec may be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Canonical spec root; `None` allows any path.
    root: Option<PathBuf>,
}

impl Scope {
    /// The scope of a spec given by the caller: its spec root (see the module docs).
    pub fn for_spec(file: &Path) -> Scope {
        Scope { root: Some(spec_root(file)) }
    }

    /// No restriction (the explicit opt-in).
    pub fn anywhere() -> Scope {
        Scope { root: None }
    }

    /// [`Scope::for_spec`], or [`Scope::anywhere`] when `allow_outside` is set.
    pub fn new(file: &Path, allow_outside: bool) -> Scope {
        if allow_outside { Scope::anywhere() } else { Scope::for_spec(file) }
    }

    /// The canonical root, when restricted.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Whether `target` (after resolving symlinks and `..`) lies under the root.
    pub fn allows(&self, target: &Path) -> bool {
        match &self.root {
            None => true,
            Some(root) => resolve(target).starts_with(root),
        }
    }

    /// `Ok` when `target` may be read; otherwise the `path-outside-spec-dir` diagnostic for the
    /// reference `written` (as the spec wrote it) at `span`.
    pub fn check(&self, target: &Path, written: &str, span: Span) -> Result<(), Diagnostic> {
        match &self.root {
            Some(root) if !self.allows(target) => Err(outside(written, root, span)),
            _ => Ok(()),
        }
    }
}

/// The diagnostic for a reference `written` outside the spec root `root`. The root is shown
/// relative to the working directory when it lies under it, so reports stay the same across
/// checkouts.
pub fn outside(written: &str, root: &Path, span: Span) -> Diagnostic {
    Diagnostic::error(
        OUTSIDE_CODE,
        format!("`{written}` points outside the spec directory `{}`", relative_to_cwd(root).display()),
    )
    .at(span)
    .label("outside the spec directory")
    .help(
        "specs may only name files under the parent of their own directory; move the file there, \
         or pass `--allow-outside-spec-dir` (`Inputs::allow_outside`) to read it anyway",
    )
}

/// `path` relative to the (canonical) working directory, or as it is when outside it.
fn relative_to_cwd(path: &Path) -> PathBuf {
    let Some(cwd) = std::env::current_dir().ok().and_then(|cwd| cwd.canonicalize().ok()) else { return path.to_path_buf() };
    match path.strip_prefix(&cwd) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// The parent of the directory holding `file`, canonicalized (the directory itself when it has
/// no parent).
pub fn spec_root(file: &Path) -> PathBuf {
    let file = resolve(file);
    let dir = file.parent().unwrap_or(&file);
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// `path` made absolute with symlinks and `..` resolved. A path that does not exist (yet) is
/// resolved as far as it exists, and the rest is normalized lexically, so it can still be
/// compared with a root.
pub fn resolve(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    // Canonicalize the longest existing prefix, then append the rest lexically.
    let components: Vec<Component<'_>> = absolute.components().collect();
    for cut in (0..components.len()).rev() {
        let prefix: PathBuf = components[..cut].iter().collect();
        if let Ok(base) = prefix.canonicalize() {
            return normalize(&base, &components[cut..]);
        }
    }
    normalize(Path::new(""), &components)
}

/// Appends `rest` to `base`, applying `.` and `..` lexically (never above the filesystem root).
fn normalize(base: &Path, rest: &[Component<'_>]) -> PathBuf {
    let mut out = base.to_path_buf();
    for component in rest {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether a path that is resolved at run time relative to the working directory (a bind's
/// `file:///./x.yaml`) stays below it: relative, and never climbing above its start with `..`.
pub fn stays_relative(path: &Path) -> bool {
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return false,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::Normal(_) => depth += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_parent_of_the_spec_directory() {
        let dir = tempfile::tempdir().unwrap();
        let caps = dir.path().join("api/capabilities");
        std::fs::create_dir_all(&caps).unwrap();
        std::fs::write(caps.join("c.yaml"), "x").unwrap();
        let root = spec_root(&caps.join("c.yaml"));
        assert_eq!(root, dir.path().join("api").canonicalize().unwrap());
        let scope = Scope::for_spec(&caps.join("c.yaml"));
        assert!(scope.allows(&caps.join("../openapi/o.yaml")), "a sibling directory is inside");
        assert!(scope.allows(&caps.join("./shared/not-yet.yaml")), "missing files compare lexically");
        assert!(!scope.allows(&caps.join("../../other.yaml")));
        assert!(!scope.allows(Path::new("/etc/passwd")));
        assert!(Scope::anywhere().allows(Path::new("/etc/passwd")));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_resolved_before_comparing() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("root/caps");
        std::fs::create_dir_all(&spec).unwrap();
        std::fs::write(dir.path().join("secret.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.yaml"), spec.join("link.yaml")).unwrap();
        let scope = Scope::for_spec(&spec.join("c.yaml"));
        assert!(!scope.allows(&spec.join("link.yaml")));
    }

    #[test]
    fn relative_paths_that_climb_out() {
        assert!(stays_relative(Path::new("./shared/secrets.yaml")));
        assert!(stays_relative(Path::new("a/../b.yaml")));
        assert!(!stays_relative(Path::new("../secrets.yaml")));
        assert!(!stays_relative(Path::new("a/../../b.yaml")));
        assert!(!stays_relative(Path::new("/etc/secrets.yaml")));
    }
}
