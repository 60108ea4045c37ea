//! Emits the generated data types ([`TypeDef`]s) as Rust items, and tells other emitters how to
//! refer to a [`TypeRef`].
//!
//! All definitions live in one generated module, `types`; other modules name them
//! `types::Name`. The items use fully qualified paths only, so the module needs no imports and
//! the generated crate depends on nothing beyond `serde` (derive) and `serde_json`. String enums
//! end with an `#[serde(untagged)]` catch-all variant, so values added to an API later still
//! deserialize. Doc comments quote the schema descriptions.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::ir::names::{camel_ident, snake_ident};
use crate::ir::types::{EnumVariant, ExtraProperties, Field, TypeDef, TypeDefKind, TypeRef};

/// Every definition, in the given order, as items of the `types` module.
pub fn emit_types(defs: &[TypeDef]) -> TokenStream {
    defs.iter().map(emit_def).collect()
}

/// How code outside the `types` module refers to `ty` (`types::Name` for named types).
pub fn type_tokens(ty: &TypeRef) -> TokenStream {
    tokens(ty, Scope::Outside)
}

/// Where a type is written: inside the `types` module (bare names) or beside it.
#[derive(Clone, Copy)]
enum Scope {
    Inside,
    Outside,
}

fn tokens(ty: &TypeRef, scope: Scope) -> TokenStream {
    match ty {
        TypeRef::String => quote!(::std::string::String),
        TypeRef::Integer => quote!(i64),
        TypeRef::Number => quote!(f64),
        TypeRef::Boolean => quote!(bool),
        TypeRef::Json => quote!(::serde_json::Value),
        TypeRef::Array(inner) => {
            let inner = tokens(inner, scope);
            quote!(::std::vec::Vec<#inner>)
        }
        TypeRef::Map(inner) => {
            let inner = tokens(inner, scope);
            quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
        }
        TypeRef::Option(inner) => {
            let inner = tokens(inner, scope);
            quote!(::std::option::Option<#inner>)
        }
        TypeRef::Named(name) => {
            let name = type_ident(name);
            match scope {
                Scope::Inside => quote!(#name),
                Scope::Outside => quote!(types::#name),
            }
        }
    }
}

fn emit_def(def: &TypeDef) -> TokenStream {
    let name = type_ident(&def.name);
    let docs = doc_attrs(def.doc.as_deref());
    match &def.kind {
        TypeDefKind::Struct { fields, extra } => {
            let fields = fields.iter().map(emit_field);
            let extra = extra.as_ref().map(emit_extra);
            quote! {
                #docs
                #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
                pub struct #name {
                    #(#fields,)*
                    #extra
                }
            }
        }
        TypeDefKind::StringEnum { variants, fallback } => emit_enum(&name, &docs, variants, fallback),
        TypeDefKind::Alias(ty) => {
            let ty = tokens(ty, Scope::Inside);
            quote! {
                #docs
                pub type #name = #ty;
            }
        }
    }
}

fn emit_field(field: &Field) -> TokenStream {
    let name = field_ident(&field.rust_name);
    let docs = doc_attrs(field.doc.as_deref());
    let ty = if field.boxed { boxed_tokens(&field.ty) } else { tokens(&field.ty, Scope::Inside) };
    let rename = (name.to_string().trim_start_matches("r#") != field.wire_name).then(|| {
        let wire = &field.wire_name;
        quote!(#[serde(rename = #wire)])
    });
    // Optional fields are left out when absent; required nullable ones are sent as `null`.
    let optional = (!field.required && matches!(field.ty, TypeRef::Option(_)))
        .then(|| quote!(#[serde(default, skip_serializing_if = "::std::option::Option::is_none")]));
    quote! {
        #docs
        #rename
        #optional
        pub #name: #ty
    }
}

/// `Box<T>`, or `Option<Box<T>>` for an optional `T`.
fn boxed_tokens(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::Option(inner) => {
            let inner = tokens(inner, Scope::Inside);
            quote!(::std::option::Option<::std::boxed::Box<#inner>>)
        }
        other => {
            let inner = tokens(other, Scope::Inside);
            quote!(::std::boxed::Box<#inner>)
        }
    }
}

fn emit_extra(extra: &ExtraProperties) -> TokenStream {
    let name = field_ident(&extra.rust_name);
    let value = tokens(&extra.value, Scope::Inside);
    quote! {
        /// Properties not listed in the schema.
        #[serde(flatten)]
        pub #name: ::std::collections::BTreeMap<::std::string::String, #value>,
    }
}

fn emit_enum(name: &Ident, docs: &TokenStream, variants: &[EnumVariant], fallback: &str) -> TokenStream {
    let fallback = type_ident(fallback);
    let idents: Vec<Ident> = variants.iter().map(|v| type_ident(&v.rust_name)).collect();
    let wires: Vec<&str> = variants.iter().map(|v| v.wire_value.as_str()).collect();
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum #name {
            #(
                #[serde(rename = #wires)]
                #idents,
            )*
            /// A value this version of the API description does not list.
            #[serde(untagged)]
            #fallback(::std::string::String),
        }

        impl #name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#idents => #wires, )*
                    Self::#fallback(value) => value.as_str(),
                }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

// ---- identifiers ----

/// An UpperCamelCase identifier; names the IR did not sanitize are sanitized here, never panics.
fn type_ident(name: &str) -> Ident {
    let name = if is_plain_ident(name) { name.to_string() } else { camel_ident(name) };
    Ident::new(&name, Span::call_site())
}

/// A field identifier; accepts `r#keyword` as well as plain names.
fn field_ident(name: &str) -> Ident {
    if let Some(raw) = name.strip_prefix("r#")
        && raw.starts_with(|c: char| c.is_ascii_alphabetic())
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !["crate", "self", "super", "Self", "_"].contains(&raw)
    {
        return Ident::new_raw(raw, Span::call_site());
    }
    let name = if is_plain_ident(name) { name.to_string() } else { snake_ident(name) };
    Ident::new(&name, Span::call_site())
}

/// ASCII identifier that is not a keyword (what `Ident::new` accepts without panicking).
fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && name != "_"
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && syn::parse_str::<Ident>(name).is_ok()
}

// ---- doc comments ----

/// `#[doc = "…"]` lines for a description, made safe for rustdoc and clippy (see [`doc_lines`]).
fn doc_attrs(doc: Option<&str>) -> TokenStream {
    let lines = doc.map(doc_lines).unwrap_or_default();
    lines
        .iter()
        .map(|line| {
            let line = format!(" {line}");
            quote!(#[doc = #line])
        })
        .collect()
}

/// The description as doc lines: trailing blanks trimmed; outside code fences, leading
/// indentation removed (indented text would become a doctest) and lines that lazily continue a
/// list item indented under it (`clippy::doc_lazy_continuation`); untagged code fences marked
/// `text` so rustdoc does not compile them.
fn doc_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    // Indentation of the content of the list item being continued, if any.
    let mut list_indent: Option<usize> = None;
    for raw in text.trim().lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let fence = &trimmed[..3];
            let tag = trimmed[3..].trim();
            out.push(if !in_fence && (tag.is_empty() || tag == "rust") {
                format!("{fence}text")
            } else {
                trimmed.to_string()
            });
            in_fence = !in_fence;
            list_indent = None;
            continue;
        }
        if in_fence {
            out.push(line.to_string());
            continue;
        }
        if trimmed.is_empty() {
            out.push(String::new());
            list_indent = None;
            continue;
        }
        let tidy = tidy_inline(trimmed);
        if let Some(marker) = list_marker_len(trimmed) {
            list_indent = Some(marker);
            out.push(tidy);
        } else if let Some(indent) = list_indent {
            out.push(format!("{}{tidy}", " ".repeat(indent)));
        } else {
            out.push(tidy);
        }
    }
    if in_fence {
        out.push("```".to_string());
    }
    // Markdown ignores trailing blank lines; clippy does not like empty doc lines at the end.
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Keeps rustdoc quiet on prose: bare URLs become `<url>` autolinks, and `[text]` that is not
/// a Markdown link is escaped (rustdoc would read it as an intra-doc link). Code spans are kept.
fn tidy_inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_code = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        if c == '`' {
            in_code = !in_code;
        } else if !in_code && prev.is_none_or(|p| p.is_whitespace()) && starts_url(&chars[i..]) {
            let len = chars[i..].iter().take_while(|c| !c.is_whitespace()).count();
            let mut url: String = chars[i..i + len].iter().collect();
            let mut trailing = String::new();
            while url.ends_with(['.', ',', ';', ':', '!', '?', ')', '\'', '"']) {
                trailing.insert(0, url.pop().unwrap_or_default());
            }
            out.push_str(&format!("<{url}>{trailing}"));
            i += len;
            continue;
        } else if !in_code && c == '[' && prev != Some('\\') && prev != Some(']') {
            let close = chars[i..].iter().position(|&c| c == ']').map(|p| i + p);
            if let Some(close) = close {
                let next = chars.get(close + 1).copied();
                if !matches!(next, Some('(' | '[' | ':')) {
                    let inner: String = chars[i + 1..close].iter().collect();
                    out.push_str(&format!("\\[{inner}\\]"));
                    i = close + 1;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn starts_url(chars: &[char]) -> bool {
    let head: String = chars.iter().take(8).collect();
    head.starts_with("http://") || head.starts_with("https://")
}

/// Width of a list marker (`- `, `* `, `+ `, `1. `, `1) `) at the start of `line`, if any.
fn list_marker_len(line: &str) -> Option<usize> {
    if ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m)) {
        return Some(2);
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    (digits > 0 && digits < 10 && (rest.starts_with(". ") || rest.starts_with(") "))).then_some(digits + 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Diagnostics, SourceMap};
    use crate::ir::types::TypeSpace;
    use crate::parse::openapi::load_openapi;
    use std::path::Path;

    fn prisma_defs() -> Vec<TypeDef> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../specs/prisma/openapi/prisma-postgres-management-openapi.yml");
        let (mut sources, mut diagnostics) = (SourceMap::default(), Diagnostics::new());
        let doc = load_openapi(&path, &mut sources, &mut diagnostics).expect("loads");
        let mut space = TypeSpace::new(&doc.schemas);
        for op in &doc.operations {
            let id = op.operation_id.clone().unwrap_or_default();
            if let Some(body) = &op.request_body {
                space.type_for(&body.schema, &format!("{id}Body"));
            }
            for response in &op.responses {
                if let Some(schema) = &response.schema {
                    space.type_for(schema, &format!("{id}Response{}", response.status));
                }
            }
            for param in &op.parameters {
                space.type_for(&param.schema, &format!("{id}{}", param.name));
            }
        }
        space.into_defs()
    }

    #[test]
    fn whole_prisma_document_emits_a_parsable_file() {
        let defs = prisma_defs();
        let tokens = emit_types(&defs);
        let file = syn::parse2::<syn::File>(tokens).expect("emitted types parse as a Rust file");
        let text = prettyplease::unparse(&file);
        // Every component is reached from some operation.
        for name in
            ["Workspace", "ProjectWithDatabase", "DatabaseBackup", "DatabaseBackupStatus", "Error", "Integration"]
        {
            assert!(
                text.contains(&format!("pub struct {name} ")) || text.contains(&format!("pub enum {name} ")),
                "{name} missing from:\n{text}"
            );
        }
        assert!(text.contains("#[serde(rename = \"type\")]\n    pub type_: DatabaseBackupType,"), "{text}");
        assert!(text.contains("#[serde(untagged)]\n    Other(::std::string::String),"), "{text}");
        assert!(text.contains("/// Current status of the backup"), "{text}");
        // `Error.error.details` has `additionalProperties: true` and no properties: a map.
        assert!(text.contains("::std::collections::BTreeMap<::std::string::String, ::serde_json::Value>"), "{text}");
        // allOf merged: ProjectWithDatabase has Project's fields and its own.
        let pwd = text.split("pub struct ProjectWithDatabase").nth(1).unwrap_or_default();
        let pwd = pwd.split("\n}").next().unwrap_or_default();
        assert!(pwd.contains("pub workspace_id: ::std::string::String") && pwd.contains("pub databases:"), "{pwd}");
    }

    #[test]
    fn optional_fields_skip_none_and_named_types_are_qualified() {
        let defs = prisma_defs();
        let text = emit_types(&defs).to_string();
        assert!(text.contains("skip_serializing_if = \"::std::option::Option::is_none\""));
        assert_eq!(type_tokens(&TypeRef::Named("DatabaseBackup".into())).to_string(), "types :: DatabaseBackup");
        let compact = |t: TokenStream| t.to_string().replace(' ', "");
        assert_eq!(
            compact(type_tokens(&TypeRef::Option(Box::new(TypeRef::Array(Box::new(TypeRef::Json)))))),
            "::std::option::Option<::std::vec::Vec<::serde_json::Value>>"
        );
    }

    #[test]
    fn identifiers_never_panic() {
        assert_eq!(field_ident("r#type").to_string(), "r#type");
        assert_eq!(field_ident("r#self").to_string(), "r_self");
        assert_eq!(field_ident("type").to_string(), "type_");
        assert_eq!(field_ident("9 lives").to_string(), "_9_lives");
        assert_eq!(type_ident("not valid-name").to_string(), "NotValidName");
        assert_eq!(type_ident("").to_string(), "Value");
    }

    #[test]
    fn doc_lines_avoid_doctests_and_lazy_continuations() {
        let doc = "Intro\n\n    indented code\n```\n{\"a\": 1}\n```\n1. first\nlazy\n- item\n  ok\n\n";
        assert_eq!(
            doc_lines(doc),
            ["Intro", "", "indented code", "```text", "{\"a\": 1}", "```", "1. first", "   lazy", "- item", "  ok"]
        );
        assert!(doc_attrs(Some("   ")).is_empty());
        assert_eq!(
            tidy_inline("see https://x.io/a. Or [docs](https://y.io), <https://z.io>, `[c]` and [redacted]"),
            "see <https://x.io/a>. Or [docs](https://y.io), <https://z.io>, `[c]` and \\[redacted\\]"
        );
    }

    #[test]
    fn recursive_fields_are_boxed() {
        use crate::ir::types::Field;
        let def = TypeDef {
            name: "Node".into(),
            doc: None,
            kind: TypeDefKind::Struct {
                fields: vec![Field {
                    rust_name: "next".into(),
                    wire_name: "next".into(),
                    ty: TypeRef::Option(Box::new(TypeRef::Named("Node".into()))),
                    required: false,
                    doc: None,
                    boxed: true,
                }],
                extra: None,
            },
        };
        let text = emit_types(&[def]).to_string();
        let text = text.replace(' ', "");
        assert!(text.contains("pubnext:::std::option::Option<::std::boxed::Box<Node>>"), "{text}");
    }
}
