//! The Arazzo expression languages, on arbitrary text: runtime expressions, `{$…}` templates and
//! value strings, simple conditions, criteria of every type (the first line is the `context`,
//! the rest the `condition`), operationPaths, JSON Pointers, JSONPath → pointer, and the regex
//! check. Nothing may panic or hang, and:
//!
//! - an error's offset lies inside the text, on a char boundary (diagnostics slice there);
//! - a parsed expression's canonical text (`Display`) parses back to the same expression;
//! - rewriting the legacy forms a parse reported (`standard_form`) does not panic.
#![no_main]

use capgen::expr::{
    self, CriterionType, ExprError, check_regex, parse_condition, parse_criterion, parse_expression, parse_json_pointer,
    parse_operation_path, parse_template, parse_value_string, singular_pointer,
};
use libfuzzer_sys::fuzz_target;

fn in_text<T>(what: &str, text: &str, result: &Result<T, ExprError>) {
    if let Err(error) = result {
        assert!(error.offset <= text.len(), "{what}: {error:?} is past the end of {text:?}");
        assert!(text.is_char_boundary(error.offset), "{what}: {error:?} is inside a character of {text:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let parsed = parse_expression(text);
    in_text("expression", text, &parsed);
    if let Ok(expr) = &parsed {
        let canonical = expr.to_string();
        assert_eq!(parse_expression(&canonical).as_ref(), Ok(expr), "{text:?} prints as {canonical:?}");
    }

    for (what, result) in [("template", parse_template(text)), ("value string", parse_value_string(text))] {
        in_text(what, text, &result);
        if let Ok(parsed) = result {
            let _ = expr::standard_form(text, &parsed.legacy);
        }
    }

    let condition = parse_condition(text);
    in_text("condition", text, &condition);
    if let Ok(parsed) = &condition {
        let _ = expr::standard_form(text, &parsed.legacy);
        let _ = parsed.value.exprs();
        let _ = parsed.value.comparisons();
    }

    in_text("operationPath", text, &parse_operation_path(text));
    in_text("JSON Pointer", text, &parse_json_pointer(text));
    let _ = singular_pointer(text);
    let _ = check_regex(text);

    // Criteria: the first line is the context, the rest the condition; also without a context.
    let (context, condition) = text.split_once('\n').map_or((None, text), |(c, rest)| (Some(c), rest));
    for kind in [CriterionType::Simple, CriterionType::Regex, CriterionType::JsonPath, CriterionType::XPath] {
        if let Ok(parsed) = parse_criterion(kind, context, condition) {
            let _ = expr::standard_form(condition, &parsed.legacy);
        }
        let _ = parse_criterion(kind, None, text);
    }
});
