//! JSON helpers for generated code: JSONPath output shaping ([`JsonPathCell`]) and
//! Mustache-style body, header and path templates ([`render_json_template`],
//! [`render_text_template`]).

use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;
use serde_json_path::JsonPath;

/// A JSONPath (RFC 9535) expression parsed on first use, usable in a `static`:
///
/// ```
/// use capgen_runtime::json::JsonPathCell;
/// static IDS: JsonPathCell = JsonPathCell::new("$.data[*].id");
/// let body = serde_json::json!({"data": [{"id": "a"}, {"id": "b"}]});
/// assert_eq!(IDS.query(&body), serde_json::json!(["a", "b"]));
///
/// static HAS_DATA: JsonPathCell = JsonPathCell::new("$[?count(@.data[*]) > 1]");
/// assert!(HAS_DATA.matches(&body));
/// ```
pub struct JsonPathCell {
    path: &'static str,
    parsed: OnceLock<Option<JsonPath>>,
}

impl JsonPathCell {
    /// A cell for `path`; it is parsed on the first query.
    pub const fn new(path: &'static str) -> Self {
        Self {
            path,
            parsed: OnceLock::new(),
        }
    }

    /// The expression as written.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// One match → that value; no match → `null`; several → an array of them.
    pub fn query(&self, value: &Value) -> Value {
        let mut nodes = self.query_all(value);
        match nodes.len() {
            0 => Value::Null,
            1 => nodes.pop().cloned().unwrap_or(Value::Null),
            _ => Value::Array(nodes.into_iter().cloned().collect()),
        }
    }

    /// Whether a `jsonpath` criterion holds for `context`: the query selects at least one node.
    ///
    /// A query whose first segment filters the root (`$[?…]`) tests `context` itself when it is
    /// not an array, as if it were wrapped in a one-element array: the Arazzo examples'
    /// `$[?count(@.pets) > 0]` over `$response.body` means "the body has pets", while RFC 9535
    /// alone would filter the body's member values. An array context is filtered as is.
    pub fn matches(&self, context: &Value) -> bool {
        if self.path.trim_start().starts_with("$[?") && !context.is_array() {
            let wrapped = Value::Array(vec![context.clone()]);
            return !self.query_all(&wrapped).is_empty();
        }
        !self.query_all(context).is_empty()
    }

    /// Every match, in document order. Empty if the path does not parse (capgen validates
    /// paths at generation time, so that does not happen in generated code).
    pub fn query_all<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match self.parsed.get_or_init(|| JsonPath::parse(self.path).ok()) {
            Some(path) => path.query(value).all(),
            None => Vec::new(),
        }
    }
}

impl fmt::Debug for JsonPathCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonPathCell").field(&self.path).finish()
    }
}

/// A piece of a Mustache template such as `{"shipImo": "{{shipImo}}", "crewIds": {{crewIds}}}`.
#[derive(Clone, Copy, Debug)]
pub enum TemplatePart<'a> {
    /// Template text, copied as is.
    Literal(&'a str),
    /// A value inside a JSON string: a string is inserted JSON-escaped without its quotes,
    /// another value as its JSON text, escaped; `null` (a missing value) as nothing.
    Quoted(&'a Value),
    /// A value outside quotes: its JSON text (`null` for a missing value).
    Raw(&'a Value),
}

/// Renders a JSON body template and parses the result.
///
/// The error says why the rendered text is not JSON (it does not include the text, which may
/// hold secrets).
pub fn render_json_template(parts: &[TemplatePart<'_>]) -> Result<Value, String> {
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Literal(text) => out.push_str(text),
            TemplatePart::Quoted(value) => out.push_str(&escape_in_string(&plain_text(value))),
            TemplatePart::Raw(value) => out.push_str(&value.to_string()),
        }
    }
    serde_json::from_str(&out)
        .map_err(|e| format!("the body template does not render valid JSON: {e}"))
}

/// Renders a header or path template: strings as they are, `null` as nothing, other values as
/// their JSON text.
pub fn render_text_template(parts: &[TemplatePart<'_>]) -> String {
    parts
        .iter()
        .map(|part| match part {
            TemplatePart::Literal(text) => (*text).to_owned(),
            TemplatePart::Quoted(value) | TemplatePart::Raw(value) => plain_text(value),
        })
        .collect()
}

/// A value as plain text: strings unquoted, `null` empty, others as JSON.
pub fn plain_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` escaped for the inside of a JSON string literal (without the quotes).
fn escape_in_string(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
    inner.unwrap_or(&quoted).to_owned()
}
