//! JSONPath output shaping and Mustache-style templates.

use capgen_runtime::json::{
    JsonPathCell, TemplatePart, render_json_template, render_text_template,
};
use serde_json::{Value, json};

static IDS: JsonPathCell = JsonPathCell::new("$.data[*].id");
static FIRST_STATUS: JsonPathCell = JsonPathCell::new("$.data[0].status");
static BROKEN: JsonPathCell = JsonPathCell::new("$.data[?");

#[test]
fn query_shapes_matches() {
    let body = json!({"data": [{"id": "a", "status": "completed"}, {"id": "b"}]});
    assert_eq!(IDS.query(&body), json!(["a", "b"]));
    assert_eq!(FIRST_STATUS.query(&body), json!("completed"));
    assert_eq!(FIRST_STATUS.query(&json!({"data": []})), Value::Null);
    assert_eq!(IDS.query(&json!({"data": [{"id": 1}]})), json!(1));
    assert_eq!(IDS.query_all(&body), vec![&json!("a"), &json!("b")]);
    assert_eq!(JsonPathCell::new("$").query(&body), body);
    assert_eq!(IDS.path(), "$.data[*].id");
}

#[test]
fn an_invalid_path_yields_null_not_a_panic() {
    let body = json!({"data": [1]});
    assert_eq!(BROKEN.query(&body), Value::Null);
    assert!(BROKEN.query_all(&body).is_empty());
    assert_eq!(BROKEN.query(&body), Value::Null); // the failed parse is cached
}

#[test]
fn json_templates_escape_quoted_values_and_insert_raw_ones() {
    let imo = json!("IMO \"9\"\n\\x");
    let crew = json!(["c1", "c2"]);
    let count = json!(3);
    let missing = Value::Null;
    let parts = [
        TemplatePart::Literal(r#"{"shipImo": ""#),
        TemplatePart::Quoted(&imo),
        TemplatePart::Literal(r#"", "crewIds": "#),
        TemplatePart::Raw(&crew),
        TemplatePart::Literal(r#", "note": "n=", "count": ""#),
        TemplatePart::Quoted(&count),
        TemplatePart::Literal(r#"", "obj": "#),
        TemplatePart::Raw(&json!({"k": [true]})),
        TemplatePart::Literal(r#", "missing": "#),
        TemplatePart::Raw(&missing),
        TemplatePart::Literal(r#", "empty": ""#),
        TemplatePart::Quoted(&missing),
        TemplatePart::Literal(r#"", "crewText": ""#),
        TemplatePart::Quoted(&crew),
        TemplatePart::Literal(r#""}"#),
    ];
    assert_eq!(
        render_json_template(&parts).unwrap(),
        json!({
            "shipImo": "IMO \"9\"\n\\x",
            "crewIds": ["c1", "c2"],
            "note": "n=",
            "count": "3",
            "obj": {"k": [true]},
            "missing": null,
            "empty": "",
            "crewText": "[\"c1\",\"c2\"]",
        })
    );
}

#[test]
fn a_template_that_is_not_json_is_an_error() {
    let value = json!("tok-SECRET-1234");
    let err = render_json_template(&[
        TemplatePart::Literal("{\"a\": "),
        TemplatePart::Quoted(&value),
    ])
    .unwrap_err();
    assert!(
        err.starts_with("the body template does not render valid JSON"),
        "{err}"
    );
    assert!(!err.contains("tok-SECRET-1234"));
}

#[test]
fn text_templates_insert_plain_values() {
    let id = json!("db 1");
    let n = json!(7);
    let parts = [
        TemplatePart::Literal("Bearer "),
        TemplatePart::Quoted(&id),
        TemplatePart::Literal("/"),
        TemplatePart::Raw(&n),
        TemplatePart::Literal("/"),
        TemplatePart::Raw(&Value::Null),
        TemplatePart::Raw(&json!(true)),
    ];
    assert_eq!(render_text_template(&parts), "Bearer db 1/7/true");
}
