#!/usr/bin/env python3
"""Mock upstream of the differential harness (scripts/differential.sh).

Serves every OpenAPI source of one workflow under its own prefix (`/<source name>`), answers
each request from the workflow's fixture file when one of its rules matches, else from the
OpenAPI operation's example or a value generated from its response schema, and appends every
request (source, operationId, method, path, query, headers, body) to a JSON Lines file.

Usage: mock_upstream.py --source NAME=OPENAPI_FILE... [--fixture FILE] --record FILE --port-file FILE
"""
import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(doc, node, depth=0):
    """Follows local `$ref`s (`#/...`) of an OpenAPI document."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node


def generate(doc, schema, depth=0):
    """A deterministic value for a JSON Schema: example, default, enum, else by type."""
    schema = resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("allOf",):
        if isinstance(schema.get(key), list):
            merged = {}
            for part in schema[key]:
                value = generate(doc, part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return generate(doc, schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        return {
            name: generate(doc, sub, depth + 1)
            for name, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        return [generate(doc, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        return {
            "date-time": "2026-01-01T00:00:00Z",
            "date": "2026-01-01",
            "uuid": "00000000-0000-4000-8000-000000000001",
            "email": "user@example.com",
            "uri": "https://example.com/",
        }.get(fmt, "string")
    return None


def template_regex(template):
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "/?$"
    )


class Source:
    def __init__(self, name, path):
        self.name = name
        self.doc = load(path)
        self.operations = []  # (method, regex, template, operation)
        for template, item in (self.doc.get("paths") or {}).items():
            for method in METHODS:
                op = (item or {}).get(method)
                if isinstance(op, dict):
                    self.operations.append((method.upper(), template_regex(template), template, op))
        # Literal templates before templated ones (`/pets/findByTags` before `/pets/{id}`).
        self.operations.sort(key=lambda o: o[2].count("{"))
        servers = self.doc.get("servers") or [{}]
        self.server_path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")

    def operation_path(self, path):
        """The path below the server's own path (`/bnpl/v1` of `https://host/bnpl/v1`), which a
        client may keep or drop when its base URI is overridden."""
        if self.server_path and (path + "/").startswith(self.server_path + "/"):
            return path[len(self.server_path):] or "/"
        return path

    def find(self, method, path):
        for m, regex, template, op in self.operations:
            if m == method and regex.match(path):
                return template, op
        return None, None

    def answer(self, op):
        """(status, body) from the operation's first 2xx (else `default`) response."""
        responses = op.get("responses") or {}
        codes = sorted(str(c) for c in responses if str(c)[:1] == "2") or [
            c for c in map(str, responses) if c == "default"
        ]
        if not codes:
            return 200, None
        code = codes[0]
        response = resolve(self.doc, responses.get(code) or responses.get(int(code)) or {})
        status = 200 if code == "default" else int(code)
        content = response.get("content") or {}
        media = next((m for m in content if "json" in m), next(iter(content), None))
        if media is None:
            return status, None
        media_obj = content[media] or {}
        if "example" in media_obj:
            return status, media_obj["example"]
        examples = media_obj.get("examples") or {}
        for example in examples.values():
            example = resolve(self.doc, example)
            if isinstance(example, dict) and "value" in example:
                return status, example["value"]
        return status, generate(self.doc, media_obj.get("schema", {}))


def rule_matches(rule, source, method, path, template, op):
    when = rule.get("match", {})
    if "source" in when and when["source"] != source:
        return False
    if "method" in when and when["method"].upper() != method:
        return False
    if "operationId" in when and when["operationId"] != (op or {}).get("operationId"):
        return False
    if "path" in when and when["path"] not in (path, template):
        return False
    return True


class State:
    def __init__(self, sources, fixture, record):
        self.sources = sources
        self.rules = (fixture or {}).get("responses", [])
        self.hits = [0] * len(self.rules)
        self.record = record
        self.lock = threading.Lock()


def handler_for(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the recording is the log
            pass

        def handle_any(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            segments = url.path.split("/", 2)
            name = segments[1] if len(segments) > 1 else ""
            path = "/" + (segments[2] if len(segments) > 2 else "")
            source = state.sources.get(name)
            raw_path = path
            if source:
                path = source.operation_path(path)
            method = self.command
            template, op = source.find(method, path) if source else (None, None)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            entry = {
                "source": name,
                "operationId": (op or {}).get("operationId", template),
                "method": method,
                "path": path,
                "rawPath": raw_path,
                "query": parse_qsl(url.query, keep_blank_values=True),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            with state.lock:
                status, payload, headers = self.respond(name, method, path, template, op)
                with open(state.record, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(data)

        def respond(self, name, method, path, template, op):
            for i, rule in enumerate(state.rules):
                if rule_matches(rule, name, method, path, template, op):
                    answers = rule.get("sequence") or [rule.get("respond", {})]
                    answer = answers[min(state.hits[i], len(answers) - 1)]
                    state.hits[i] += 1
                    return answer.get("status", 200), answer.get("body"), answer.get("headers", {})
            if op is None:
                return 404, {"error": f"no operation for {method} {path} in source {name!r}"}, {}
            status, body = state.sources[name].answer(op)
            return status, body, {}

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], help="NAME=OPENAPI_FILE")
    parser.add_argument("--fixture")
    parser.add_argument("--record", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    sources = {}
    for spec in args.source:
        name, _, path = spec.partition("=")
        sources[name] = Source(name, path)
    fixture = load(args.fixture) if args.fixture else None
    open(args.record, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(State(sources, fixture, args.record)))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os

    os.replace(args.port_file + ".tmp", args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
