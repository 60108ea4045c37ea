//! Diagnostics: every problem capgen finds, with a stable code, a source location and a help line.
//!
//! Stages push into one [`Diagnostics`] list and keep going, so a user sees every problem at once.
//! Rendering is separate: [`Diagnostics::render_human`] prints rustc-style reports (through
//! `annotate-snippets`), [`Diagnostics::to_json`] a machine-readable list.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use indexmap::IndexMap;
use serde::Serialize;

/// A location in an input file: 1-based line and column, plus the byte range for rendering.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
    /// Byte offset of the start of the node in the file.
    pub offset: usize,
    /// Length in bytes of the highlighted text (at least 1 when the file is not empty).
    pub len: usize,
}

impl Span {
    /// A span pointing at the start of a file (used when nothing more precise is known).
    pub fn file_start(file: Arc<Path>) -> Self {
        Span { file, line: 1, column: 1, offset: 0, len: 0 }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in the inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case identifier (`unknown-call-target`); tests and tools match on it.
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    /// Short text shown under the highlighted source.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `file:line:col: error[code]: message`, plus `help:` on the next line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// The text of every input file read, so reports can quote the offending line.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: IndexMap<Arc<Path>, Arc<str>>,
}

impl SourceMap {
    pub fn insert(&mut self, path: Arc<Path>, text: Arc<str>) {
        self.files.insert(path, text);
    }

    pub fn get(&self, path: &Path) -> Option<&Arc<str>> {
        self.files.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &Arc<Path>> {
        self.files.keys()
    }

    /// The full text of the line a span starts on.
    pub fn line_of(&self, span: &Span) -> Option<&str> {
        let text = self.files.get(&span.file)?;
        text.lines().nth(span.line.checked_sub(1)?)
    }
}

/// Every diagnostic of one run, in the order found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorted by file, position, then code; duplicates (same code, place and message) removed.
    pub fn sorted(mut self) -> Self {
        self.items.sort_by(|a, b| {
            (&a.span, a.severity, a.code, &a.message).cmp(&(&b.span, b.severity, b.code, &b.message))
        });
        self.items.dedup();
        self
    }

    /// rustc-style report of every diagnostic, then a summary line.
    pub fn render_human(&self, sources: &SourceMap, color: bool) -> String {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let mut out = String::new();
        for diagnostic in &self.items {
            out.push_str(&render_one(&renderer, diagnostic, sources));
            out.push_str("\n\n");
        }
        let (errors, warnings) = (self.error_count(), self.warning_count());
        if errors + warnings > 0 {
            out.push_str(&format!(
                "{} error{}, {} warning{}\n",
                errors,
                if errors == 1 { "" } else { "s" },
                warnings,
                if warnings == 1 { "" } else { "s" }
            ));
        }
        out
    }

    /// A JSON array, one object per diagnostic, with the offending line as `snippet`.
    pub fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        #[derive(Serialize)]
        struct JsonDiagnostic<'a> {
            severity: Severity,
            code: &'a str,
            message: &'a str,
            file: Option<PathBuf>,
            line: Option<usize>,
            column: Option<usize>,
            snippet: Option<&'a str>,
            label: Option<&'a str>,
            help: Option<&'a str>,
        }
        let list: Vec<_> = self
            .items
            .iter()
            .map(|d| JsonDiagnostic {
                severity: d.severity,
                code: d.code,
                message: &d.message,
                file: d.span.as_ref().map(|s| s.file.to_path_buf()),
                line: d.span.as_ref().map(|s| s.line),
                column: d.span.as_ref().map(|s| s.column),
                snippet: d.span.as_ref().and_then(|s| sources.line_of(s)),
                label: d.label.as_deref(),
                help: d.help.as_deref(),
            })
            .collect();
        serde_json::to_value(list).unwrap_or_default()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Diagnostics { items: iter.into_iter().collect() }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

fn render_one(renderer: &Renderer, d: &Diagnostic, sources: &SourceMap) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let path_text = d.span.as_ref().map(|s| s.file.display().to_string());
    let mut group = Group::with_title(level.primary_title(d.message.as_str()).id(d.code));
    match (&d.span, d.span.as_ref().and_then(|s| sources.get(&s.file))) {
        (Some(span), Some(text)) => {
            // Spans come from several producers (libyaml marks, expression offsets); keep the
            // range inside the text and on character boundaries, as the renderer requires.
            let mut start = span.offset.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = start.saturating_add(span.len.max(1)).min(text.len()).max(start);
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let mut annotation = AnnotationKind::Primary.span(start..end);
            if let Some(label) = &d.label {
                annotation = annotation.label(label.as_str());
            }
            group = group.element(
                Snippet::source(&**text)
                    .path(path_text.as_deref().unwrap_or_default())
                    .fold(true)
                    .annotation(annotation),
            );
        }
        (Some(span), None) => {
            group = group.element(Level::NOTE.message(format!("at {span}")));
        }
        _ => {}
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let report: &[Group<'_>] = &[group];
    renderer.render(report).to_string()
}
