//! Binary content end to end (Ikanos `outputRawFormat: binary`): the fixture
//! `codegen/tests/fixtures/ikanos/binary-download.yml` compiled with `include_capability!`, in
//! front of a small local upstream serving bytes. The client returns the bytes and their media
//! type and refuses a body over `maxBinarySize` (by `Content-Length` or as it streams); the REST
//! adapter answers the bytes with the contract's status and `Content-Type` and maps an over-size
//! upstream body to a 502 `upstream_too_large`; MCP answers image content and blob resources.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use capgen_runtime::server::{RestConfig, serve_listener};
use capgen_runtime::{ClientConfig, Error};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::Value;

mod photos {
    capgen_macros::include_capability!("../codegen/tests/fixtures/ikanos/binary-download.yml");
}

use photos::client::{Clients, library};

/// The limit the fixture sets on `download-photo` (`maxBinarySize: 64KiB`).
const LIMIT: usize = 64 * 1024;

/// The photo's bytes: not UTF-8, not JSON.
fn photo() -> Vec<u8> {
    (0..=255u8).cycle().take(3000).collect()
}

/// `GET /photos/{id}/bytes`: the photo (`application/octet-stream`); `big` is one byte over the
/// limit with a `Content-Length`, `stream` is over it in chunks without one; `missing` is a 404.
async fn bytes(Path(id): Path<String>) -> Response {
    match id.as_str() {
        "big" => ([(header::CONTENT_TYPE, "application/octet-stream")], vec![7u8; LIMIT + 1]).into_response(),
        "stream" => {
            let chunks = (0..20).map(|_| Ok::<_, std::io::Error>(vec![9u8; 8 * 1024]));
            let body = Body::from_stream(futures_util::stream::iter(chunks.collect::<Vec<_>>()));
            ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
        }
        "missing" => (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({ "error": "no such photo" }))).into_response(),
        _ => ([(header::CONTENT_TYPE, "application/octet-stream")], photo()).into_response(),
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_listener(listener, app, std::future::pending()));
    format!("http://{addr}")
}

/// The upstream: bytes, a scan (`image/tiff`, which the spec advertises as `image/png`) and JSON.
async fn upstream() -> String {
    let app = axum::Router::new()
        .route("/photos/{id}/bytes", get(bytes))
        .route("/photos/{id}/scan", get(|| async { ([(header::CONTENT_TYPE, "image/tiff")], vec![1u8, 2, 3]) }))
        .route("/photos/{id}", get(|Path(id): Path<String>| async move { axum::Json(serde_json::json!({ "id": id, "title": "Harbour" })) }));
    serve(app).await
}

fn clients(base_uri: &str) -> Clients {
    let config = ClientConfig::new(base_uri).with_timeout(Duration::from_secs(10));
    Clients { library: library::Client::new(config).expect("client") }
}

#[tokio::test]
async fn the_client_returns_bytes_and_enforces_max_binary_size() {
    let clients = clients(&upstream().await);
    let binary = clients.library.download_photo("1").await.expect("bytes");
    assert_eq!(binary.bytes.as_ref(), photo().as_slice());
    assert_eq!(binary.content_type.as_deref(), Some("application/octet-stream"), "the upstream's media type");
    // `outputMediaType` overrides what the upstream says.
    let scan = clients.library.download_scan("1").await.expect("scan");
    assert_eq!((scan.content_type.as_deref(), scan.bytes.as_ref()), (Some("image/png"), &[1u8, 2, 3][..]));
    for id in ["big", "stream"] {
        match clients.library.download_photo(id).await {
            Err(Error::TooLarge { operation, status, limit }) => {
                assert_eq!((operation, status, limit), ("download-photo", 200, LIMIT as u64), "{id}");
            }
            other => panic!("{id}: expected Error::TooLarge, got {other:?}"),
        }
    }
    // Upstream errors stay status errors.
    let missing = clients.library.download_photo("missing").await.expect_err("404");
    assert_eq!(missing.status(), Some(404));
    // Debug shows the length, never the bytes.
    assert_eq!(format!("{binary:?}"), "Binary { content_type: Some(\"application/octet-stream\"), len: 3000 }");
}

#[tokio::test]
async fn rest_answers_bytes_with_the_contract_media_type_and_maps_over_size() {
    let app = photos::rest::router_with(clients(&upstream().await), &RestConfig::default());
    let url = serve(app).await;
    let http = reqwest::Client::new();

    // `responseBinary: {mediaType: image/jpeg}` over the upstream's octet-stream.
    let response = http.get(format!("{url}/photos/1/image")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(response.bytes().await.expect("body").as_ref(), photo().as_slice());

    // `responses: {"201": {content: {image/png: {binary: true}}}}`.
    let response = http.get(format!("{url}/photos/1/scan")).send().await.expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(response.bytes().await.expect("body").as_ref(), &[1u8, 2, 3]);

    // Over `maxBinarySize`: a mapped 502, with the limit.
    for id in ["big", "stream"] {
        let response = http.get(format!("{url}/photos/{id}/image")).send().await.expect("send");
        assert_eq!(response.status(), 502, "{id}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: Value = response.json().await.expect("JSON error");
        assert_eq!(body["error"]["code"], "upstream_too_large", "{id}: {body}");
        assert_eq!(body["error"]["limitBytes"], LIMIT as u64, "{id}: {body}");
    }

    // An upstream 404 passes through as JSON, as for JSON operations.
    let response = http.get(format!("{url}/photos/missing/image")).send().await.expect("send");
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"], "no such photo");

    // The JSON route beside them is unchanged.
    let response = http.get(format!("{url}/photos/7")).send().await.expect("send");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["id"], "7");

    // The OpenAPI document says so.
    let doc: Value = http.get(format!("{url}/openapi.json")).send().await.expect("send").json().await.expect("JSON");
    let image = &doc["paths"]["/photos/{id}/image"]["get"]["responses"]["200"];
    assert_eq!(image["content"]["image/jpeg"]["schema"], serde_json::json!({ "type": "string", "format": "binary" }));
    assert_eq!(image["description"], "The original image bytes.");
    let scan = &doc["paths"]["/photos/{id}/scan"]["get"]["responses"];
    assert_eq!(scan["201"]["content"]["image/png"]["schema"]["format"], "binary");
    assert!(scan.get("200").is_none(), "{scan}");
}

#[tokio::test]
async fn mcp_answers_image_content_and_blob_resources() {
    let router = photos::mcp::router(clients(&upstream().await));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = ().serve(StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"))).await.expect("connects");

    // `ttlMs`/`cacheScope` travel in the tool's `_meta`.
    let tools = client.list_all_tools().await.expect("tools/list");
    let meta = tools[0].meta.as_ref().expect("_meta");
    assert_eq!((meta.0.get("io.ikanos/ttlMs"), meta.0.get("io.ikanos/cacheScope")), (Some(&60000.into()), Some(&"private".into())));

    // The tool's bytes have the upstream's media type (octet-stream): an embedded blob.
    let mut arguments = serde_json::Map::new();
    arguments.insert("id".into(), "1".into());
    let result = client
        .call_tool(CallToolRequestParams::new("get-photo-bytes".to_owned()).with_arguments(arguments.clone()))
        .await
        .expect("tools/call");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let encoded = base64_of(&photo());
    let blob = result.content[0].as_resource().expect("an embedded resource").resource.clone();
    match blob {
        ResourceContents::BlobResourceContents { blob, mime_type, .. } => {
            assert_eq!((blob.as_str(), mime_type.as_deref()), (encoded.as_str(), Some("application/octet-stream")));
        }
        other => panic!("expected a blob, got {other:?}"),
    }

    // Over the limit: an `isError` result of kind `too_large`.
    arguments.insert("id".into(), "big".into());
    let result = client
        .call_tool(CallToolRequestParams::new("get-photo-bytes".to_owned()).with_arguments(arguments))
        .await
        .expect("tools/call");
    assert_eq!(result.is_error, Some(true));
    assert_eq!(result.structured_content.as_ref().map(|s| s["error"]["kind"].clone()), Some("too_large".into()));

    // The resource (`binary: true`, `mimeType: image/jpeg`): `BlobResourceContents`.
    let read = client.read_resource(ReadResourceRequestParams::new("photos://library/1/bytes")).await.expect("resources/read");
    match &read.contents[0] {
        ResourceContents::BlobResourceContents { blob, mime_type, uri, .. } => {
            assert_eq!((blob.as_str(), mime_type.as_deref(), uri.as_str()), (encoded.as_str(), Some("image/jpeg"), "photos://library/1/bytes"));
        }
        other => panic!("expected a blob, got {other:?}"),
    }
    client.cancel().await.expect("close");
}

/// An image media type becomes MCP image content.
#[test]
fn image_bytes_are_image_content() {
    use capgen_runtime::mcp::Output as _;
    let binary = capgen_runtime::Binary { content_type: Some("image/png".into()), bytes: vec![1u8, 2, 3].into() };
    let result = binary.tool_result();
    let image = result.content[0].as_image().expect("image content");
    assert_eq!((image.data.as_str(), image.mime_type.as_str()), ("AQID", "image/png"));
    // In a step's JSON result, bytes are `{contentType, size, base64}`.
    let binary = capgen_runtime::Binary { content_type: None, bytes: vec![1u8, 2, 3].into() };
    assert_eq!(
        serde_json::to_value(&binary).expect("JSON"),
        serde_json::json!({ "contentType": "application/octet-stream", "size": 3, "base64": "AQID" })
    );
}

fn base64_of(bytes: &[u8]) -> String {
    capgen_runtime::Binary { content_type: None, bytes: bytes.to_vec().into() }.base64()
}
