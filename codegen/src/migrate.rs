//! `capgen migrate`: rewrites a Naftiko 1.0.0-alpha2 capability (official or dialect form) into
//! the current Ikanos form ([`crate::parse::ikanos::to_ikanos`]).
//!
//! yaml_serde keeps no comments, so the document is re-emitted from its value: the comment block
//! at the top of the file is kept, every other comment is dropped and counted in the notes.

use crate::parse::ikanos;

/// The Ikanos version `migrate` writes unless told otherwise.
pub const DEFAULT_VERSION: &str = "1.0.0-beta4";

/// A migrated document and what could not be carried over.
#[derive(Clone, Debug)]
pub struct Migrated {
    pub text: String,
    pub notes: Vec<String>,
}

/// Migrates the text of a capability (or of a shared consumes file) to Ikanos `version`.
pub fn migrate(text: &str, version: &str) -> Result<Migrated, String> {
    if !ikanos::VERSIONS.contains(&version) {
        return Err(format!("cannot migrate to `{version}`; capgen writes {}", ikanos::VERSIONS.join(", ")));
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|err| format!("this file is not valid YAML: {err}"))?;
    if !value.is_mapping() {
        return Err("a capability is a mapping with `naftiko`, `info`, `binds` and `capability`".to_string());
    }
    let (migrated, mut notes) = if ikanos::is_ikanos(&value) {
        // Already Ikanos: only the version changes.
        let mut value = value;
        if let Some(root) = value.as_mapping_mut() {
            root.insert("ikanos".into(), version.into());
        }
        (value, Vec::new())
    } else {
        ikanos::to_ikanos(&value, version)
    };
    let body = serde_yaml::to_string(&migrated).map_err(|err| format!("cannot write the migrated document: {err}"))?;
    let header: Vec<&str> = text.lines().take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty()).collect();
    let dropped = text.lines().skip(header.len()).filter(|l| has_comment(l)).count();
    if dropped > 0 {
        notes.push(format!(
            "{dropped} comment line(s) after the header were dropped (the YAML library keeps no comments); copy them back by hand"
        ));
    }
    let mut out = String::new();
    for line in header.iter().filter(|l| !l.trim().is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    Ok(Migrated { text: out, notes })
}

/// Whether a line holds a comment: a `#` at its start or after a space, outside quotes.
fn has_comment(line: &str) -> bool {
    let mut quote = None;
    let mut previous = ' ';
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return true,
            None => {}
        }
        previous = c;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_counts_other_comments() {
        let text = "# header\nnaftiko: 1.0.0-alpha2\ninfo:\n  label: L # inline\n  description: \"a # b\"\n";
        let migrated = migrate(text, DEFAULT_VERSION).unwrap();
        assert_eq!(migrated.text, "# header\nikanos: 1.0.0-beta4\ninfo:\n  display: L\n  description: 'a # b'\n");
        assert_eq!(migrated.notes.len(), 1, "{:?}", migrated.notes);
        assert!(migrate(text, "2.0").is_err());
    }
}
