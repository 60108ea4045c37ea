//! Reading a YAML (or JSON) file into a value plus a span index.
//!
//! The value comes from `yaml_serde`; the span index from the event stream of the same libyaml
//! parser `yaml_serde` uses, so both views agree on every node. Spans are looked up by JSON
//! Pointer (`/capability/consumes/0/resources/1`), which is also how later stages name nodes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::diagnostics::{Diagnostic, Diagnostics, Span};

/// The position of one node: its value, and for mapping entries, its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    line: usize,
    column: usize,
    offset: usize,
    end: usize,
}

#[derive(Clone, Copy, Debug)]
struct NodeMarks {
    key: Option<Mark>,
    value: Mark,
}

/// JSON Pointer → position, for every node of one document.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    nodes: HashMap<String, NodeMarks>,
}

/// A parsed file: its value and where each node came from.
#[derive(Clone, Debug)]
pub struct YamlFile {
    pub path: Arc<Path>,
    pub text: Arc<str>,
    pub value: serde_yaml::Value,
    spans: SpanIndex,
    /// Set when `value` was rewritten from a dialect ([`crate::parse::ikanos`]): pointer in
    /// `value` → pointer in the text, and whether the node is named by its key.
    translation: HashMap<String, (String, bool)>,
    /// Subtrees copied in from other files ([`YamlFile::graft`]): their spans are looked up
    /// there.
    grafts: Vec<Graft>,
}

/// A subtree of `value` (at `at`) copied from the node at `from` in `file`.
#[derive(Clone, Debug)]
struct Graft {
    at: String,
    file: Arc<YamlFile>,
    from: String,
}

/// From this size on, a file's two parsing passes run in parallel.
const PARALLEL_FROM_BYTES: usize = 64 * 1024;

impl YamlFile {
    /// Parses `text` (YAML 1.2, which includes JSON). Syntax errors become diagnostics.
    pub fn parse(path: Arc<Path>, text: Arc<str>) -> Result<Self, Diagnostic> {
        // The value and the span index are two independent passes over the text: for a large
        // file they run on two threads (about a third of loading a 1,000-operation capability).
        let (value, spans) = if text.len() >= PARALLEL_FROM_BYTES {
            std::thread::scope(|scope| {
                let spans = scope.spawn(|| SpanIndex::build(&text));
                let value = serde_yaml::from_str::<serde_yaml::Value>(&text);
                (value, Some(spans.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
            })
        } else {
            (serde_yaml::from_str(&text), None)
        };
        let value: serde_yaml::Value = value.map_err(|err| {
            let mut span = Span::file_start(path.clone());
            if let Some(location) = err.location() {
                span.line = location.line();
                span.column = location.column();
                let mut offset = location.index().min(text.len());
                while !text.is_char_boundary(offset) {
                    offset -= 1;
                }
                span.offset = offset;
                span.len = text[offset..].chars().next().map_or(1, char::len_utf8);
            }
            let message = strip_location(&err.to_string());
            Diagnostic::error("yaml-syntax", format!("this file is not valid YAML: {message}"))
                .at(span)
                .help("fix the YAML syntax; every later check needs a readable document")
        })?;
        let spans = spans.unwrap_or_else(|| SpanIndex::build(&text));
        Ok(YamlFile { path, text, value, spans, translation: HashMap::new(), grafts: Vec::new() })
    }

    /// The span of the node at `pointer`, or of its nearest ancestor that exists.
    pub fn span(&self, pointer: &str) -> Span {
        self.lookup(pointer, false)
    }

    /// The span of the key of the mapping entry at `pointer` (falls back to the value).
    pub fn key_span(&self, pointer: &str) -> Span {
        self.lookup(pointer, true)
    }

    /// Whether a node exists at `pointer`.
    pub fn has(&self, pointer: &str) -> bool {
        if let Some((graft, rest)) = self.graft_of(pointer) {
            return graft.file.has(&format!("{}{rest}", graft.from));
        }
        self.translation.contains_key(pointer) || self.spans.nodes.contains_key(pointer)
    }

    /// Replaces `value` by its normalised form; `translation` maps each of its pointers to the
    /// node of the text it came from (`true`: the node is the key of that entry).
    pub fn rewrite(&mut self, value: serde_yaml::Value, translation: HashMap<String, (String, bool)>) {
        self.value = value;
        self.translation = translation;
    }

    /// The span of the node at `pointer` in the text as written, ignoring any rewrite.
    pub fn original_span(&self, pointer: &str) -> Span {
        let mut current = pointer;
        loop {
            if let Some(marks) = self.spans.nodes.get(current) {
                return self.to_span(marks.value);
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return Span::file_start(self.path.clone()),
            }
        }
    }

    /// Replaces the node at `at` by the node at `from` in `file` (an imported entry); spans
    /// under `at` then point into `file`. `false` when `at` or `from` names no node.
    pub fn graft(&mut self, at: &str, file: Arc<YamlFile>, from: &str) -> bool {
        let Some(node) = get(&file.value, from).cloned() else { return false };
        let Some(slot) = get_mut(&mut self.value, at) else { return false };
        *slot = node;
        self.grafts.push(Graft { at: at.to_string(), file, from: from.to_string() });
        true
    }

    /// The graft holding `pointer`, and the rest of the pointer below it.
    fn graft_of<'p>(&self, pointer: &'p str) -> Option<(&Graft, &'p str)> {
        self.grafts.iter().find_map(|graft| {
            let rest = pointer.strip_prefix(graft.at.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((graft, rest))
        })
    }

    fn lookup(&self, pointer: &str, prefer_key: bool) -> Span {
        if let Some((graft, rest)) = self.graft_of(pointer) {
            return graft.file.lookup(&format!("{}{rest}", graft.from), prefer_key);
        }
        let mut current = pointer;
        loop {
            if let Some((original, is_key)) = self.translation.get(current)
                && let Some(marks) = self.spans.nodes.get(original.as_str())
            {
                let mark = if prefer_key || *is_key { marks.key.unwrap_or(marks.value) } else { marks.value };
                return self.to_span(mark);
            }
            if let Some(marks) = self.spans.nodes.get(current) {
                let mark = if prefer_key { marks.key.unwrap_or(marks.value) } else { marks.value };
                return self.to_span(mark);
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return Span::file_start(self.path.clone()),
            }
        }
    }

    fn to_span(&self, mark: Mark) -> Span {
        Span {
            file: self.path.clone(),
            line: mark.line,
            column: mark.column,
            offset: mark.offset,
            len: mark.end.saturating_sub(mark.offset).max(1),
        }
    }

    /// Deserializes the node at `pointer` into `T`; on failure, a diagnostic at that node.
    pub fn decode<T: DeserializeOwned>(&self, pointer: &str, value: &serde_yaml::Value) -> Result<T, Diagnostic> {
        deserialize_at(value.clone()).map_err(|(at, message)| self.decode_error(&format!("{pointer}{at}"), &message))
    }

    /// Turns a serde message (`missing field `name``, `unknown field `x``, …) into a diagnostic
    /// pointing at the most precise node the message names.
    pub fn decode_error(&self, pointer: &str, message: &str) -> Diagnostic {
        let message = strip_location(message);
        let field = backticked(&message);
        let (span, help) = if message.starts_with("missing field") {
            (self.span(pointer), format!("add `{}` here", field.unwrap_or("the field")))
        } else if message.starts_with("unknown field") {
            let key = field.map(|f| format!("{pointer}/{}", escape_pointer(f))).unwrap_or_default();
            (self.key_span(&key), "remove the field or fix its spelling".to_string())
        } else if let Some(expected) = message.split(", expected ").nth(1) {
            (self.span(pointer), format!("write {} here", readable_type(expected)))
        } else {
            (self.span(pointer), "give this node the expected shape".to_string())
        };
        Diagnostic::error("invalid-field", message).at(span).help(help)
    }
}

/// Deserializes `value`; on failure returns the JSON Pointer (relative to `value`) of the node
/// that failed, and the message.
pub fn deserialize_at<T: DeserializeOwned>(value: serde_yaml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut pointer = String::new();
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => pointer.push_str(&format!("/{}", escape_pointer(key))),
                serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = err.into_inner().to_string();
        // A nested `deserialize_at` (inside a hand-written `Deserialize`) carried its pointer in
        // the message; put it back on the path.
        match message.strip_prefix(NESTED).and_then(|rest| rest.split_once(NESTED)) {
            Some((inner, message)) => (format!("{pointer}{inner}"), message.to_string()),
            None => (pointer, message),
        }
    })
}

const NESTED: &str = "\u{1}";

/// Deserializes `value` inside a hand-written `Deserialize`, keeping the failing node's pointer
/// for [`deserialize_at`] to recover.
pub fn deserialize_nested<T: DeserializeOwned, E: serde::de::Error>(value: serde_yaml::Value) -> Result<T, E> {
    deserialize_at(value).map_err(|(at, message)| E::custom(format!("{NESTED}{at}{NESTED}{message}")))
}

/// Appends a key to a JSON Pointer, escaping `~` and `/`.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The node at a JSON Pointer.
pub fn get<'v>(value: &'v serde_yaml::Value, pointer: &str) -> Option<&'v serde_yaml::Value> {
    let mut node = value;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match node {
            serde_yaml::Value::Sequence(items) => items.get(segment.parse::<usize>().ok()?)?,
            serde_yaml::Value::Mapping(map) => map.get(segment.as_str())?,
            _ => return None,
        };
    }
    Some(node)
}

/// The node at a JSON Pointer, mutably.
pub fn get_mut<'v>(value: &'v mut serde_yaml::Value, pointer: &str) -> Option<&'v mut serde_yaml::Value> {
    let mut node = value;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match node {
            serde_yaml::Value::Sequence(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            serde_yaml::Value::Mapping(map) => map.get_mut(segment.as_str())?,
            _ => return None,
        };
    }
    Some(node)
}

/// `pointer` + `/key`.
pub fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", escape_pointer(key))
}

/// `pointer` + `/index`.
pub fn item(pointer: &str, index: usize) -> String {
    format!("{pointer}/{index}")
}

/// serde's name for an expected type, in the words of a YAML author.
fn readable_type(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "i32" | "i64" | "usize" => "a whole number".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a sequence" => "a list".to_string(),
        other if other.starts_with("struct ") || other.starts_with("a map") => "a mapping (key: value pairs)".to_string(),
        other => other.to_string(),
    }
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// yaml_serde appends ` at line L column C`; the span already says that.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.to_string(),
    }
}

/// Reads and parses a file, recording its text in `sources` for reports.
pub fn load(
    path: &Path,
    sources: &mut crate::diagnostics::SourceMap,
    diagnostics: &mut Diagnostics,
) -> Option<YamlFile> {
    let path: Arc<Path> = Arc::from(path);
    let text: Arc<str> = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Arc::from(text),
            Err(_) => {
                diagnostics.push(
                    Diagnostic::error("unreadable-file", format!("`{}` is not UTF-8 text", path.display()))
                        .at(Span::file_start(path.clone()))
                        .help("save the file as UTF-8 YAML or JSON"),
                );
                return None;
            }
        },
        Err(err) => {
            diagnostics.push(
                Diagnostic::error("unreadable-file", format!("cannot read `{}`: {err}", path.display()))
                    .help("check the path; relative paths resolve against the referring file"),
            );
            return None;
        }
    };
    sources.insert(path.clone(), text.clone());
    match YamlFile::parse(path, text) {
        Ok(file) => Some(file),
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            None
        }
    }
}

impl SpanIndex {
    /// Walks libyaml's event stream for the first document, recording each node's position.
    fn build(text: &str) -> SpanIndex {
        let mut index = SpanIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        let events = EventStream::new(text.as_bytes());
        for event in events {
            // libyaml's `index` is a byte offset into the UTF-8 input; `column` counts characters.
            let clamp = |index: usize| {
                let mut index = index.min(text.len());
                while !text.is_char_boundary(index) {
                    index -= 1;
                }
                index
            };
            let m = Mark { line: event.start.0 + 1, column: event.start.1 + 1, offset: clamp(event.start.2), end: clamp(event.end.2) };
            match event.kind {
                EventKind::DocumentEnd => break,
                EventKind::Scalar(value) => {
                    if let Some(Frame::Map { pointer, key }) = stack.last_mut()
                        && key.is_none()
                    {
                        let entry = child(pointer, &value);
                        index.nodes.insert(entry.clone(), NodeMarks { key: Some(m), value: m });
                        *key = Some(entry);
                        continue;
                    }
                    let at = next_pointer(&mut stack);
                    index.nodes.entry(at).and_modify(|n| n.value = m).or_insert(NodeMarks { key: None, value: m });
                }
                EventKind::Alias => {
                    let at = next_pointer(&mut stack);
                    index.nodes.entry(at).and_modify(|n| n.value = m).or_insert(NodeMarks { key: None, value: m });
                }
                EventKind::MappingStart | EventKind::SequenceStart => {
                    // A complex (non-scalar) mapping key: give it a placeholder name.
                    if let Some(Frame::Map { pointer, key }) = stack.last_mut()
                        && key.is_none()
                    {
                        *key = Some(child(pointer, "?"));
                    }
                    let at = next_pointer(&mut stack);
                    index.nodes.entry(at.clone()).and_modify(|n| n.value = m).or_insert(NodeMarks { key: None, value: m });
                    stack.push(if matches!(event.kind, EventKind::MappingStart) {
                        Frame::Map { pointer: at, key: None }
                    } else {
                        Frame::Seq { pointer: at, next: 0 }
                    });
                }
                EventKind::MappingEnd | EventKind::SequenceEnd => {
                    stack.pop();
                }
                EventKind::Other => {}
            }
        }
        index
    }
}

enum Frame {
    /// `key` is the pointer of the entry whose value comes next, `None` while a key is expected.
    Map { pointer: String, key: Option<String> },
    Seq { pointer: String, next: usize },
}

/// The pointer of the value that the next event describes, advancing the parent frame.
fn next_pointer(stack: &mut [Frame]) -> String {
    match stack.last_mut() {
        None => String::new(),
        Some(Frame::Map { pointer, key }) => key.take().unwrap_or_else(|| pointer.clone()),
        Some(Frame::Seq { pointer, next }) => {
            let at = item(pointer, *next);
            *next += 1;
            at
        }
    }
}

enum EventKind {
    Scalar(String),
    Alias,
    MappingStart,
    MappingEnd,
    SequenceStart,
    SequenceEnd,
    DocumentEnd,
    Other,
}

struct Event {
    kind: EventKind,
    /// (line, column, byte index), 0-based.
    start: (usize, usize, usize),
    end: (usize, usize, usize),
}

/// A safe iterator over libyaml's parse events. Stops at the first syntax error (the value
/// parse has already reported it) or at the end of the stream.
struct EventStream<'a> {
    parser: Box<std::mem::MaybeUninit<libyaml_rs::yaml_parser_t>>,
    _input: &'a [u8],
    done: bool,
}

impl<'a> EventStream<'a> {
    fn new(input: &'a [u8]) -> Self {
        let mut parser = Box::new(std::mem::MaybeUninit::<libyaml_rs::yaml_parser_t>::uninit());
        // SAFETY: `yaml_parser_initialize` fully initialises the parser; the input slice outlives
        // the parser (both are owned by `self`, and the parser is deleted in `Drop`).
        let initialised = unsafe { libyaml_rs::yaml_parser_initialize(parser.as_mut_ptr()) };
        let done = !initialised.ok;
        if !done {
            unsafe {
                libyaml_rs::yaml_parser_set_input_string(parser.as_mut_ptr(), input.as_ptr(), input.len() as _);
            }
        }
        EventStream { parser, _input: input, done }
    }
}

impl Iterator for EventStream<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        use libyaml_rs::*;
        if self.done {
            return None;
        }
        let mut raw = std::mem::MaybeUninit::<yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`; on success the event is initialised and
        // is deleted below after its data is copied out.
        let parsed = unsafe { yaml_parser_parse(self.parser.as_mut_ptr(), raw.as_mut_ptr()) };
        if !parsed.ok {
            self.done = true;
            return None;
        }
        let mut raw = unsafe { raw.assume_init() };
        let kind = match raw.type_ {
            YAML_SCALAR_EVENT => {
                let scalar = unsafe { raw.data.scalar };
                let bytes = if scalar.value.is_null() {
                    &[][..]
                } else {
                    unsafe { std::slice::from_raw_parts(scalar.value, scalar.length as usize) }
                };
                EventKind::Scalar(String::from_utf8_lossy(bytes).into_owned())
            }
            YAML_ALIAS_EVENT => EventKind::Alias,
            YAML_MAPPING_START_EVENT => EventKind::MappingStart,
            YAML_MAPPING_END_EVENT => EventKind::MappingEnd,
            YAML_SEQUENCE_START_EVENT => EventKind::SequenceStart,
            YAML_SEQUENCE_END_EVENT => EventKind::SequenceEnd,
            YAML_DOCUMENT_END_EVENT => EventKind::DocumentEnd,
            YAML_STREAM_END_EVENT => {
                self.done = true;
                EventKind::Other
            }
            _ => EventKind::Other,
        };
        let event = Event {
            kind,
            start: (raw.start_mark.line as usize, raw.start_mark.column as usize, raw.start_mark.index as usize),
            end: (raw.end_mark.line as usize, raw.end_mark.column as usize, raw.end_mark.index as usize),
        };
        unsafe { yaml_event_delete(&mut raw) };
        Some(event)
    }
}

impl Drop for EventStream<'_> {
    fn drop(&mut self) {
        // SAFETY: `yaml_parser_initialize` zeroes the parser before anything else, so deleting it
        // is valid even when initialisation failed.
        unsafe { libyaml_rs::yaml_parser_delete(self.parser.as_mut_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> YamlFile {
        YamlFile::parse(Arc::from(Path::new("t.yaml")), Arc::from(text)).unwrap()
    }

    #[test]
    fn spans_point_at_nodes_and_keys() {
        let f = file("a:\n  b:\n    - x: 1\n    - y: [2, 3]\nc: \"é\"\n");
        let s = f.span("/a/b/1/y/1");
        assert_eq!((s.line, s.column), (4, 14));
        let k = f.key_span("/a/b/0/x");
        assert_eq!((k.line, k.column), (3, 7));
        assert_eq!(f.span("/c").line, 5);
        // Missing nodes fall back to their nearest ancestor.
        assert_eq!(f.span("/a/b/0/zzz").line, 3);
    }

    #[test]
    fn large_files_parse_on_two_threads_with_the_same_spans() {
        let entries: String = (0..5_000).map(|i| format!("k{i}:\n  v: {i}\n")).collect();
        assert!(entries.len() >= PARALLEL_FROM_BYTES);
        let f = file(&entries);
        assert_eq!(f.value["k4999"]["v"].as_u64(), Some(4999));
        assert_eq!((f.span("/k4999/v").line, f.key_span("/k4999").line), (10_000, 9_999));
        let broken = format!("{entries}z: [1, 2\n");
        let err = YamlFile::parse(Arc::from(Path::new("t.yaml")), Arc::from(broken)).unwrap_err();
        assert!(err.span.unwrap().line >= 10_001);
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = YamlFile::parse(Arc::from(Path::new("t.yaml")), Arc::from("a: [1, 2\nb: 3\n")).unwrap_err();
        assert_eq!(err.code, "yaml-syntax");
        assert!(err.span.unwrap().line >= 1);
    }

    #[test]
    fn keys_with_slashes_are_escaped() {
        let f = file("paths:\n  /pets/{id}:\n    get: {}\n");
        assert_eq!(f.span("/paths/~1pets~1{id}/get").line, 3);
    }
}
