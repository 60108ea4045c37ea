//! `include_capability!`: compiles a Naftiko capability into Rust modules at build time.
//!
//! ```ignore
//! capgen_macros::include_capability!(
//!     "specs/prisma/capabilities/postgres-management-database-backups.yaml",
//!     arazzo = ["specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml"],
//! );
//! // expands to `pub mod types { … } pub mod client { … }`
//! ```
//!
//! `include_workflows!` does the same for Arazzo documents alone: each OpenAPI document their
//! sources name becomes a typed client.
//!
//! ```ignore
//! capgen_macros::include_workflows!(
//!     "specs/bnpl/bnpl-arazzo.yaml",
//!     sources = ["BnplApi=specs/bnpl/bnpl-openapi.yaml"],
//! );
//! // expands to `pub mod types { … } pub mod client { … } pub mod workflows { … } …`
//! ```
//!
//! Paths are relative to the crate's `CARGO_MANIFEST_DIR`. Every file read is tracked, so
//! editing a spec rebuilds the crate. Spec problems become compile errors at the macro call,
//! each naming the spec file, line and column; spec warnings become compiler warnings there
//! (the `deprecated` lint, so `#[allow(deprecated)]` on the enclosing module silences them).
//! The crate using the macro depends on `capgen-runtime` (feature `mcp`, or `server` when the
//! capability exposes no MCP), `serde` (with `derive`), `serde_json` and `tokio`.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token, bracketed};

/// Compiles a capability (plus optional `arazzo = [...]`, `openapi = [...]` and
/// `sources = ["NAME=FILE", ...]`) into `pub mod types` and `pub mod client`.
#[proc_macro]
pub fn include_capability(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args, true).into()
}

/// Compiles Arazzo documents without a capability (the first, plus optional `arazzo = [...]`,
/// `openapi = [...]` and `sources = ["NAME=FILE", ...]`): clients from their source
/// descriptions, `pub mod workflows`, and the REST and MCP adapters serving the workflows.
#[proc_macro]
pub fn include_workflows(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args, false).into()
}

struct Args {
    capability: LitStr,
    arazzo: Vec<LitStr>,
    openapi: Vec<LitStr>,
    sources: Vec<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let capability: LitStr = input.parse()?;
        let mut args = Args { capability, arazzo: Vec::new(), openapi: Vec::new(), sources: Vec::new() };
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let content;
            bracketed!(content in input);
            let list: Vec<LitStr> = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?.into_iter().collect();
            match key.to_string().as_str() {
                "arazzo" => args.arazzo.extend(list),
                "openapi" => args.openapi.extend(list),
                "sources" => args.sources.extend(list),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown argument `{other}`; expected `arazzo`, `openapi` or `sources`"),
                    ));
                }
            }
        }
        Ok(args)
    }
}

/// `with_capability`: the first literal is the capability; otherwise it is an Arazzo document.
fn expand(args: &Args, with_capability: bool) -> proc_macro2::TokenStream {
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let resolve = |lit: &LitStr| root.join(lit.value());
    let first = (!with_capability).then_some(&args.capability);
    let mut inputs = capgen::Inputs {
        capability: with_capability.then(|| resolve(&args.capability)),
        arazzo: first.into_iter().chain(&args.arazzo).map(resolve).collect(),
        openapi: args.openapi.iter().map(resolve).collect(),
        ..capgen::Inputs::default()
    };
    for source in &args.sources {
        match source.value().split_once('=') {
            Some((name, file)) => {
                inputs.sources.insert(name.to_string(), root.join(file));
            }
            None => return syn::Error::new(source.span(), "expected \"NAME=FILE\"").to_compile_error(),
        }
    }
    let span = args.capability.span();
    match capgen::generate(&inputs, &capgen::Settings::default()) {
        Ok(generated) => {
            let tracked = track(generated.sources.paths().map(|p| p.as_ref()), span);
            let warnings = generated.warnings.iter().map(|warning| warn(&display_relative(warning, &root), span));
            // The generated API is a library surface: a program using part of it is not warned
            // about the rest (a binary's private module would be, item by item).
            let modules = generated.modules().into_iter().map(|module| {
                let name = syn::Ident::new(module.name, Span::call_site());
                let tokens = module.tokens;
                quote! { #[allow(dead_code)] pub mod #name { #tokens } }
            });
            quote! { #tracked #(#warnings)* #(#modules)* }
        }
        Err(failure) => {
            let tracked = track(failure.sources.paths().map(|p| p.as_ref()), span);
            let errors = failure.diagnostics.iter().filter(|d| d.is_error()).map(|diagnostic| {
                let message = display_relative(diagnostic, &root);
                syn::Error::new(span, message).to_compile_error()
            });
            quote! { #tracked #(#errors)* }
        }
    }
}

/// A spec warning as a compiler warning at the macro call: stable Rust has no warning API for
/// proc macros, so this uses a deprecated item (the `deprecated` lint; `#[allow(deprecated)]` on
/// the enclosing module silences it). The note is the diagnostic with its location and help.
fn warn(message: &str, span: Span) -> proc_macro2::TokenStream {
    let note = LitStr::new(&format!("capgen: {message}"), span);
    let item = syn::Ident::new("capgen_spec_warning", span);
    quote::quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const #item: () = ();
            #item
        };
    }
}

/// `include_bytes!` each input so rustc rebuilds when a spec changes.
fn track<'a>(paths: impl Iterator<Item = &'a Path>, span: Span) -> proc_macro2::TokenStream {
    let includes = paths.filter_map(|path| path.to_str().map(|p| LitStr::new(p, span))).map(|path| {
        quote! { const _: &[u8] = include_bytes!(#path); }
    });
    quote! { #(#includes)* }
}

/// `specs/x.yaml:3:5: error[code]: message` + help, with paths relative to the crate.
fn display_relative(diagnostic: &capgen::Diagnostic, root: &Path) -> String {
    let mut diagnostic = diagnostic.clone();
    if let Some(span) = &mut diagnostic.span
        && let Ok(relative) = span.file.strip_prefix(root)
    {
        span.file = std::sync::Arc::from(relative);
    }
    diagnostic.to_string()
}
