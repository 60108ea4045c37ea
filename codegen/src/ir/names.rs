//! Rust names for spec names, decided once here.
//!
//! Spec names are often run together (`listdatabasebackups`). Word boundaries are recovered from
//! a matching OpenAPI operationId when there is one, otherwise by splitting the name into words
//! that appear elsewhere in the specs (descriptions, paths, operationIds).

use std::collections::BTreeSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Words seen in the inputs, used to split run-together names.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    words: BTreeSet<String>,
}

impl Vocabulary {
    /// Adds every word of `text` (split on non-letters and camelCase humps).
    pub fn add_text(&mut self, text: &str) {
        for chunk in text.split(|c: char| !c.is_ascii_alphabetic()) {
            for word in chunk.to_snake_case().split('_') {
                if word.len() >= 2 || word == "a" {
                    self.words.insert(word.to_ascii_lowercase());
                }
            }
        }
    }

    /// Splits a lowercase run-together `name` into the fewest known words, if it can.
    pub fn split(&self, name: &str) -> Option<Vec<String>> {
        let name = name.to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        let n = name.len();
        // best[i]: fewest words covering name[..i], with the start of the last word.
        let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0));
        for end in 1..=n {
            for start in 0..end {
                let Some((count, _)) = best[start] else { continue };
                if self.words.contains(&name[start..end]) && best[end].is_none_or(|(c, _)| count + 1 < c) {
                    best[end] = Some((count + 1, start));
                }
            }
        }
        let mut words = Vec::new();
        let mut end = n;
        while end > 0 {
            let (_, start) = best[end]?;
            words.push(name[start..end].to_string());
            end = start;
        }
        words.reverse();
        Some(words)
    }
}

/// snake_case words for an operation `name`: from an operationId that matches it ignoring case
/// and separators, else from the name's own separators, else split with the vocabulary.
pub fn operation_words(name: &str, operation_id: Option<&str>, vocabulary: &Vocabulary) -> String {
    let squashed = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    if let Some(id) = operation_id.filter(|id| squashed(id) == squashed(name)) {
        return id.to_snake_case();
    }
    let snake = name.to_snake_case();
    if snake.contains('_') {
        return snake;
    }
    match vocabulary.split(&snake) {
        Some(words) if words.len() > 1 => words.join("_"),
        _ => snake,
    }
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn", "for",
    "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// A valid snake_case identifier for any spec name (`databaseId` → `database_id`, `type` →
/// `type_`, `2fa` → `_2fa`). Returns text; `quote::format_ident!` turns it into an ident.
pub fn snake_ident(name: &str) -> String {
    fix_ident(name.to_snake_case(), "value")
}

/// A valid UpperCamelCase identifier.
pub fn camel_ident(name: &str) -> String {
    fix_ident(name.to_upper_camel_case(), "Value")
}

/// A SCREAMING_SNAKE_CASE name (for environment variables and constants). It is also a valid
/// identifier prefix: a name that would start with a digit (`_123` → `123`) gets a leading `_`,
/// so `format!("{}_ARGS", shouty(name))` is always an identifier.
pub fn shouty(name: &str) -> String {
    let shouty = name.to_shouty_snake_case();
    if shouty.starts_with(|c: char| c.is_ascii_digit()) { format!("_{shouty}") } else { shouty }
}

fn fix_ident(ident: String, fallback: &str) -> String {
    let ident: String = ident.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if ident.is_empty() || ident.chars().all(|c| c == '_') {
        return fallback.to_string();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{ident}");
    }
    if KEYWORDS.contains(&ident.as_str()) {
        return format!("{ident}_");
    }
    ident
}

/// Makes `name` unique among `taken` by appending `_2`, `_3`, … and records it.
pub fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}_{n}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_words_from_operation_ids_and_vocabulary() {
        let mut vocabulary = Vocabulary::default();
        vocabulary.add_text("Prisma Create a manual database backup /databases/{databaseId}/backups restore");
        assert_eq!(operation_words("listdatabasebackups", Some("listDatabaseBackups"), &vocabulary), "list_database_backups");
        assert_eq!(operation_words("createdatabasebackup", None, &vocabulary), "create_database_backup");
        assert_eq!(operation_words("list-ships", None, &vocabulary), "list_ships");
        assert_eq!(operation_words("zzqx", None, &vocabulary), "zzqx");
    }

    #[test]
    fn identifiers_are_always_valid() {
        assert_eq!(snake_ident("databaseId"), "database_id");
        assert_eq!(snake_ident("type"), "type_");
        assert_eq!(snake_ident("2fa"), "_2fa");
        assert_eq!(snake_ident("$$"), "value");
        assert_eq!(snake_ident("Registry-Version"), "registry_version");
        assert_eq!(camel_ident("self"), "Self_");
        assert_eq!(shouty("_123"), "_123");
        assert_eq!(shouty("listThings"), "LIST_THINGS");
        let mut taken = BTreeSet::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a_2");
    }
}
