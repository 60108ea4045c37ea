//! Reads Ikanos documents (`ikanos: 1.0.0-alpha3` … `1.0.0-beta5`, the renamed Naftiko spec)
//! into the Naftiko 1.0.0-alpha2 model the rest of capgen knows.
//!
//! The rewrite works on the YAML value before it is decoded: maps keyed by name become lists of
//! items with `name`, `display` becomes `label`, `flows` becomes `functions`, `target` becomes
//! `targetName`, import `from` becomes `location`. Every rewritten node remembers the node of
//! the text it came from ([`YamlFile::rewrite`]), so diagnostics still land on the line and
//! column the author wrote. [`to_ikanos`] is the inverse, used by `capgen migrate`.

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::parse::yaml::{self, YamlFile};

/// The Ikanos versions read here.
pub const VERSIONS: &[&str] =
    &["1.0.0-alpha3", "1.0.0-beta1", "1.0.0-beta2", "1.0.0-beta3", "1.0.0-beta4", "1.0.0-beta5"];

/// The Naftiko version the rewritten document claims.
const NAFTIKO: &str = "1.0.0-alpha2";

/// Keys whose value, in Ikanos, is a map from name to item (alpha2: a list of items with `name`).
const NAMED: &[&str] = &["resources", "operations", "inputParameters", "tools", "prompts", "skills", "steps", "outputParameters"];

/// Keys whose value is data (or a map of data), never rewritten.
const OPAQUE: &[&str] =
    &["with", "keys", "body", "value", "const", "schema", "mapping", "lookupValue", "template", "arguments", "responses", "responseBinary"];

/// Whether `value` is an Ikanos document (its root has an `ikanos` key).
pub fn is_ikanos(value: &Value) -> bool {
    value.as_mapping().is_some_and(|m| m.contains_key("ikanos"))
}

/// Rewrites `file` in place when it is an Ikanos document; reports what cannot be read.
pub fn normalize(file: &mut YamlFile, diagnostics: &mut Diagnostics) {
    if !is_ikanos(&file.value) {
        return;
    }
    let mut rewriter = Rewriter { translation: HashMap::new(), file: &*file, diagnostics };
    let value = rewriter.root(&file.value);
    let translation = rewriter.translation;
    file.rewrite(value, translation);
}

struct Rewriter<'a> {
    translation: HashMap<String, (String, bool)>,
    file: &'a YamlFile,
    diagnostics: &'a mut Diagnostics,
}

impl Rewriter<'_> {
    fn map(&mut self, new: &str, old: &str, key: bool) {
        self.translation.insert(new.to_string(), (old.to_string(), key));
    }

    fn root(&mut self, value: &Value) -> Value {
        let Some(root) = value.as_mapping() else { return value.clone() };
        let mut out = Mapping::new();
        for (key, child) in root {
            let Some(name) = key.as_str() else { continue };
            if name == "ikanos" {
                let version = child.as_str().map(str::to_owned).unwrap_or_else(|| format!("{child:?}"));
                if !VERSIONS.contains(&version.as_str()) {
                    self.diagnostics.push(
                        Diagnostic::warning("unknown-version", format!("Ikanos version `{version}` is not one capgen reads"))
                            .at(self.file.span("/ikanos"))
                            .help(format!("capgen reads Ikanos {}; other versions are read as if they were 1.0.0-beta4", VERSIONS.join(", "))),
                    );
                }
                out.insert("naftiko".into(), NAFTIKO.into());
                self.map("/naftiko", "/ikanos", false);
                continue;
            }
            let pointer = yaml::child("", name);
            out.insert(key.clone(), self.node(child, name, &pointer, &pointer));
        }
        Value::Mapping(out)
    }

    /// Rewrites the value of the entry `key`, found at `old` in the text and `new` in the result.
    fn node(&mut self, value: &Value, key: &str, old: &str, new: &str) -> Value {
        self.map(new, old, false);
        if OPAQUE.contains(&key) {
            return value.clone();
        }
        match value {
            Value::Mapping(map) if NAMED.contains(&key) || key == "flows" || (key == "items" && is_named_map(map)) => {
                self.named(map, old, new)
            }
            Value::Mapping(map) if key == "properties" => {
                let mut out = Mapping::new();
                for (k, v) in map {
                    let name = k.as_str().unwrap_or_default();
                    out.insert(k.clone(), self.object(v, &yaml::child(old, name), &yaml::child(new, name)));
                }
                Value::Mapping(out)
            }
            Value::Sequence(items) => {
                let list = ["consumes", "exposes", "aggregates", "binds"].contains(&key);
                let out = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let (o, n) = (yaml::item(old, i), yaml::item(new, i));
                        if list {
                            self.entry(key, item, &o, &n)
                        } else {
                            self.object(item, &o, &n)
                        }
                    })
                    .collect();
                Value::Sequence(out)
            }
            _ => self.object(value, old, new),
        }
    }

    /// A map keyed by name → a list of its items, each with `name` first.
    fn named(&mut self, map: &Mapping, old: &str, new: &str) -> Value {
        let mut out = Vec::new();
        for (i, (key, item)) in map.iter().enumerate() {
            let name = key.as_str().map(str::to_owned).unwrap_or_else(|| yaml_scalar(key));
            let (o, n) = (yaml::child(old, &name), yaml::item(new, i));
            self.map(&n, &o, false);
            self.map(&yaml::child(&n, "name"), &o, true);
            let mut entry = Mapping::new();
            entry.insert("name".into(), Value::String(name.clone()));
            match self.object(item, &o, &n) {
                Value::Mapping(fields) => {
                    for (k, v) in fields {
                        if k.as_str() != Some("name") {
                            entry.insert(k, v);
                        }
                    }
                }
                Value::Null => {}
                // Not an item: kept as written, so decoding names it.
                other => {
                    out.push(other);
                    continue;
                }
            }
            out.push(Value::Mapping(entry));
        }
        Value::Sequence(out)
    }

    /// An entry of `consumes`, `exposes`, `aggregates` or `binds`: an import or an inline item.
    fn entry(&mut self, list: &str, item: &Value, old: &str, new: &str) -> Value {
        let Some(map) = item.as_mapping() else { return self.object(item, old, new) };
        if map.contains_key("import") && map.get("from").is_some_and(Value::is_string) {
            let mut out = Mapping::new();
            for (k, v) in map {
                let key = if k.as_str() == Some("from") { "location" } else { k.as_str().unwrap_or_default() };
                self.map(&yaml::child(new, key), &yaml::child(old, k.as_str().unwrap_or_default()), false);
                out.insert(key.into(), v.clone());
            }
            self.map(new, old, false);
            return Value::Mapping(out);
        }
        if list == "consumes" && map.contains_key("tunnel") {
            let kind = map.get("tunnel").and_then(|t| t.get("type")).and_then(Value::as_str).unwrap_or("a tunnel");
            self.diagnostics.push(
                Diagnostic::error("unsupported-tunnel", format!("consuming through `tunnel` (`{kind}`) is not supported: the generated client can only dial `baseUri` directly"))
                    .at(self.file.key_span(&yaml::child(old, "tunnel")))
                    .label("tunnel declared here")
                    .help("remove `tunnel` and make `baseUri` reachable from where the generated crate runs (e.g. run it inside the overlay network)"),
            );
        }
        self.object(item, old, new)
    }

    /// A mapping whose keys are field names: renames `display`, `flows`, `target`.
    fn object(&mut self, value: &Value, old: &str, new: &str) -> Value {
        self.map(new, old, false);
        let Value::Mapping(map) = value else {
            if let Value::Sequence(items) = value {
                let out = items.iter().enumerate().map(|(i, v)| self.object(v, &yaml::item(old, i), &yaml::item(new, i))).collect();
                return Value::Sequence(out);
            }
            return value.clone();
        };
        let mut out = Mapping::new();
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                out.insert(k.clone(), v.clone());
                continue;
            };
            let renamed = match key {
                "display" if v.is_string() => "label",
                "flows" => "functions",
                "target" if v.is_string() => "targetName",
                other => other,
            };
            let (o, n) = (yaml::child(old, key), yaml::child(new, renamed));
            self.not_carried(key, &o);
            let rewritten = self.node(v, key, &o, &n);
            out.insert(renamed.into(), rewritten);
        }
        Value::Mapping(out)
    }
}

impl Rewriter<'_> {
    /// Warns about a field the generated crate does not honour (adapter-level `maxBinarySize`).
    fn not_carried(&mut self, key: &str, old: &str) {
        // `exposes/<i>/maxBinarySize`: the adapter's default for the operations it calls.
        if key == "maxBinarySize" && old.split('/').nth(2) == Some("exposes") && old.split('/').count() == 5 {
            self.diagnostics.push(
                Diagnostic::warning("ikanos-field-ignored", "an adapter-level `maxBinarySize` is not carried into the generated crate")
                    .at(self.file.key_span(old))
                    .help("the generated client enforces each consumed operation's own `maxBinarySize` (default 10MiB); set it on the consumed operation"),
            );
        }
    }
}

/// `items: {fullName: {type: string}, …}` (named fields) rather than `items: {type: …}`.
fn is_named_map(map: &Mapping) -> bool {
    !map.is_empty() && map.values().all(|v| v.is_mapping() || v.is_null())
}

fn yaml_scalar(value: &Value) -> String {
    serde_yaml::to_string(value).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The inverse rewrite: a Naftiko 1.0.0-alpha2 document (official or dialect form) in the Ikanos
/// form of `version`. Returns the document and a note for everything it could not carry over.
pub fn to_ikanos(value: &Value, version: &str) -> (Value, Vec<String>) {
    let mut notes = Vec::new();
    let Some(root) = value.as_mapping() else {
        notes.push("the document is not a mapping; nothing was migrated".to_string());
        return (value.clone(), notes);
    };
    let mut out = Mapping::new();
    out.insert("ikanos".into(), version.into());
    for (k, v) in root {
        match k.as_str() {
            Some("naftiko" | "ikanos") => {}
            Some(key) => {
                out.insert(k.clone(), back(v, key, &format!("/{key}"), &mut notes));
            }
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    (Value::Mapping(out), notes)
}

fn back(value: &Value, key: &str, at: &str, notes: &mut Vec<String>) -> Value {
    if OPAQUE.contains(&key) {
        return value.clone();
    }
    match value {
        Value::Sequence(items) if NAMED.contains(&key) || key == "functions" || (key == "items" && all_named(items)) => {
            if !all_named(items) {
                if key != "outputParameters" && key != "items" {
                    notes.push(format!("{at}: items without a `name` cannot become a map keyed by name; the list was kept as it is"));
                }
                // Mapped output parameters (`- type: object`) stay a list in Ikanos.
                return Value::Sequence(items.iter().enumerate().map(|(i, v)| back_object(v, &format!("{at}/{i}"), notes)).collect());
            }
            let mut out = Mapping::new();
            for (i, item) in items.iter().enumerate() {
                let Some(map) = item.as_mapping() else { continue };
                let name = map.get("name").cloned().unwrap_or(Value::Null);
                if out.contains_key(&name) {
                    notes.push(format!("{at}/{i}: a second item named `{}` cannot be a key of the Ikanos map; it was dropped", yaml_scalar(&name)));
                    continue;
                }
                let mut fields = Mapping::new();
                for (k, v) in map {
                    if k.as_str() != Some("name") {
                        fields.insert(k.clone(), v.clone());
                    }
                }
                out.insert(name, back_object(&Value::Mapping(fields), &format!("{at}/{i}"), notes));
            }
            Value::Mapping(out)
        }
        Value::Sequence(items) => {
            let out = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let here = format!("{at}/{i}");
                    match item.as_mapping() {
                        Some(map) if map.contains_key("import") && map.contains_key("location") => {
                            let mut entry = Mapping::new();
                            for (k, v) in map {
                                let k = if k.as_str() == Some("location") { "from".into() } else { k.clone() };
                                entry.insert(k, v.clone());
                            }
                            Value::Mapping(entry)
                        }
                        _ => back_object(item, &here, notes),
                    }
                })
                .collect();
            Value::Sequence(out)
        }
        Value::Mapping(map) if key == "properties" => {
            let out = map.iter().map(|(k, v)| (k.clone(), back_object(v, &format!("{at}/{}", yaml_scalar(k)), notes))).collect();
            Value::Mapping(out)
        }
        _ => back_object(value, at, notes),
    }
}

fn back_object(value: &Value, at: &str, notes: &mut Vec<String>) -> Value {
    let Value::Mapping(map) = value else { return value.clone() };
    let mut out = Mapping::new();
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            out.insert(k.clone(), v.clone());
            continue;
        };
        let renamed = match key {
            "label" if v.is_string() => "display",
            "functions" => "flows",
            "targetName" => "target",
            other => other,
        };
        out.insert(renamed.into(), back(v, key, &format!("{at}/{key}"), notes));
    }
    Value::Mapping(out)
}

/// A list every item of which is a mapping with a string `name`.
fn all_named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn rewrite(text: &str) -> (YamlFile, Diagnostics) {
        let mut file = YamlFile::parse(Arc::from(Path::new("t.yml")), Arc::from(text)).unwrap();
        let mut diagnostics = Diagnostics::new();
        normalize(&mut file, &mut diagnostics);
        (file, diagnostics)
    }

    #[test]
    fn maps_keyed_by_name_become_lists_and_spans_follow() {
        let (file, diags) = rewrite(
            "ikanos: 1.0.0-beta4\ncapability:\n  exposes:\n  - type: mcp\n    namespace: t\n    tools:\n      get-ship:\n        display: Get\n        call: r.get\n",
        );
        assert!(diags.is_empty(), "{diags}");
        let tool = &file.value["capability"]["exposes"][0]["tools"][0];
        assert_eq!(tool["name"].as_str(), Some("get-ship"));
        assert_eq!(tool["label"].as_str(), Some("Get"));
        assert_eq!(file.value["naftiko"].as_str(), Some(NAFTIKO));
        let span = file.span("/capability/exposes/0/tools/0/name");
        assert_eq!((span.line, span.column), (7, 7));
        let span = file.span("/capability/exposes/0/tools/0/call");
        assert_eq!((span.line, span.column), (9, 15));
        assert_eq!(file.span("/naftiko").line, 1);
    }

    #[test]
    fn mapped_outputs_stay_lists_and_named_ones_convert() {
        let (file, _) = rewrite(
            "ikanos: 1.0.0-beta4\nx:\n  outputParameters:\n  - type: array\n    items:\n      type: object\n  steps:\n    s:\n      outputParameters: [a, b]\n  mappings:\n  - target: imo\n    value: $.x\n  o:\n    outputParameters:\n      crew:\n        type: array\n        items:\n          fullName:\n            type: string\n",
        );
        let x = &file.value["x"];
        assert_eq!(x["outputParameters"][0]["items"]["type"].as_str(), Some("object"));
        assert_eq!(x["steps"][0]["outputParameters"][1].as_str(), Some("b"));
        assert_eq!(x["mappings"][0]["targetName"].as_str(), Some("imo"));
        assert_eq!(x["o"]["outputParameters"][0]["items"][0]["name"].as_str(), Some("fullName"));
    }

    #[test]
    fn tunnels_are_named_precisely_and_imports_read_as_locations() {
        let (_, diags) = rewrite(
            "ikanos: 1.0.0-beta4\ncapability:\n  consumes:\n  - namespace: crm\n    tunnel:\n      type: ziti\n  exposes:\n  - import: x\n    from: ./x.yml\n",
        );
        let codes: Vec<_> = diags.iter().map(|d| (d.code, d.span.as_ref().map(|s| s.line))).collect();
        assert_eq!(codes, [("unsupported-tunnel", Some(5))]);
    }

    #[test]
    fn other_versions_warn() {
        let (_, diags) = rewrite("ikanos: 2.0.0\nconsumes: []\n");
        assert_eq!(diags.iter().map(|d| d.code).collect::<Vec<_>>(), ["unknown-version"]);
    }

    #[test]
    fn migrate_is_the_inverse() {
        let alpha2 = "naftiko: 1.0.0-alpha2\ninfo:\n  label: L\ncapability:\n  consumes:\n  - import: r\n    location: ./r.yml\n  aggregates:\n  - namespace: a\n    functions:\n    - name: f\n      mappings:\n      - targetName: x\n        value: $.y\n      outputParameters:\n      - type: object\n        mapping: $.\n";
        let value: Value = serde_yaml::from_str(alpha2).unwrap();
        let (ikanos, notes) = to_ikanos(&value, "1.0.0-beta4");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(ikanos["info"]["display"].as_str(), Some("L"));
        assert_eq!(ikanos["capability"]["consumes"][0]["from"].as_str(), Some("./r.yml"));
        let flow = &ikanos["capability"]["aggregates"][0]["flows"]["f"];
        assert_eq!(flow["mappings"][0]["target"].as_str(), Some("x"));
        assert_eq!(flow["outputParameters"][0]["type"].as_str(), Some("object"));
        let text = serde_yaml::to_string(&ikanos).unwrap();
        let (back, _) = rewrite(&text);
        assert_eq!(back.value, value);
    }
}
