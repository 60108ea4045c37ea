//! Arazzo runtime expressions, templates and criteria, parsed once at generation time.
//!
//! Everything a workflow evaluates is parsed here into an AST that a later emitter turns into
//! Rust; nothing parses an expression at run time. Three languages live here:
//! - runtime expressions (`$response.body#/id`, `$steps.login.outputs.token`), per the ABNF of the
//!   Arazzo 1.0.1 "Runtime Expressions" section ([`parse_expression`]);
//! - strings with embedded expressions (`Bearer {$inputs.token}`) ([`parse_template`],
//!   [`parse_value_string`]);
//! - criteria: simple conditions (`$statusCode == 200 && !$response.body#/done`), regex and
//!   JSONPath (RFC 9535) criteria ([`parse_condition`], [`parse_criterion`]).
//!
//! Legacy forms that real documents use are accepted and reported in [`Parsed::legacy`], each with
//! its standard replacement, so the caller can warn: a bare `$inputs.x` inside a string, a
//! double-quoted string literal in a condition, and a JSONPath criterion shaped
//! `<path> <op> <literal>`.
//!
//! Errors carry a byte offset into the parsed text so diagnostics can point at the exact column.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A parsed runtime expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `$url`
    Url,
    /// `$method`
    Method,
    /// `$statusCode`
    StatusCode,
    /// `$request.<source>`
    Request(Source),
    /// `$response.<source>`
    Response(Source),
    /// `$inputs.<name>[#pointer]`: an input of the current workflow.
    Inputs { name: String, pointer: Option<JsonPointer> },
    /// `$outputs.<name>[#pointer]`: an output of the current (or called) workflow.
    Outputs { name: String, pointer: Option<JsonPointer> },
    /// `$steps.<stepId>.outputs.<name>[#pointer]`
    StepOutput { step_id: String, output: String, pointer: Option<JsonPointer> },
    /// `$workflows.<workflowId>.(inputs|outputs).<name>[#pointer]`
    Workflow { workflow_id: String, field: WorkflowField, name: String, pointer: Option<JsonPointer> },
    /// `$sourceDescriptions.<name>.<reference>` (an operationId, workflowId or `url`).
    SourceDescription { source: String, reference: String },
    /// `$components.<kind>.<name>`
    Component { kind: ComponentKind, name: String },
    /// `$self` (Arazzo 1.1 only; parsed so a precise "not supported" can be reported).
    SelfRef,
    /// `$message.<source>` (Arazzo 1.1 AsyncAPI messages only; parsed for the same reason).
    Message(Source),
}

/// Where in an HTTP message (or 1.1 async message) a value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `header.<token>`; header names compare case-insensitively.
    Header(String),
    /// `query.<name>`
    Query(String),
    /// `path.<name>`
    Path(String),
    /// `body[#pointer]`
    Body(Option<JsonPointer>),
    /// `payload[#pointer]` (1.1 `$message` only).
    Payload(Option<JsonPointer>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowField {
    Inputs,
    Outputs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Inputs,
    Parameters,
    SuccessActions,
    FailureActions,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Inputs => "inputs",
            ComponentKind::Parameters => "parameters",
            ComponentKind::SuccessActions => "successActions",
            ComponentKind::FailureActions => "failureActions",
        }
    }
}

/// An RFC 6901 JSON Pointer, as its decoded reference tokens (`~0`/`~1` already unescaped).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JsonPointer {
    pub tokens: Vec<String>,
}

impl fmt::Display for JsonPointer {
    /// The pointer text, without the leading `#`: `/data/0/status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            write!(f, "/{}", token.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

fn fmt_pointer(f: &mut fmt::Formatter<'_>, pointer: &Option<JsonPointer>) -> fmt::Result {
    match pointer {
        Some(p) => write!(f, "#{p}"),
        None => Ok(()),
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Header(name) => write!(f, "header.{name}"),
            Source::Query(name) => write!(f, "query.{name}"),
            Source::Path(name) => write!(f, "path.{name}"),
            Source::Body(pointer) => {
                f.write_str("body")?;
                fmt_pointer(f, pointer)
            }
            Source::Payload(pointer) => {
                f.write_str("payload")?;
                fmt_pointer(f, pointer)
            }
        }
    }
}

impl fmt::Display for Expr {
    /// The canonical text of the expression (`$steps.a.outputs.b#/c`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Url => f.write_str("$url"),
            Expr::Method => f.write_str("$method"),
            Expr::StatusCode => f.write_str("$statusCode"),
            Expr::Request(source) => write!(f, "$request.{source}"),
            Expr::Response(source) => write!(f, "$response.{source}"),
            Expr::Inputs { name, pointer } => {
                write!(f, "$inputs.{name}")?;
                fmt_pointer(f, pointer)
            }
            Expr::Outputs { name, pointer } => {
                write!(f, "$outputs.{name}")?;
                fmt_pointer(f, pointer)
            }
            Expr::StepOutput { step_id, output, pointer } => {
                write!(f, "$steps.{step_id}.outputs.{output}")?;
                fmt_pointer(f, pointer)
            }
            Expr::Workflow { workflow_id, field, name, pointer } => {
                let field = match field {
                    WorkflowField::Inputs => "inputs",
                    WorkflowField::Outputs => "outputs",
                };
                write!(f, "$workflows.{workflow_id}.{field}.{name}")?;
                fmt_pointer(f, pointer)
            }
            Expr::SourceDescription { source, reference } => write!(f, "$sourceDescriptions.{source}.{reference}"),
            Expr::Component { kind, name } => write!(f, "$components.{}.{name}", kind.as_str()),
            Expr::SelfRef => f.write_str("$self"),
            Expr::Message(source) => write!(f, "$message.{source}"),
        }
    }
}

impl Expr {
    /// The same expression with `extra` appended to its JSON Pointer, when it can carry one.
    pub fn with_pointer_appended(&self, extra: &JsonPointer) -> Option<Expr> {
        fn join(pointer: &Option<JsonPointer>, extra: &JsonPointer) -> Option<JsonPointer> {
            let mut tokens = pointer.as_ref().map(|p| p.tokens.clone()).unwrap_or_default();
            tokens.extend(extra.tokens.iter().cloned());
            Some(JsonPointer { tokens })
        }
        let mut out = self.clone();
        match &mut out {
            Expr::Request(Source::Body(p)) | Expr::Response(Source::Body(p)) => *p = join(p, extra),
            Expr::Message(Source::Body(p)) | Expr::Message(Source::Payload(p)) => *p = join(p, extra),
            Expr::Inputs { pointer, .. }
            | Expr::Outputs { pointer, .. }
            | Expr::StepOutput { pointer, .. }
            | Expr::Workflow { pointer, .. } => *pointer = join(pointer, extra),
            _ => return None,
        }
        Some(out)
    }
}

/// A parse error: where in the parsed text (byte offset and length) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    /// A suggested fix, when one is evident (`did you mean `header`?`).
    pub help: Option<String>,
}

impl ExprError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        ExprError { offset, len: len.max(1), message: message.into(), help: None }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The same error, moved by `by` bytes (for text parsed inside a larger string).
    fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ExprError {}

/// A value and where it sits (byte offset and length) in the text it was parsed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub offset: usize,
    pub len: usize,
}

/// Which non-standard spelling was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyKind {
    /// `Bearer $inputs.token` (standard: `Bearer {$inputs.token}`).
    BareExpression,
    /// `"completed"` in a condition (standard: `'completed'`).
    DoubleQuotedString,
    /// A `jsonpath` criterion `$.data[0].status == "completed"` (standard: a simple condition on
    /// the context with a JSON Pointer, or an RFC 9535 filter query).
    JsonPathComparison,
    /// A legacy JSONPath comparison on `<path>.length`, read as the array's length. `standard`
    /// is an equivalent RFC 9535 query when one exists (`$.data[0]` for `> 0`), else empty.
    JsonPathLength,
    /// `$response.headers.X` (standard: `$response.header.X`), as arazzo-runner and Redocly read it.
    HeadersPlural,
    /// `$response.body.a.b[0]` (standard: `$response.body#/a/b/0`), as arazzo-runner reads it.
    BodyDotPath,
    /// `$response.body#a/b`: a JSON Pointer without its leading `/` (standard: `#/a/b`).
    PointerWithoutSlash,
    /// `$steps.s.x` (standard: `$steps.s.outputs.x`), as arazzo-runner reads it.
    StepWithoutOutputs,
    /// `$steps.get item.outputs.x`: a step or workflow id with spaces, read up to the `.` after
    /// it (as arazzo-runner does). `standard` is the id with `_` for each space, the id to
    /// rename the step or workflow to.
    IdWithSpaces,
}

/// One legacy form found while parsing: replace `len` bytes at `offset` with `standard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Legacy {
    pub kind: LegacyKind,
    pub offset: usize,
    pub len: usize,
    pub standard: String,
}

impl Legacy {
    fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// A parse result plus the legacy forms it relied on.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed<T> {
    pub value: T,
    pub legacy: Vec<Legacy>,
}

/// `text` with every legacy form in `legacy` replaced by its standard spelling.
pub fn standard_form(text: &str, legacy: &[Legacy]) -> String {
    let mut sorted: Vec<&Legacy> = legacy.iter().collect();
    sorted.sort_by_key(|l| l.offset);
    let mut out = String::new();
    let mut at = 0;
    for l in sorted {
        if l.offset < at {
            continue;
        }
        match (text.get(at..l.offset), text.get(l.offset..l.offset + l.len)) {
            (Some(before), Some(_)) => {
                out.push_str(before);
                out.push_str(&l.standard);
                at = l.offset + l.len;
            }
            _ => continue,
        }
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

// ---------------------------------------------------------------------------------------------
// Runtime expressions
// ---------------------------------------------------------------------------------------------

const ROOTS: &[&str] = &[
    "$url",
    "$method",
    "$statusCode",
    "$request.",
    "$response.",
    "$inputs.",
    "$outputs.",
    "$steps.",
    "$workflows.",
    "$sourceDescriptions.",
    "$components.",
    "$self",
    "$message.",
];

/// Parses one complete runtime expression (the whole of `text`), in its standard form only: a
/// legacy spelling is an error whose help shows the standard one.
pub fn parse_expression(text: &str) -> Result<Expr, ExprError> {
    let parsed = parse_expression_loose(text)?;
    match parsed.legacy.first() {
        None => Ok(parsed.value),
        Some(l) => Err(ExprError::new(l.offset, l.len, "this is not the standard form of a runtime expression")
            .help(format!("write `{}`", standard_form(text, &parsed.legacy)))),
    }
}

/// Parses one complete runtime expression, accepting the legacy spellings peers read
/// ([`LegacyKind::HeadersPlural`], [`LegacyKind::BodyDotPath`], [`LegacyKind::PointerWithoutSlash`],
/// [`LegacyKind::StepWithoutOutputs`]); each is reported in [`Parsed::legacy`].
pub fn parse_expression_loose(text: &str) -> Result<Parsed<Expr>, ExprError> {
    let mut legacy = Vec::new();
    let value = expression(text, &mut legacy)?;
    Ok(Parsed { value, legacy })
}

fn expression(text: &str, legacy: &mut Vec<Legacy>) -> Result<Expr, ExprError> {
    if !text.starts_with('$') {
        return Err(ExprError::new(0, first_char_len(text), "a runtime expression starts with `$`")
            .help("write an expression such as `$response.body#/id` or `$inputs.name`"));
    }
    for exact in ["$url", "$method", "$statusCode", "$self"] {
        if let Some(rest) = text.strip_prefix(exact)
            && !rest.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            if !rest.is_empty() {
                return Err(ExprError::new(exact.len(), rest.len(), format!("unexpected `{rest}` after `{exact}`"))
                    .help(format!("`{exact}` takes no suffix")));
            }
            return Ok(match exact {
                "$url" => Expr::Url,
                "$method" => Expr::Method,
                "$statusCode" => Expr::StatusCode,
                _ => Expr::SelfRef,
            });
        }
    }
    if let Some(rest) = text.strip_prefix("$request.") {
        return parse_source(rest, 9, false, legacy).map(Expr::Request);
    }
    if let Some(rest) = text.strip_prefix("$response.") {
        return parse_source(rest, 10, false, legacy).map(Expr::Response);
    }
    if let Some(rest) = text.strip_prefix("$message.") {
        return parse_source(rest, 9, true, legacy).map(Expr::Message);
    }
    if let Some(rest) = text.strip_prefix("$inputs.") {
        let (name, pointer) = parse_name_and_pointer(rest, 8, "input", legacy)?;
        return Ok(Expr::Inputs { name, pointer });
    }
    if let Some(rest) = text.strip_prefix("$outputs.") {
        let (name, pointer) = parse_name_and_pointer(rest, 9, "output", legacy)?;
        return Ok(Expr::Outputs { name, pointer });
    }
    if let Some(rest) = text.strip_prefix("$steps.") {
        return parse_steps(rest, 7, legacy);
    }
    if let Some(rest) = text.strip_prefix("$workflows.") {
        return parse_workflows(rest, 11, legacy);
    }
    if let Some(rest) = text.strip_prefix("$sourceDescriptions.") {
        return parse_source_descriptions(rest, 20);
    }
    if let Some(rest) = text.strip_prefix("$components.") {
        return parse_components(rest, 12);
    }
    // Unknown root: name the word and suggest the closest known one.
    let word_len = 1 + text[1..].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(text.len() - 1);
    let word = &text[..word_len];
    let mut error = ExprError::new(0, word_len, format!("unknown runtime expression `{word}`"));
    let candidates: Vec<&str> = ROOTS.iter().map(|r| r.trim_end_matches('.')).collect();
    error = match closest(word, &candidates) {
        Some(best) => error.help(format!("did you mean `{best}`?")),
        None => error.help(format!("expressions start with one of: {}", candidates.join(", "))),
    };
    Err(error)
}

fn first_char_len(text: &str) -> usize {
    text.chars().next().map_or(0, char::len_utf8)
}

/// `header.X`, `query.X`, `path.X`, `body[#pointer]` (and `payload[#pointer]` for messages).
fn parse_source(rest: &str, base: usize, message: bool, legacy: &mut Vec<Legacy>) -> Result<Source, ExprError> {
    let header = match (rest.strip_prefix("header."), rest.strip_prefix("headers.")) {
        (Some(token), _) => Some((token, base + 7)),
        (None, Some(token)) => {
            legacy.push(Legacy { kind: LegacyKind::HeadersPlural, offset: base, len: 7, standard: "header".to_string() });
            Some((token, base + 8))
        }
        (None, None) => None,
    };
    if let Some((token, base)) = header {
        if token.is_empty() {
            return Err(ExprError::new(base, 0, "a header name must follow `header.`"));
        }
        if let Some((i, c)) = token.char_indices().find(|(_, c)| !is_tchar(*c)) {
            return Err(ExprError::new(base + i, c.len_utf8(), format!("`{c}` cannot appear in a header name"))
                .help("header names are RFC 7230 tokens: letters, digits and !#$%&'*+-.^_`|~"));
        }
        return Ok(Source::Header(token.to_string()));
    }
    if let Some(name) = rest.strip_prefix("query.") {
        check_name(name, base + 6)?;
        return Ok(Source::Query(name.to_string()));
    }
    if let Some(name) = rest.strip_prefix("path.") {
        check_name(name, base + 5)?;
        return Ok(Source::Path(name.to_string()));
    }
    for (word, is_payload) in [("body", false), ("payload", true)] {
        if is_payload && !message {
            continue;
        }
        if let Some(after) = rest.strip_prefix(word) {
            let at = base + word.len();
            let pointer = if after.is_empty() {
                None
            } else if let Some(pointer_text) = after.strip_prefix('#') {
                Some(parse_pointer(pointer_text, at + 1, legacy)?)
            } else if let Some(path) = after.strip_prefix('.').filter(|p| !p.is_empty() && !p.contains(['#', '{', '}'])) {
                let pointer = JsonPointer { tokens: dotted_path_tokens(path) };
                legacy.push(Legacy { kind: LegacyKind::BodyDotPath, offset: at, len: after.len(), standard: format!("#{pointer}") });
                Some(pointer)
            } else {
                let mut error = ExprError::new(at, after.len(), format!("unexpected `{after}` after `{word}`"));
                if let Some(path) = after.strip_prefix('.') {
                    error = error.help(format!(
                        "select inside the {word} with a JSON Pointer: `{word}#/{}`",
                        path.replace('.', "/")
                    ));
                } else {
                    error = error.help(format!("only `#/json/pointer` may follow `{word}`"));
                }
                return Err(error);
            };
            return Ok(if is_payload { Source::Payload(pointer) } else { Source::Body(pointer) });
        }
    }
    let word_len = rest.find('.').unwrap_or(rest.len());
    let word = &rest[..word_len];
    let known: &[&str] =
        if message { &["header", "query", "path", "body", "payload"] } else { &["header", "query", "path", "body"] };
    let mut error = ExprError::new(base, word_len, format!("unknown message part `{word}`"));
    error = match closest(word, known) {
        Some(best) => {
            let fixed = format!("{best}{}", &rest[word_len..]);
            error.help(format!("did you mean `{best}`? (`…{fixed}`)"))
        }
        None => error.help(format!("expected one of: {}", known.join(", "))),
    };
    Err(error)
}

/// RFC 7230 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The ABNF `name = *CHAR` (RFC 7159 string characters, without `{` and `}`).
fn check_name(name: &str, base: usize) -> Result<(), ExprError> {
    let mut chars = name.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' | '}' => {
                return Err(ExprError::new(base + i, 1, format!("`{c}` cannot appear in a name"))
                    .help("embed an expression in a string as `{$inputs.name}`; braces never appear inside one"));
            }
            '"' => return Err(ExprError::new(base + i, 1, "`\"` cannot appear unescaped in a name")),
            '\\' => {
                let ok = match chars.next() {
                    Some((_, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't')) => true,
                    Some((_, 'u')) => (0..4).all(|_| chars.next().is_some_and(|(_, h)| h.is_ascii_hexdigit())),
                    _ => false,
                };
                if !ok {
                    return Err(ExprError::new(base + i, 1, "invalid escape in a name"));
                }
            }
            c if (c as u32) < 0x20 => {
                return Err(ExprError::new(base + i, c.len_utf8(), "control characters cannot appear in a name"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// An RFC 6901 pointer (the text after `#`), decoded into tokens.
/// Without a leading `/` (`#field`), the pointer is read as `#/field` and reported as legacy.
fn parse_pointer(text: &str, base: usize, legacy: &mut Vec<Legacy>) -> Result<JsonPointer, ExprError> {
    pointer_tokens(text, base, legacy, false)
}

fn pointer_tokens(text: &str, base: usize, legacy: &mut Vec<Legacy>, braces: bool) -> Result<JsonPointer, ExprError> {
    if text.is_empty() {
        return Ok(JsonPointer::default());
    }
    let (body, mut offset) = match text.strip_prefix('/') {
        Some(body) => (body, base + 1),
        None => {
            legacy.push(Legacy { kind: LegacyKind::PointerWithoutSlash, offset: base, len: 0, standard: "/".to_string() });
            (text, base)
        }
    };
    let mut tokens = Vec::new();
    for raw in body.split('/') {
        let mut token = String::new();
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '~' => match chars.next() {
                    Some((_, '0')) => token.push('~'),
                    Some((_, '1')) => token.push('/'),
                    _ => {
                        return Err(ExprError::new(offset + i, 1, "`~` must be followed by `0` or `1` in a JSON Pointer")
                            .help("write `~0` for `~` and `~1` for `/`"));
                    }
                },
                '{' | '}' if !braces => {
                    return Err(ExprError::new(offset + i, 1, format!("`{c}` cannot appear in a JSON Pointer here")));
                }
                c => token.push(c),
            }
        }
        tokens.push(token);
        offset += raw.len() + 1;
    }
    Ok(JsonPointer { tokens })
}

/// `name[#pointer]`, for `$inputs.` and `$outputs.`.
fn parse_name_and_pointer(
    rest: &str,
    base: usize,
    what: &str,
    legacy: &mut Vec<Legacy>,
) -> Result<(String, Option<JsonPointer>), ExprError> {
    let (name, pointer_text) = match rest.split_once('#') {
        Some((name, pointer)) => (name, Some(pointer)),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(ExprError::new(base, 0, format!("an {what} name must follow the `.`")));
    }
    check_name(name, base)?;
    let pointer = pointer_text.map(|p| parse_pointer(p, base + name.len() + 1, legacy)).transpose()?;
    Ok((name.to_string(), pointer))
}

/// Step, workflow and source ids in expressions: `1*(ALPHA / DIGIT / "_" / "-")`.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Output and component names: `1*(ALPHA / DIGIT / "." / "-" / "_")`.
fn is_field_char(c: char) -> bool {
    is_id_char(c) || c == '.'
}

/// Splits `id.rest` at the first character that cannot be in an id.
fn take_id<'a>(rest: &'a str, base: usize, what: &str) -> Result<(&'a str, &'a str), ExprError> {
    let end = rest.find(|c: char| !is_id_char(c)).unwrap_or(rest.len());
    let (id, after) = rest.split_at(end);
    if id.is_empty() {
        return Err(ExprError::new(base, first_char_len(rest), format!("expected a {what} here")));
    }
    match after.strip_prefix('.') {
        Some(after) => Ok((id, after)),
        None if after.is_empty() => Err(ExprError::new(base + end, 0, format!("`.` must follow the {what} `{id}`"))),
        None => Err(ExprError::new(
            base + end,
            first_char_len(after),
            format!("unexpected `{}` in {what}", after.chars().next().unwrap_or(' ')),
        )
        .help(format!("a {what} has letters, digits, `_` and `-`"))),
    }
}

/// [`take_id`], also reading an id with spaces (`get item`) up to the `.` that follows it, as
/// arazzo-runner does; reported as [`LegacyKind::IdWithSpaces`]. Only ids are read so: the
/// `.` after them ends them, where a space elsewhere would end the expression.
fn take_spaced_id<'a>(rest: &'a str, base: usize, what: &str, legacy: &mut Vec<Legacy>) -> Result<(&'a str, &'a str), ExprError> {
    let end = rest.find(|c: char| !is_id_char(c)).unwrap_or(rest.len());
    if end > 0
        && rest[end..].starts_with(' ')
        && let Some(dot) = rest.find('.')
        && let id = &rest[..dot]
        && !id.ends_with(' ')
        && id.chars().all(|c| is_id_char(c) || c == ' ')
    {
        legacy.push(Legacy { kind: LegacyKind::IdWithSpaces, offset: base, len: dot, standard: id.replace(' ', "_") });
        return Ok((id, &rest[dot + 1..]));
    }
    take_id(rest, base, what)
}

/// A field name (`1*(ALPHA / DIGIT / "." / "-" / "_")`) up to an optional `#pointer`.
/// With `path`, `[`, `]` may appear too: a step output read with a path (`items[0].id`), which
/// [`output_path`] resolves against the step's declared outputs.
fn take_field(
    rest: &str,
    base: usize,
    what: &str,
    legacy: &mut Vec<Legacy>,
    path: bool,
) -> Result<(String, Option<JsonPointer>), ExprError> {
    let (name, pointer_text) = match rest.split_once('#') {
        Some((name, pointer)) => (name, Some(pointer)),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(ExprError::new(base, 0, format!("expected {what} here")));
    }
    if let Some((i, c)) = name.char_indices().find(|(_, c)| !(is_field_char(*c) || (path && matches!(c, '[' | ']')))) {
        return Err(ExprError::new(base + i, c.len_utf8(), format!("`{c}` cannot appear in {what}"))
            .help("names have letters, digits, `.`, `-` and `_`; select inside a value with `#/json/pointer`"));
    }
    let pointer = pointer_text.map(|p| parse_pointer(p, base + name.len() + 1, legacy)).transpose()?;
    Ok((name.to_string(), pointer))
}

fn parse_steps(rest: &str, base: usize, legacy: &mut Vec<Legacy>) -> Result<Expr, ExprError> {
    let (step_id, after) = take_spaced_id(rest, base, "step id", legacy)?;
    let at = base + step_id.len() + 1;
    let Some(output_part) = after.strip_prefix("outputs.") else {
        let word = after.split(['.', '#', '[']).next().unwrap_or_default();
        // `output.x` / `Outputs.x` are misspellings of `outputs`; anything else lacks it.
        if closest(word, &["outputs"]).is_some() {
            let name = after[word.len()..].trim_start_matches('.');
            return Err(ExprError::new(at, word.len(), format!("expected `outputs` after `$steps.{step_id}.`"))
                .help(format!("a step's values are read as `$steps.{step_id}.outputs.{name}`")));
        }
        // `$steps.s.x`: arazzo-runner reads the step's output `x`.
        legacy.push(Legacy { kind: LegacyKind::StepWithoutOutputs, offset: at, len: 0, standard: "outputs.".to_string() });
        let (output, pointer) = take_field(after, at, "an output name", legacy, true)?;
        return Ok(Expr::StepOutput { step_id: step_id.to_string(), output, pointer });
    };
    let (output, pointer) = take_field(output_part, at + 8, "an output name", legacy, true)?;
    Ok(Expr::StepOutput { step_id: step_id.to_string(), output, pointer })
}

/// `a.b[0].c` → `["a", "b", "0", "c"]`: the dotted paths with `[n]` indexes that arazzo-runner
/// reads after `$response.body.` and after a step output name.
pub fn dotted_path_tokens(path: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for segment in path.split('.') {
        let mut parts = segment.split('[');
        if let Some(key) = parts.next().filter(|k| !k.is_empty()) {
            tokens.push(key.to_string());
        }
        for index in parts {
            tokens.push(index.trim_end_matches(']').to_string());
        }
    }
    tokens
}

/// A step output read with a path (`$steps.s.outputs.items.0.id`, `...outputs.items[0].id`), which
/// arazzo-runner reads as a path into the output `items`: the longest declared output the name
/// starts with, and the rest as JSON Pointer tokens. `None` when no declared output is a prefix.
pub fn output_path(output: &str, declared: &[&str]) -> Option<(String, Vec<String>)> {
    let best = declared
        .iter()
        .filter(|d| output.len() > d.len() && output.starts_with(**d) && matches!(output.as_bytes()[d.len()], b'.' | b'['))
        .max_by_key(|d| d.len())?;
    let rest = output[best.len()..].trim_start_matches('.');
    Some((best.to_string(), dotted_path_tokens(rest)))
}

fn parse_workflows(rest: &str, base: usize, legacy: &mut Vec<Legacy>) -> Result<Expr, ExprError> {
    let (workflow_id, after) = take_spaced_id(rest, base, "workflow id", legacy)?;
    let at = base + workflow_id.len() + 1;
    let (field, field_rest, skip) = if let Some(r) = after.strip_prefix("inputs.") {
        (WorkflowField::Inputs, r, 7)
    } else if let Some(r) = after.strip_prefix("outputs.") {
        (WorkflowField::Outputs, r, 8)
    } else {
        let word = after.split(['.', '#']).next().unwrap_or_default();
        return Err(ExprError::new(at, word.len(), format!("expected `inputs` or `outputs` after `$workflows.{workflow_id}.`"))
            .help(format!("write `$workflows.{workflow_id}.outputs.<name>` or `$workflows.{workflow_id}.inputs.<name>`")));
    };
    let (name, pointer) = take_field(field_rest, at + skip, "a name", legacy, false)?;
    Ok(Expr::Workflow { workflow_id: workflow_id.to_string(), field, name, pointer })
}

fn parse_source_descriptions(rest: &str, base: usize) -> Result<Expr, ExprError> {
    let (source, reference) = take_id(rest, base, "source description name")?;
    let at = base + source.len() + 1;
    if reference.is_empty() {
        return Err(ExprError::new(at, 0, format!("expected an operationId, workflowId or `url` after `{source}.`")));
    }
    check_name(reference, at)?;
    Ok(Expr::SourceDescription { source: source.to_string(), reference: reference.to_string() })
}

fn parse_components(rest: &str, base: usize) -> Result<Expr, ExprError> {
    const KINDS: &[(&str, ComponentKind)] = &[
        ("inputs", ComponentKind::Inputs),
        ("parameters", ComponentKind::Parameters),
        ("successActions", ComponentKind::SuccessActions),
        ("failureActions", ComponentKind::FailureActions),
    ];
    let word = rest.split('.').next().unwrap_or_default();
    let Some(&(_, kind)) = KINDS.iter().find(|(name, _)| *name == word) else {
        let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
        let mut error = ExprError::new(base, word.len(), format!("unknown component kind `{word}`"));
        error = match closest(word, &names) {
            Some(best) => error.help(format!("did you mean `$components.{best}`?")),
            None => error.help(format!("expected one of: {}", names.join(", "))),
        };
        return Err(error);
    };
    let at = base + word.len();
    let Some(name) = rest[word.len()..].strip_prefix('.') else {
        return Err(ExprError::new(at, 0, format!("expected `.<name>` after `$components.{word}`")));
    };
    let (name, pointer) = take_field(name, at + 1, "a component name", &mut Vec::new(), false)?;
    if pointer.is_some() {
        let hash = at + 1 + name.len();
        return Err(ExprError::new(hash, 1, "a component reference takes no JSON Pointer"));
    }
    Ok(Expr::Component { kind, name })
}

/// Parses a JSON Pointer written as `/a/b` (RFC 6901; the empty string is the whole document).
pub fn parse_json_pointer(text: &str) -> Result<JsonPointer, ExprError> {
    let mut legacy = Vec::new();
    let pointer = parse_pointer(text, 0, &mut legacy)?;
    match legacy.first() {
        None => Ok(pointer),
        Some(_) => Err(ExprError::new(0, first_char_len(text), "a JSON Pointer starts with `/`").help(format!("write `/{text}`"))),
    }
}

/// A step's `operationPath`: a source description and a JSON Pointer into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationPath {
    pub source: String,
    pub pointer: JsonPointer,
}

impl OperationPath {
    /// `(path template, method)` when the pointer is `/paths/<path>/<method>`.
    pub fn path_and_method(&self) -> Option<(&str, &str)> {
        match self.pointer.tokens.as_slice() {
            [paths, path, method] if paths == "paths" => Some((path, method)),
            _ => None,
        }
    }
}

/// Parses `{$sourceDescriptions.<name>.url}#/paths/~1pets/get` (also the unbraced 1.1 spelling
/// `$sourceDescriptions.<name>#/paths/…`).
pub fn parse_operation_path(text: &str) -> Result<OperationPath, ExprError> {
    let (source, pointer_at) = if let Some(inner) = text.strip_prefix('{') {
        let close = inner.find('}').ok_or_else(|| {
            ExprError::new(0, text.len(), "`{` is never closed").help("write `{$sourceDescriptions.<name>.url}#/paths/…`")
        })?;
        match parse_expression(&inner[..close]).map_err(|e| e.shifted(1))? {
            Expr::SourceDescription { source, reference } if reference == "url" => (source, close + 2),
            _ => {
                return Err(ExprError::new(1, close, "an operationPath starts with `{$sourceDescriptions.<name>.url}`")
                    .help("write `{$sourceDescriptions.<name>.url}#/paths/~1path/get`"));
            }
        }
    } else if let Some(rest) = text.strip_prefix("$sourceDescriptions.") {
        let end = rest.find('#').unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() || !name.chars().all(is_id_char) {
            return Err(ExprError::new(20, end, "expected a source description name")
                .help("write `{$sourceDescriptions.<name>.url}#/paths/~1path/get`"));
        }
        (name.to_string(), 20 + end)
    } else {
        return Err(ExprError::new(0, text.len(), "an operationPath starts with `{$sourceDescriptions.<name>.url}`")
            .help("write `{$sourceDescriptions.<name>.url}#/paths/~1path/get`"));
    };
    let rest = text.get(pointer_at..).unwrap_or_default();
    let Some(pointer_text) = rest.strip_prefix('#') else {
        return Err(ExprError::new(pointer_at, rest.len(), "expected `#/paths/…` after the source description")
            .help("point at the operation: `#/paths/~1pets~1{petId}/get`"));
    };
    // RFC 6901 allows `{` and `}` in tokens: `#/paths/~1items~1{id}/get`.
    let mut legacy = Vec::new();
    let pointer = pointer_tokens(pointer_text, pointer_at + 1, &mut legacy, true)?;
    if !legacy.is_empty() {
        return Err(ExprError::new(pointer_at + 1, 1, "a JSON Pointer starts with `/`").help(format!("write `#/{pointer_text}`")));
    }
    Ok(OperationPath { source, pointer })
}

// ---------------------------------------------------------------------------------------------
// Templates: strings with `{$…}` embeddings
// ---------------------------------------------------------------------------------------------

/// A string built from literal text and runtime expressions.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Literal(String),
    /// An embedded expression; its location covers the expression text (without braces).
    Expr(Located<Expr>),
}

impl Template {
    /// The expression when the template is exactly one expression and nothing else.
    pub fn as_single_expr(&self) -> Option<&Located<Expr>> {
        match self.parts.as_slice() {
            [TemplatePart::Expr(e)] => Some(e),
            _ => None,
        }
    }

    /// Every expression in the template, in order.
    pub fn exprs(&self) -> impl Iterator<Item = &Located<Expr>> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Expr(e) => Some(e),
            TemplatePart::Literal(_) => None,
        })
    }

    /// Whether the template is plain text.
    pub fn is_literal(&self) -> bool {
        self.exprs().next().is_none()
    }
}

/// Roots that, written bare inside a string, are read as the legacy embedded form.
const BARE_ROOTS: &[&str] = &[
    "$inputs.",
    "$outputs.",
    "$steps.",
    "$workflows.",
    "$response.",
    "$request.",
    "$components.",
    "$sourceDescriptions.",
    "$statusCode",
    "$method",
    "$url",
];

/// Parses a string with `{$expr}` embeddings. A `{` not followed by `$` is literal text (JSON
/// payload templates are full of them). A bare `$inputs.x` in the text is accepted as the legacy
/// form of `{$inputs.x}` and reported in [`Parsed::legacy`].
pub fn parse_template(text: &str) -> Result<Parsed<Template>, ExprError> {
    let mut parts = Vec::new();
    let mut legacy = Vec::new();
    let mut nested = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("{$") {
            let Some(close) = rest.find('}') else {
                return Err(ExprError::new(i, rest.len(), "`{$` opens an embedded expression that is never closed")
                    .help("close it with `}`: `{$inputs.name}`"));
            };
            let inner = &rest[1..close];
            let expr = expression(inner, &mut nested).map_err(|e| e.shifted(i + 1))?;
            legacy.extend(nested.drain(..).map(|l| l.shifted(i + 1)));
            flush(&mut parts, &mut literal);
            parts.push(TemplatePart::Expr(Located { value: expr, offset: i + 1, len: inner.len() }));
            i += close + 1;
            continue;
        }
        if rest.starts_with('$')
            && BARE_ROOTS.iter().any(|r| rest.starts_with(r))
            && !text[..i].ends_with(|c: char| c.is_ascii_alphanumeric())
        {
            let len = bare_expression_len(rest);
            let bare = &rest[..len];
            if let Ok(expr) = parse_expression(bare) {
                flush(&mut parts, &mut literal);
                legacy.push(Legacy {
                    kind: LegacyKind::BareExpression,
                    offset: i,
                    len,
                    standard: format!("{{{bare}}}"),
                });
                parts.push(TemplatePart::Expr(Located { value: expr, offset: i, len }));
                i += len;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        literal.push(c);
        i += c.len_utf8();
    }
    flush(&mut parts, &mut literal);
    Ok(Parsed { value: Template { parts }, legacy })
}

fn flush(parts: &mut Vec<TemplatePart>, literal: &mut String) {
    if !literal.is_empty() {
        parts.push(TemplatePart::Literal(std::mem::take(literal)));
    }
}

/// How far a bare (unbraced) expression reaches: names, dots, dashes and a JSON Pointer; a
/// trailing `.` is sentence punctuation, not part of the expression.
fn bare_expression_len(text: &str) -> usize {
    let end = text
        .char_indices()
        .skip(1)
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "_-.#/~".contains(*c)))
        .map_or(text.len(), |(i, _)| i);
    text[..end].trim_end_matches('.').len()
}

/// Parses a string value (parameter value, payload field, output): a whole-string runtime
/// expression when it starts with `$` and a letter, otherwise a [`Template`].
pub fn parse_value_string(text: &str) -> Result<Parsed<Template>, ExprError> {
    if text.starts_with('$') && text[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        let Parsed { value: expr, legacy } = parse_expression_loose(text)?;
        return Ok(Parsed {
            value: Template { parts: vec![TemplatePart::Expr(Located { value: expr, offset: 0, len: text.len() })] },
            legacy,
        });
    }
    parse_template(text)
}

// ---------------------------------------------------------------------------------------------
// Simple conditions
// ---------------------------------------------------------------------------------------------

/// A boolean condition of the Arazzo simple condition language.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// A bare operand, true when its value is truthy (`!$response.body#/done`).
    Operand(Operand),
    Compare { left: Operand, op: CompareOp, right: Operand },
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Expr(Located<Expr>),
    Literal(Literal),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

impl fmt::Display for Literal {
    /// The standard spelling: single-quoted strings with `''` for a quote.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

impl Condition {
    /// Every runtime expression in the condition, in order.
    pub fn exprs(&self) -> Vec<&Located<Expr>> {
        let mut out = Vec::new();
        self.collect_exprs(&mut out);
        out
    }

    fn collect_exprs<'a>(&'a self, out: &mut Vec<&'a Located<Expr>>) {
        let operand = |o: &'a Operand, out: &mut Vec<&'a Located<Expr>>| {
            if let Operand::Expr(e) = o {
                out.push(e);
            }
        };
        match self {
            Condition::Operand(o) => operand(o, out),
            Condition::Compare { left, right, .. } => {
                operand(left, out);
                operand(right, out);
            }
            Condition::Not(c) => c.collect_exprs(out),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect_exprs(out);
                b.collect_exprs(out);
            }
        }
    }

    /// Every comparison in the condition (used to spot polling-style state checks).
    pub fn comparisons(&self) -> Vec<(&Operand, CompareOp, &Operand)> {
        match self {
            Condition::Operand(_) => Vec::new(),
            Condition::Compare { left, op, right } => vec![(left, *op, right)],
            Condition::Not(c) => c.comparisons(),
            Condition::And(a, b) | Condition::Or(a, b) => {
                let mut v = a.comparisons();
                v.extend(b.comparisons());
                v
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Not,
    And,
    Or,
    Op(CompareOp),
    Literal(Literal),
    Expr(Expr),
}

#[derive(Clone, Debug)]
struct Tok {
    token: Token,
    offset: usize,
    len: usize,
}

/// Parses a simple condition (`$statusCode == 200 && $response.body#/ok == true`).
/// Double-quoted string literals are accepted as a legacy form.
pub fn parse_condition(text: &str) -> Result<Parsed<Condition>, ExprError> {
    let mut legacy = Vec::new();
    let tokens = tokenize(text, &mut legacy)?;
    if tokens.is_empty() {
        return Err(ExprError::new(0, text.len(), "the condition is empty")
            .help("write a condition such as `$statusCode == 200`"));
    }
    let mut parser = CondParser { tokens: &tokens, at: 0, text_len: text.len(), depth: 0 };
    let condition = parser.or()?;
    if let Some(tok) = parser.peek() {
        let message = match tok.token {
            Token::Close => "unmatched `)`".to_string(),
            _ => format!("unexpected `{}`", text.get(tok.offset..tok.offset + tok.len).unwrap_or("?")),
        };
        return Err(ExprError::new(tok.offset, tok.len, message)
            .help("join conditions with `&&` or `||`; compare with == != < <= > >="));
    }
    Ok(Parsed { value: condition, legacy })
}

fn tokenize(text: &str, legacy: &mut Vec<Legacy>) -> Result<Vec<Tok>, ExprError> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let two = rest.get(..2).unwrap_or("");
        let simple = match two {
            "==" => Some((Token::Op(CompareOp::Eq), 2)),
            "!=" => Some((Token::Op(CompareOp::Ne), 2)),
            "<=" => Some((Token::Op(CompareOp::Le), 2)),
            ">=" => Some((Token::Op(CompareOp::Ge), 2)),
            "&&" => Some((Token::And, 2)),
            "||" => Some((Token::Or, 2)),
            _ => match c {
                '<' => Some((Token::Op(CompareOp::Lt), 1)),
                '>' => Some((Token::Op(CompareOp::Gt), 1)),
                '!' => Some((Token::Not, 1)),
                '(' => Some((Token::Open, 1)),
                ')' => Some((Token::Close, 1)),
                _ => None,
            },
        };
        if let Some((token, len)) = simple {
            out.push(Tok { token, offset: i, len });
            i += len;
            continue;
        }
        match c {
            '=' => {
                return Err(ExprError::new(i, 1, "`=` is not an operator").help("compare with `==`"));
            }
            '&' | '|' => {
                return Err(ExprError::new(i, 1, format!("`{c}` is not an operator"))
                    .help(format!("write `{c}{c}`")));
            }
            '\'' | '"' => {
                let (value, len) = scan_string(rest, c).ok_or_else(|| {
                    ExprError::new(i, rest.len(), "unterminated string literal")
                        .help(format!("close the string with `{c}`"))
                })?;
                let literal = Literal::String(value);
                if c == '"' {
                    legacy.push(Legacy {
                        kind: LegacyKind::DoubleQuotedString,
                        offset: i,
                        len,
                        standard: literal.to_string(),
                    });
                }
                out.push(Tok { token: Token::Literal(literal), offset: i, len });
                i += len;
            }
            '$' => {
                let len = operand_len(bytes, i);
                let expr_text = &text[i..i + len];
                let mut nested = Vec::new();
                let expr = expression(expr_text, &mut nested).map_err(|e| e.shifted(i))?;
                legacy.extend(nested.into_iter().map(|l| l.shifted(i)));
                out.push(Tok { token: Token::Expr(expr), offset: i, len });
                i += len;
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let len = rest
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || "+-.".contains(ch)))
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                let number = serde_json::Number::from_str(word)
                    .map_err(|_| ExprError::new(i, len, format!("`{word}` is not a number")))?;
                out.push(Tok { token: Token::Literal(Literal::Number(number)), offset: i, len });
                i += len;
            }
            c if c.is_alphabetic() || c == '_' => {
                let len = rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len());
                let word = &rest[..len];
                let literal = match word {
                    "true" => Literal::Bool(true),
                    "false" => Literal::Bool(false),
                    "null" => Literal::Null,
                    _ => {
                        let mut error = ExprError::new(i, len, format!("unexpected word `{word}`"));
                        error = match word.to_ascii_lowercase().as_str() {
                            "true" | "false" | "null" => {
                                error.help(format!("literals are lower case: `{}`", word.to_ascii_lowercase()))
                            }
                            "and" => error.help("write `&&`"),
                            "or" => error.help("write `||`"),
                            "not" => error.help("write `!`"),
                            _ => error.help(format!(
                                "string literals are single-quoted (`'{word}'`); runtime expressions start with `$`"
                            )),
                        };
                        return Err(error);
                    }
                };
                out.push(Tok { token: Token::Literal(literal), offset: i, len });
                i += len;
            }
            _ => {
                return Err(ExprError::new(i, c.len_utf8(), format!("unexpected `{c}` in condition")));
            }
        }
    }
    Ok(out)
}

/// A quoted literal starting at `text[0] == quote`: its value and length in bytes. Single quotes
/// escape `'` by doubling it (`'it''s'`); double quotes use `\"` and `\\`.
fn scan_string(text: &str, quote: char) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Some((value, i + 1));
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, e @ ('"' | '\\'))) => value.push(e),
                Some((_, e)) => {
                    value.push('\\');
                    value.push(e);
                }
                None => return None,
            }
            continue;
        }
        value.push(c);
    }
    None
}

/// How far a runtime-expression operand reaches inside a condition: up to whitespace, a
/// parenthesis or an operator.
fn operand_len(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let stop = b.is_ascii_whitespace()
            || b == b'('
            || b == b')'
            || b == b'<'
            || b == b'>'
            || (b == b'=' && next == Some(b'='))
            || (b == b'!' && next == Some(b'='))
            || (b == b'&' && next == Some(b'&'))
            || (b == b'|' && next == Some(b'|'));
        if stop {
            match spaced_id_end(bytes, start, i) {
                Some(end) => i = end,
                None => break,
            }
        }
        i += 1;
    }
    i - start
}

/// At a space inside the id of `$steps.<id>` or `$workflows.<id>` (an id with spaces,
/// [`LegacyKind::IdWithSpaces`]), the index of the `.` that ends the id.
fn spaced_id_end(bytes: &[u8], start: usize, at: usize) -> Option<usize> {
    if bytes[at] != b' ' {
        return None;
    }
    let so_far = &bytes[start..at];
    let id = so_far.strip_prefix(b"$steps.").or_else(|| so_far.strip_prefix(b"$workflows."))?;
    if id.is_empty() || id.contains(&b'.') {
        return None;
    }
    let mut end = at;
    while end < bytes.len() && (bytes[end] == b' ' || bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-')) {
        end += 1;
    }
    (bytes.get(end) == Some(&b'.') && bytes[end - 1] != b' ').then_some(end)
}

struct CondParser<'a> {
    tokens: &'a [Tok],
    at: usize,
    text_len: usize,
    /// Nesting of `!` and `(`, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

const MAX_NESTING: usize = 64;

impl CondParser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek().is_some_and(|t| &t.token == token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Condition, ExprError> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, ExprError> {
        let mut left = self.not()?;
        while self.eat(&Token::And) {
            let right = self.not()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let offset = self.peek().map_or(self.text_len, |t| t.offset);
            return Err(ExprError::new(offset, 1, "the condition is nested too deeply"));
        }
        let result = if self.eat(&Token::Not) {
            self.not().map(|c| Condition::Not(Box::new(c)))
        } else {
            self.comparison()
        };
        self.depth -= 1;
        result
    }

    fn comparison(&mut self) -> Result<Condition, ExprError> {
        if self.eat(&Token::Open) {
            let open_at = self.tokens.get(self.at - 1).map_or(0, |t| t.offset);
            let inner = self.or()?;
            if !self.eat(&Token::Close) {
                return Err(ExprError::new(open_at, 1, "this `(` is never closed").help("add the matching `)`"));
            }
            if let Some(tok) = self.peek()
                && matches!(tok.token, Token::Op(_))
            {
                return Err(ExprError::new(tok.offset, tok.len, "a parenthesised condition cannot be compared")
                    .help("compare values, then combine the results with `&&` / `||`"));
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        let Some(Tok { token: Token::Op(op), .. }) = self.peek().cloned() else {
            return Ok(Condition::Operand(left));
        };
        self.at += 1;
        let right = self.operand()?;
        Ok(Condition::Compare { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(ExprError::new(self.text_len, 0, "the condition ends where a value was expected")
                .help("finish the comparison with a literal or a runtime expression"));
        };
        self.at += 1;
        match tok.token {
            Token::Literal(l) => Ok(Operand::Literal(l)),
            Token::Expr(e) => Ok(Operand::Expr(Located { value: e, offset: tok.offset, len: tok.len })),
            _ => Err(ExprError::new(tok.offset, tok.len, "expected a value here")
                .help("a value is a literal (200, true, null, 'text') or a runtime expression")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Criteria
// ---------------------------------------------------------------------------------------------

/// The `type` of a Criterion Object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CriterionType {
    #[default]
    Simple,
    Regex,
    JsonPath,
    XPath,
}

impl CriterionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionType::Simple => "simple",
            CriterionType::Regex => "regex",
            CriterionType::JsonPath => "jsonpath",
            CriterionType::XPath => "xpath",
        }
    }
}

/// A compiled criterion.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Simple(Condition),
    /// True when the context's value (as a string) matches the regular expression.
    Regex { context: Expr, pattern: String },
    /// An RFC 9535 query, true when it selects at least one node of the context's value.
    JsonPath { context: Expr, query: String },
    /// Legacy `<path> <op> <literal>`: compares the value the (singular) path selects.
    /// `value` is the same value as a runtime expression (context + JSON Pointer). When `length`
    /// is set the path ended in `.length` (a JavaScript-ism) and the array's length is compared.
    JsonPathCompare { context: Expr, path: String, value: Expr, length: bool, op: CompareOp, literal: Literal },
}

/// Why a criterion does not compile, by the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// The `context` expression is malformed.
    Context(ExprError),
    /// The `condition` is malformed.
    Condition(ExprError),
    /// A `regex`/`jsonpath`/`xpath` criterion without the required `context`.
    MissingContext(CriterionType),
    /// XPath criteria are not supported (capgen compiles JSON workflows).
    UnsupportedXPath,
}

/// Compiles one Criterion Object.
pub fn parse_criterion(kind: CriterionType, context: Option<&str>, condition: &str) -> Result<Parsed<Check>, CheckError> {
    if kind == CriterionType::XPath {
        return Err(CheckError::UnsupportedXPath);
    }
    let context = context.map(|c| parse_expression(c).map_err(CheckError::Context)).transpose()?;
    match kind {
        CriterionType::Simple => {
            let parsed = parse_condition(condition).map_err(CheckError::Condition)?;
            Ok(Parsed { value: Check::Simple(parsed.value), legacy: parsed.legacy })
        }
        CriterionType::Regex => {
            let context = context.ok_or(CheckError::MissingContext(kind))?;
            check_regex(condition).map_err(CheckError::Condition)?;
            Ok(Parsed { value: Check::Regex { context, pattern: condition.to_string() }, legacy: Vec::new() })
        }
        CriterionType::JsonPath => {
            let context = context.ok_or(CheckError::MissingContext(kind))?;
            parse_jsonpath_criterion(context, condition).map_err(CheckError::Condition)
        }
        CriterionType::XPath => Err(CheckError::UnsupportedXPath),
    }
}

fn parse_jsonpath_criterion(context: Expr, condition: &str) -> Result<Parsed<Check>, ExprError> {
    // Also covers the legacy path below, a prefix of `condition`.
    check_jsonpath_nesting(condition)?;
    let standard_error = match serde_json_path::JsonPath::parse(condition) {
        Ok(_) => {
            return Ok(Parsed { value: Check::JsonPath { context, query: condition.to_string() }, legacy: Vec::new() });
        }
        Err(e) => ExprError::new(e.position().min(condition.len()), 1, format!("invalid JSONPath: {}", e.message()))
            .help("write an RFC 9535 query such as `$[?@.status == 'completed']`"),
    };
    // Legacy: `<path> <op> <literal>`.
    let Some((path_end, op, op_len)) = top_level_operator(condition) else {
        return Err(standard_error);
    };
    let path_text = condition[..path_end].trim_end();
    let literal_start = path_end + op_len;
    let literal_text = &condition[literal_start..];
    if let Err(e) = serde_json_path::JsonPath::parse(path_text) {
        return Err(ExprError::new(e.position().min(path_text.len()), 1, format!("invalid JSONPath: {}", e.message())));
    }
    let literal_offset = literal_start + (literal_text.len() - literal_text.trim_start().len());
    let literal = parse_literal(literal_text.trim()).ok_or_else(|| {
        ExprError::new(literal_offset, literal_text.trim().len(), "expected a literal after the operator")
            .help("compare with a number, true, false, null or a quoted string")
    })?;
    let Some(mut pointer) = singular_pointer(path_text) else {
        return Err(ExprError::new(0, path_text.len(), "this JSONPath can select several values, so it cannot be compared")
            .help("use names and indices only (`$.data[0].status`), or an RFC 9535 filter `$[?@.status == 'completed']`"));
    };
    // `$.data.length` means the array's length in the JavaScript-flavoured JSONPath of old.
    let length = path_text.ends_with(".length") && pointer.tokens.last().is_some_and(|t| t == "length");
    if length {
        pointer.tokens.pop();
    }
    let value = context.with_pointer_appended(&pointer).ok_or_else(|| {
        ExprError::new(0, path_text.len(), format!("`{context}` has no JSON value to select from"))
            .help("set `context` to a body, such as `$response.body`")
    })?;
    if length {
        let zero = matches!(&literal, Literal::Number(n) if n.as_f64() == Some(0.0));
        let one = matches!(&literal, Literal::Number(n) if n.as_f64() == Some(1.0));
        let non_empty = (zero && matches!(op, CompareOp::Gt | CompareOp::Ne)) || (one && op == CompareOp::Ge);
        let array_path = path_text.strip_suffix(".length").unwrap_or(path_text);
        let standard = if non_empty { format!("{array_path}[0]") } else { String::new() };
        let legacy = vec![Legacy { kind: LegacyKind::JsonPathLength, offset: 0, len: condition.len(), standard }];
        return Ok(Parsed {
            value: Check::JsonPathCompare { context, path: path_text.to_string(), value, length, op, literal },
            legacy,
        });
    }
    let standard = format!("{value} {} {literal}", op.as_str());
    let legacy = vec![Legacy { kind: LegacyKind::JsonPathComparison, offset: 0, len: condition.len(), standard }];
    Ok(Parsed {
        value: Check::JsonPathCompare { context, path: path_text.to_string(), value, length, op, literal },
        legacy,
    })
}

/// The first comparison operator outside brackets, parentheses and quotes.
fn top_level_operator(text: &str) -> Option<(usize, CompareOp, usize)> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            _ if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let found = match (b, next) {
                    (b'=', Some(b'=')) => Some((CompareOp::Eq, 2)),
                    (b'!', Some(b'=')) => Some((CompareOp::Ne, 2)),
                    (b'<', Some(b'=')) => Some((CompareOp::Le, 2)),
                    (b'>', Some(b'=')) => Some((CompareOp::Ge, 2)),
                    (b'<', _) => Some((CompareOp::Lt, 1)),
                    (b'>', _) => Some((CompareOp::Gt, 1)),
                    _ => None,
                };
                if let Some((op, len)) = found {
                    return Some((i, op, len));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A literal as written after a legacy JSONPath comparison (either quote style).
fn parse_literal(text: &str) -> Option<Literal> {
    match text {
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        "null" => return Some(Literal::Null),
        _ => {}
    }
    if let Some(q) = text.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let (value, len) = scan_string(text, q)?;
        return (len == text.len()).then_some(Literal::String(value));
    }
    serde_json::Number::from_str(text).ok().map(Literal::Number)
}

/// `$.a.b[0]['c']` → `/a/b/0/c`; `None` unless the path has only names and non-negative indices.
pub fn singular_pointer(path: &str) -> Option<JsonPointer> {
    let mut rest = path.strip_prefix('$')?;
    let mut tokens = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || !c.is_ascii()))
                .unwrap_or(after.len());
            if end == 0 || after.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            tokens.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            if let Some(q) = after.chars().next().filter(|c| *c == '\'' || *c == '"') {
                let (value, len) = scan_string(after, q)?;
                tokens.push(value);
                rest = after.get(len..)?.strip_prefix(']')?;
            } else {
                let end = after.find(']')?;
                let index = &after[..end];
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                tokens.push(index.to_string());
                rest = &after[end + 1..];
            }
        } else {
            return None;
        }
    }
    Some(JsonPointer { tokens })
}

/// A structural check of a regular expression: balanced groups and classes, no dangling escape
/// or quantifier. (capgen has no `regex` dependency yet, so this is not a full compile.)
pub fn check_regex(pattern: &str) -> Result<(), ExprError> {
    let mut groups: Vec<usize> = Vec::new();
    let mut class_start: Option<usize> = None;
    let mut chars = pattern.char_indices().peekable();
    let mut previous_atom = false;
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            if chars.next().is_none() {
                return Err(ExprError::new(i, 1, "the pattern ends with a lone `\\`").help("escape it as `\\\\`"));
            }
            previous_atom = true;
            continue;
        }
        if let Some(start) = class_start {
            if c == ']' && i > start + 1 && !(i == start + 2 && pattern[start + 1..].starts_with('^')) {
                class_start = None;
                previous_atom = true;
            }
            continue;
        }
        match c {
            '[' => class_start = Some(i),
            '(' => {
                groups.push(i);
                previous_atom = false;
                continue;
            }
            ')' if groups.pop().is_none() => {
                return Err(ExprError::new(i, 1, "unmatched `)` in the regular expression"));
            }
            '*' | '+' | '?' if !previous_atom => {
                return Err(ExprError::new(i, 1, format!("`{c}` has nothing to repeat"))
                    .help(format!("escape it as `\\{c}` to match it literally")));
            }
            '|' => {
                previous_atom = false;
                continue;
            }
            _ => {}
        }
        previous_atom = !matches!(c, '^');
    }
    if let Some(start) = class_start {
        return Err(ExprError::new(start, 1, "this `[` is never closed").help("add the matching `]`"));
    }
    if let Some(open) = groups.pop() {
        return Err(ExprError::new(open, 1, "this `(` is never closed").help("add the matching `)`"));
    }
    Ok(())
}

/// The most filter selectors (`[?…]`) a JSONPath may nest inside one another. serde_json_path's
/// parser takes time exponential in this nesting (about ×2 a level: 24 levels take minutes).
pub const MAX_JSONPATH_FILTER_DEPTH: usize = 6;
/// The most brackets and parentheses a JSONPath may nest; serde_json_path recurses on them and
/// overflows the stack at a few thousand.
pub const MAX_JSONPATH_NESTING: usize = 64;

/// Refuses, in linear time, a JSONPath nested too deeply for serde_json_path to parse safely
/// (see [`MAX_JSONPATH_FILTER_DEPTH`], [`MAX_JSONPATH_NESTING`]). Call it before
/// `serde_json_path::JsonPath::parse`. Brackets inside quoted strings do not count.
pub fn check_jsonpath_nesting(path: &str) -> Result<(), ExprError> {
    // Open `[` and `(`, each with whether it is a filter (a `[` holding a `?`).
    let mut open: Vec<(char, bool)> = Vec::new();
    let mut filters = 0;
    let mut quote: Option<char> = None;
    let mut chars = path.char_indices();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => {
                open.push((c, false));
                if open.len() > MAX_JSONPATH_NESTING {
                    return Err(ExprError::new(i, 1, format!("brackets nest more than {MAX_JSONPATH_NESTING} deep"))
                        .help("simplify the query"));
                }
            }
            ']' | ')' => {
                if let Some((_, true)) = open.pop() {
                    filters -= 1;
                }
            }
            '?' => {
                if let Some(('[', filter)) = open.last_mut()
                    && !*filter
                {
                    *filter = true;
                    filters += 1;
                    if filters > MAX_JSONPATH_FILTER_DEPTH {
                        return Err(ExprError::new(i, 1, format!("filters (`[?…]`) nest more than {MAX_JSONPATH_FILTER_DEPTH} deep"))
                            .help("simplify the query, or split it across steps"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The candidate closest to `word` (case-insensitive edit distance), when it is close enough.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(3) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let value = (previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1);
            current.push(value);
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in copy of the shared grammar corpus.
    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/arazzo-grammar");

    fn corpus_lines(name: &str) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(format!("{CORPUS}/{name}")).unwrap_or_else(|e| panic!("{CORPUS}/{name}: {e}"));
        Some(text.lines().map(str::to_string).collect())
    }

    #[test]
    fn swaggerexpert_valid_expressions_parse() {
        for file in ["swaggerexpert-runtime-expressions-valid.txt", "swaggerexpert-runtime-expressions-valid-extra.txt"] {
            let Some(lines) = corpus_lines(file) else { continue };
            for line in lines.iter().filter(|l| !l.is_empty()) {
                let parsed = parse_expression(line);
                assert!(parsed.is_ok(), "{file}: `{line}` should parse: {parsed:?}");
                // The canonical text round-trips.
                assert_eq!(parsed.unwrap().to_string(), *line);
            }
        }
    }

    #[test]
    fn swaggerexpert_invalid_expressions_are_rejected() {
        let Some(lines) = corpus_lines("swaggerexpert-runtime-expressions-invalid.txt") else { return };
        for line in &lines {
            assert!(parse_expression(line).is_err(), "`{line}` should be rejected");
        }
    }

    #[test]
    fn expressions_have_structure() {
        assert_eq!(
            parse_expression("$steps.createBackup.outputs.backupId").unwrap(),
            Expr::StepOutput { step_id: "createBackup".into(), output: "backupId".into(), pointer: None }
        );
        assert_eq!(
            parse_expression("$response.body#/data/0/a~1b").unwrap(),
            Expr::Response(Source::Body(Some(JsonPointer { tokens: vec!["data".into(), "0".into(), "a/b".into()] })))
        );
        assert_eq!(
            parse_expression("$components.parameters.page").unwrap(),
            Expr::Component { kind: ComponentKind::Parameters, name: "page".into() }
        );
    }

    #[test]
    fn loose_forms_read_as_peers_read_them() {
        let cases = [
            ("$response.headers.Location", "$response.header.Location", LegacyKind::HeadersPlural),
            ("$response.body.data[0].id", "$response.body#/data/0/id", LegacyKind::BodyDotPath),
            ("$response.body#data", "$response.body#/data", LegacyKind::PointerWithoutSlash),
            ("$steps.s.token", "$steps.s.outputs.token", LegacyKind::StepWithoutOutputs),
        ];
        for (text, standard, kind) in cases {
            let parsed = parse_expression_loose(text).unwrap();
            assert_eq!(parsed.value.to_string(), standard, "{text}");
            assert_eq!(standard_form(text, &parsed.legacy), standard, "{text}");
            assert_eq!(parsed.legacy.iter().map(|l| l.kind).collect::<Vec<_>>(), [kind], "{text}");
            assert_eq!(parse_expression(standard).unwrap(), parsed.value);
        }
        // Inside templates, offsets are those of the whole string.
        let t = parse_template("id {$response.headers.X}").unwrap();
        assert_eq!((t.legacy[0].offset, standard_form("id {$response.headers.X}", &t.legacy).as_str()), (14, "id {$response.header.X}"));
        // Step outputs read with a path keep the path; `output_path` splits it.
        let Expr::StepOutput { output, .. } = parse_expression("$steps.s.outputs.items[0].id").unwrap() else { panic!() };
        assert_eq!(output_path(&output, &["items", "item"]), Some(("items".to_string(), vec!["0".to_string(), "id".to_string()])));
        assert_eq!(output_path("events.0.dates.1", &["events"]).unwrap().1, ["0", "dates", "1"]);
        assert_eq!(output_path("other.x", &["events"]), None);
        // RFC 6901 allows braces in tokens.
        let p = parse_operation_path("{$sourceDescriptions.api.url}#/paths/~1items~1{id}/get").unwrap();
        assert_eq!(p.path_and_method(), Some(("/items/{id}", "get")));
    }

    #[test]
    fn common_mistakes_get_precise_errors() {
        // Legacy spellings are errors for the strict parser, with the standard form as help.
        let e = parse_expression("$response.headers.Location").unwrap_err();
        assert_eq!((e.offset, e.len), (10, 7));
        assert!(e.help.unwrap().contains("`$response.header.Location`"));
        let e = parse_expression("$steps.retrieve.finalPlan").unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(e.help.unwrap().contains("$steps.retrieve.outputs.finalPlan"));
        let e = parse_expression("$statuscode").unwrap_err();
        assert!(e.help.unwrap().contains("$statusCode"));
        let e = parse_expression("$response.body.data").unwrap_err();
        assert!(e.help.unwrap().contains("body#/data"));
        assert!(parse_expression("$request.body#foo").is_err());
        assert!(parse_expression("$request.body#/a~2").is_err());
    }

    #[test]
    fn templates_embed_expressions() {
        let t = parse_template("{\"a\": \"{$inputs.x}\", \"b\": 1}").unwrap();
        assert!(t.legacy.is_empty());
        let exprs: Vec<_> = t.value.exprs().collect();
        assert_eq!(exprs.len(), 1);
        assert_eq!(exprs[0].offset, 8);
        let e = parse_template("x {$inputs.a").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse_template("x {$inputz.a}").unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn bare_expressions_in_strings_are_legacy() {
        let t = parse_value_string("Bearer $inputs.apiToken").unwrap();
        assert_eq!(t.legacy.len(), 1);
        assert_eq!(t.legacy[0].kind, LegacyKind::BareExpression);
        assert_eq!(standard_form("Bearer $inputs.apiToken", &t.legacy), "Bearer {$inputs.apiToken}");
        assert_eq!(t.value.parts.len(), 2);
        // Whole-string expressions and prices are not legacy.
        assert!(parse_value_string("$inputs.apiToken").unwrap().legacy.is_empty());
        assert!(parse_value_string("costs $5").unwrap().value.is_literal());
        let t = parse_value_string("see $steps.a.outputs.b.").unwrap();
        assert_eq!(standard_form("see $steps.a.outputs.b.", &t.legacy), "see {$steps.a.outputs.b}.");
    }

    #[test]
    fn conditions_parse_with_precedence() {
        let c = parse_condition("$statusCode == 200 || $statusCode == 201 && !$response.body#/done").unwrap();
        assert!(matches!(c.value, Condition::Or(_, _)));
        assert_eq!(c.value.exprs().len(), 3);
        let c = parse_condition("($statusCode >= 200) && $response.header.X-Count < 10.5").unwrap();
        assert!(matches!(c.value, Condition::And(_, _)));
        let c = parse_condition("$response.body#/name == 'it''s'").unwrap();
        let Condition::Compare { right: Operand::Literal(Literal::String(s)), .. } = c.value else { panic!() };
        assert_eq!(s, "it's");
    }

    #[test]
    fn condition_errors_have_offsets() {
        let e = parse_condition("$statusCode = 200").unwrap_err();
        assert_eq!(e.offset, 12);
        let e = parse_condition("$statusCode == completed").unwrap_err();
        assert_eq!(e.offset, 15);
        assert!(e.help.unwrap().contains("'completed'"));
        let e = parse_condition("($statusCode == 200").unwrap_err();
        assert_eq!(e.offset, 0);
        let e = parse_condition("$statusCode ==").unwrap_err();
        assert_eq!(e.offset, 14);
        let e = parse_condition("$statusCode == 200 $url").unwrap_err();
        assert_eq!(e.offset, 19);
        let legacy = parse_condition("$response.headers.X == 1").unwrap().legacy;
        assert_eq!((legacy[0].kind, legacy[0].offset), (LegacyKind::HeadersPlural, 10));
        assert!(parse_condition("").is_err());
    }

    #[test]
    fn double_quoted_strings_are_legacy() {
        let text = "$response.body#/status == \"done\"";
        let c = parse_condition(text).unwrap();
        assert_eq!(c.legacy.len(), 1);
        assert_eq!(standard_form(text, &c.legacy), "$response.body#/status == 'done'");
    }

    #[test]
    fn jsonpath_criteria() {
        let ok = parse_criterion(CriterionType::JsonPath, Some("$response.body"), "$[?count(@.products) > 0]").unwrap();
        assert!(matches!(ok.value, Check::JsonPath { .. }));
        assert!(ok.legacy.is_empty());
        let legacy =
            parse_criterion(CriterionType::JsonPath, Some("$response.body"), "$.data[0].status == \"completed\"").unwrap();
        assert_eq!(legacy.legacy[0].standard, "$response.body#/data/0/status == 'completed'");
        let Check::JsonPathCompare { value, .. } = legacy.value else { panic!() };
        assert_eq!(value.to_string(), "$response.body#/data/0/status");
        let length = parse_criterion(CriterionType::JsonPath, Some("$response.body"), "$.data.length > 0").unwrap();
        assert_eq!(length.legacy[0].kind, LegacyKind::JsonPathLength);
        assert_eq!(length.legacy[0].standard, "$.data[0]");
        let Check::JsonPathCompare { value, length: true, .. } = length.value else { panic!() };
        assert_eq!(value.to_string(), "$response.body#/data");
        assert!(matches!(
            parse_criterion(CriterionType::JsonPath, None, "$.a"),
            Err(CheckError::MissingContext(CriterionType::JsonPath))
        ));
        assert!(matches!(
            parse_criterion(CriterionType::JsonPath, Some("$response.body"), "$.a[?"),
            Err(CheckError::Condition(_))
        ));
        assert_eq!(parse_criterion(CriterionType::XPath, Some("$response.body"), "/a"), Err(CheckError::UnsupportedXPath));
    }

    #[test]
    fn regex_criteria_are_checked_structurally() {
        assert!(parse_criterion(CriterionType::Regex, Some("$statusCode"), "^2[0-9]{2}$").is_ok());
        assert!(check_regex("a(b").is_err());
        assert!(check_regex("[a-").is_err());
        assert!(check_regex("*a").is_err());
        assert!(check_regex("[]a]").is_ok());
        assert!(check_regex("a\\").is_err());
    }

    #[test]
    fn singular_paths_become_pointers() {
        assert_eq!(singular_pointer("$.data[0]['a b']").unwrap().to_string(), "/data/0/a b");
        assert!(singular_pointer("$.data[*]").is_none());
        assert!(singular_pointer("$..a").is_none());
    }

    #[test]
    fn operation_paths() {
        let p = parse_operation_path("{$sourceDescriptions.petStore.url}#/paths/~1pet~1findByStatus/get").unwrap();
        assert_eq!(p.source, "petStore");
        assert_eq!(p.path_and_method(), Some(("/pet/findByStatus", "get")));
        let p = parse_operation_path("$sourceDescriptions.userAPI#/paths/~1users/get").unwrap();
        assert_eq!(p.source, "userAPI");
        assert!(parse_operation_path("/paths/x").is_err());
        assert!(parse_operation_path("{$inputs.x}#/paths").is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in ["$", "$steps.", "$steps.a", "$steps.a.", "$workflows.a.b", "$components.", "$components.inputs",
            "$sourceDescriptions.a.", "$request.header.", "{$", "{$}", "$é", "é$inputs.a", "(((", "'", "\"", "!",
            "$inputs.a#", "$response.body#/é~", "$url.x", "- -", "1e", "$[?"] {
            let _ = parse_expression(text);
            let _ = parse_template(text);
            let _ = parse_value_string(text);
            let _ = parse_condition(text);
            let _ = check_regex(text);
            let _ = singular_pointer(text);
            let _ = parse_criterion(CriterionType::JsonPath, Some("$response.body"), text);
            let _ = parse_operation_path(text);
        }
    }
}
