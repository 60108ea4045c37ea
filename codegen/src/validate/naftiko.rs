//! Checks on a loaded capability: references between its parts, names, paths, JSONPath
//! mappings, bound variables, and features capgen does not generate. Reports every problem.

use std::collections::BTreeSet;

use indexmap::IndexMap;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::parse::naftiko::{
    self, AuthSpec, Capability, ConsumedOperation, ConsumedResource, ConsumesHttp, Exposes, InputParam, Invocation, Lenient,
    List, Origin, OutputParam, OutputItems, Piece, Step, valid,
};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Runs every capability check, appending to `diagnostics`.
pub fn validate(capability: &Capability, diagnostics: &mut Diagnostics) {
    let mut checker = Checker { capability, diagnostics, bound: bound_variables(capability) };
    checker.run();
}

/// Every variable name the `binds` provide.
fn bound_variables(capability: &Capability) -> BTreeSet<String> {
    valid(&capability.doc.binds).flat_map(|(_, bind)| bind.keys.keys().cloned()).collect()
}

struct Checker<'a> {
    capability: &'a Capability,
    diagnostics: &'a mut Diagnostics,
    bound: BTreeSet<String>,
}

/// A consumed operation, as a `call` target.
struct Target<'a> {
    resource: &'a ConsumedResource,
    operation: &'a ConsumedOperation,
}

impl<'a> Checker<'a> {
    fn run(&mut self) {
        let cap = self.capability;
        let doc = &cap.doc;
        match doc.naftiko.as_deref() {
            None if cap.body().is_some() => self.push(
                Diagnostic::warning("missing-version", "the capability does not say which Naftiko version it uses")
                    .at(cap.span(&cap.at(""))),
                "add `naftiko: 1.0.0-alpha2` as the first line",
            ),
            Some(version) if version != "1.0.0-alpha2" => self.push(
                Diagnostic::warning("unknown-version", format!("Naftiko version `{version}` is not the one capgen reads"))
                    .at(cap.span(&cap.at("/naftiko"))),
                "capgen reads `1.0.0-alpha2`; other versions are read as if they were",
            ),
            _ => {}
        }
        if cap.body().is_none() && !doc.consumes.is_empty() {
            // A shared file other capabilities import; given directly, its clients are generated.
            self.push(
                Diagnostic::warning("consumes-only", "this document only declares consumed adapters; only their clients are generated")
                    .at(cap.span(&cap.at("/consumes"))),
                "import it from a capability: `consumes: [{import: <namespace>, location: ./shared/<file>.yaml}]`, \
                 or put it under `capability: {consumes: [...], exposes: [...]}`",
            );
        } else if cap.body().is_none() {
            self.push(
                Diagnostic::error("missing-field", "the document has no `capability` section").at(cap.span(&cap.at(""))),
                "add `capability:` with `consumes` and `exposes`",
            );
        }
        self.invalid_items(&doc.binds, &cap.at("/binds"), "a bind needs `namespace` and `keys`");
        for (i, bind) in valid(&doc.binds) {
            if let Some(location) = &bind.location {
                let origin = cap.at(format!("/binds/{i}/location"));
                if !location.starts_with("file://") && location.contains("://") {
                    self.push(
                        Diagnostic::error("unsupported-bind", format!("bind location `{location}` is not supported"))
                            .at(cap.span(&origin)),
                        "use `file:///…` (a JSON/YAML file) or omit `location` to read environment variables",
                    );
                }
            }
        }

        let consumes: &'a [ConsumesHttp] = &cap.consumes;
        let mut namespaces = IndexMap::new();
        for api in consumes {
            if let Some(first) = namespaces.insert(api.namespace.clone(), api.origin.clone()) {
                self.duplicate("consumed namespace", &api.namespace, &api.origin.child("namespace"), &first.child("namespace"));
            }
            self.consumed_api(api);
        }

        let targets = self.targets();
        let functions = self.aggregate_functions();
        let Some(body) = cap.body() else { return };
        self.invalid_items(&body.exposes, &cap.at("/capability/exposes"), "an adapter needs `type` (rest or mcp) and `namespace`");
        self.invalid_items(&body.aggregates, &cap.at("/capability/aggregates"), "an aggregate needs `namespace` and `functions`");
        let mut exposed = IndexMap::new();
        for (i, exposes) in valid(&body.exposes) {
            let origin = cap.at(format!("/capability/exposes/{i}"));
            let namespace = match exposes {
                Exposes::Rest(rest) => Some(rest.namespace.clone()),
                Exposes::Mcp(mcp) => Some(mcp.namespace.clone()),
                Exposes::Skill(other) | Exposes::Control(other) => {
                    let kind = if matches!(exposes, Exposes::Skill(_)) { "skill" } else { "control" };
                    self.push(
                        Diagnostic::warning(
                            "unsupported-adapter",
                            format!("`{kind}` adapters are not generated; the rest of the capability is"),
                        )
                        .at(cap.span(&origin.child("type"))),
                        "capgen generates `rest` and `mcp` adapters; remove this one or serve it with another tool",
                    );
                    other.namespace.clone()
                }
            };
            if let Some(namespace) = namespace
                && let Some(first) = exposed.insert(namespace.clone(), origin.clone())
            {
                self.duplicate("exposed namespace", &namespace, &origin.child("namespace"), &first.child("namespace"));
            }
            match exposes {
                Exposes::Rest(rest) => {
                    self.auth(rest.authentication.as_ref(), &origin.child("authentication"));
                    self.invalid_items(&rest.resources, &origin.child("resources"), "a resource needs `path` and `operations`");
                    let mut routes = IndexMap::new();
                    for (r, resource) in valid(&rest.resources) {
                        let r_origin = origin.child("resources").item(r);
                        self.invalid_items(&resource.input_parameters, &r_origin.child("inputParameters"), "a parameter needs `name`");
                        self.invalid_items(&resource.operations, &r_origin.child("operations"), "an operation needs `method`");
                        let mut arguments: Vec<String> = naftiko::path_variables(&resource.path);
                        arguments.extend(valid(&resource.input_parameters).map(|(_, p)| p.name.clone()));
                        for (o, op) in valid(&resource.operations) {
                            let op_origin = r_origin.child("operations").item(o);
                            let method = op.method.clone().unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                            if !METHODS.contains(&method.as_str()) {
                                self.push(
                                    Diagnostic::error("invalid-method", format!("`{method}` is not an HTTP method"))
                                        .at(cap.span(&op_origin.child("method"))),
                                    "use GET, POST, PUT, PATCH or DELETE",
                                );
                            }
                            let route = naftiko::route_key(&method, &resource.path);
                            if let Some(first) = routes.get(&route) {
                                let first = cap.span(first);
                                self.push(
                                    Diagnostic::warning(
                                        "shadowed-route",
                                        format!("REST route `{method} {}` is already defined; this operation is not routed", resource.path),
                                    )
                                    .at(cap.span(&op_origin))
                                    .label(format!("first defined at {first}")),
                                    "the engine routes a request to the first match; give this operation its own path \
                                     (`/items/{id}`) or method, or remove it",
                                );
                                continue;
                            }
                            routes.insert(route, op_origin.clone());
                            let mut args = arguments.clone();
                            args.extend(valid(&op.input_parameters).map(|(_, p)| p.name.clone()));
                            if matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
                                args.push("body".to_string());
                            }
                            self.invocation(op, &op_origin, &targets, &functions, Some(&args), true);
                        }
                    }
                }
                Exposes::Mcp(mcp) => {
                    self.auth(mcp.authentication.as_ref(), &origin.child("authentication"));
                    if let Some(transport) = &mcp.transport
                        && transport != "http"
                        && transport != "stdio"
                    {
                        self.push(
                            Diagnostic::error("invalid-transport", format!("MCP transport `{transport}` is not known"))
                                .at(cap.span(&origin.child("transport"))),
                            "use `http` (Streamable HTTP) or `stdio`",
                        );
                    }
                    self.invalid_items(&mcp.tools, &origin.child("tools"), "a tool needs `name` and `description`");
                    self.invalid_items(&mcp.resources, &origin.child("resources"), "a resource needs `name`, `uri` and `label`");
                    self.invalid_items(&mcp.prompts, &origin.child("prompts"), "a prompt needs `name` and `label`");
                    let mut names = IndexMap::new();
                    for (t, tool) in valid(&mcp.tools) {
                        let tool_origin = origin.child("tools").item(t);
                        match &tool.name {
                            Some(name) => {
                                if let Some(first) = names.insert(name.clone(), tool_origin.clone()) {
                                    self.duplicate("tool", name, &tool_origin.child("name"), &first.child("name"));
                                }
                            }
                            None => self.push(
                                Diagnostic::error("missing-field", "this tool has no `name`").at(cap.span(&tool_origin)),
                                "add `name: <kebab-case-name>`",
                            ),
                        }
                        self.invocation(tool, &tool_origin, &targets, &functions, None, true);
                    }
                    for (r, resource) in valid(&mcp.resources) {
                        if let Some(call) = &resource.call {
                            self.call_target(call, &origin.child("resources").item(r).child("call"), &targets, false);
                        }
                    }
                }
                Exposes::Skill(_) | Exposes::Control(_) => {}
            }
        }
        for (a, aggregate) in valid(&body.aggregates) {
            let a_origin = cap.at(format!("/capability/aggregates/{a}"));
            self.invalid_items(&aggregate.functions, &a_origin.child("functions"), "a function needs `name` and `description`");
            for (f, function) in valid(&aggregate.functions) {
                let f_origin = a_origin.child("functions").item(f);
                self.invocation(function, &f_origin, &targets, &functions, None, false);
            }
        }
    }

    fn push(&mut self, diagnostic: Diagnostic, help: &str) {
        self.diagnostics.push(diagnostic.help(help));
    }

    fn duplicate(&mut self, what: &str, name: &str, at: &Origin, first: &Origin) {
        let first = self.capability.span(first);
        self.push(
            Diagnostic::error("duplicate-name", format!("{what} `{name}` is defined twice"))
                .at(self.capability.span(at))
                .label(format!("first defined at {first}")),
            "rename one of them; names must be unique",
        );
    }

    /// Reports list items that failed to decode.
    fn invalid_items<T>(&mut self, list: &List<T>, origin: &Origin, help: &str) {
        for (i, item) in list.iter().enumerate() {
            if let Lenient::Invalid { message, at } = item {
                if self.capability.failed_imports.contains(&origin.item(i).pointer) {
                    continue; // reported when the import was read
                }
                let file = origin.file.as_ref().and_then(|f| self.capability.files.get(f));
                let pointer = format!("{}{at}", origin.item(i).pointer);
                let diagnostic = match file {
                    Some(file) => file.decode_error(&pointer, message),
                    None => Diagnostic::error("invalid-field", message.clone()),
                };
                let help = format!("{}; {help}", diagnostic.help.clone().unwrap_or_default());
                self.push(diagnostic, &help);
            }
        }
    }

    fn consumed_api(&mut self, api: &ConsumesHttp) {
        let cap = self.capability;
        let origin = &api.origin;
        if let Some(kind) = &api.kind
            && kind != "http"
        {
            self.push(
                Diagnostic::error("unsupported-adapter", format!("consumed adapter type `{kind}` is not supported"))
                    .at(cap.span(&origin.child("type"))),
                "capgen consumes `type: http` adapters",
            );
        }
        let base = api.base_uri.as_str();
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        if !scheme_ok || base.split("://").nth(1).is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            self.push(
                Diagnostic::error("invalid-base-uri", format!("`{base}` is not an absolute http(s) URL"))
                    .at(cap.span(&origin.child("baseUri"))),
                "write `baseUri: https://host/prefix`; it can be overridden at run time",
            );
        }
        self.auth(api.authentication.as_ref(), &origin.child("authentication"));
        self.invalid_items(&api.input_parameters, &origin.child("inputParameters"), "a parameter needs `name` and `in`");
        for (i, param) in valid(&api.input_parameters) {
            if let Some(serde_yaml::Value::String(value)) = &param.value {
                self.variables(value, &origin.child("inputParameters").item(i).child("value"));
            }
        }
        self.invalid_items(&api.resources, &origin.child("resources"), "a resource needs `name`, `path` and `operations`");
        let mut names = IndexMap::new();
        for (r, resource) in valid(&api.resources) {
            let r_origin = origin.child("resources").item(r);
            self.invalid_items(&resource.input_parameters, &r_origin.child("inputParameters"), "a parameter needs `name` and `in`");
            self.invalid_items(&resource.operations, &r_origin.child("operations"), "an operation needs `name` and `method`");
            let path_vars = naftiko::path_variables(&resource.path);
            for (o, op) in valid(&resource.operations) {
                let op_origin = r_origin.child("operations").item(o);
                if let Some(first) = names.insert(op.name.clone(), op_origin.clone()) {
                    self.duplicate("operation", &format!("{}.{}", api.namespace, op.name), &op_origin.child("name"), &first.child("name"));
                }
                let method = op.method.clone().unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    self.push(
                        Diagnostic::error("invalid-method", format!("`{method}` is not an HTTP method"))
                            .at(cap.span(&op_origin.child("method"))),
                        "use GET, POST, PUT, PATCH or DELETE",
                    );
                }
                self.invalid_items(&op.input_parameters, &op_origin.child("inputParameters"), "a parameter needs `name` and `in`");
                for (p, param) in valid(&op.input_parameters) {
                    let p_origin = op_origin.child("inputParameters").item(p);
                    let location = param.location.as_deref().unwrap_or("query");
                    if !["query", "header", "path", "cookie", "body", "environment"].contains(&location) {
                        self.push(
                            Diagnostic::error("invalid-location", format!("parameter location `{location}` is not known"))
                                .at(cap.span(&p_origin.child("in"))),
                            "use one of: query, header, path, cookie, body",
                        );
                    }
                    if location == "path" && !path_vars.iter().any(|v| v.eq_ignore_ascii_case(&param.name)) {
                        self.push(
                            Diagnostic::warning(
                                "unused-path-parameter",
                                format!("path parameter `{}` does not appear in `{}`", param.name, resource.path),
                            )
                            .at(cap.span(&p_origin.child("name"))),
                            &format!("add `{{{}}}` to the resource path or change `in`", param.name),
                        );
                    }
                    if let Some(serde_yaml::Value::String(value)) = &param.value {
                        self.variables(value, &p_origin.child("value"));
                    }
                }
                self.outputs(&op.output_parameters, &op_origin.child("outputParameters"));
                self.binary(op, &op_origin);
                if let Some(serde_yaml::Value::String(template)) = &op.body {
                    let filled: String = template.replace("{{", "\"").replace("}}", "\"");
                    if serde_json::from_str::<serde_json::Value>(&filled).is_err()
                        && serde_json::from_str::<serde_json::Value>(&placeholder_free(template)).is_err()
                    {
                        self.push(
                            Diagnostic::error("invalid-body-template", "this body template is not JSON once its placeholders are filled")
                                .at(cap.span(&op_origin.child("body"))),
                            "write the body as JSON with `{{name}}` placeholders, quoted for strings",
                        );
                    }
                }
            }
        }
    }

    /// Checks a binary operation's contract (`outputRawFormat: binary`, `maxBinarySize`).
    fn binary(&mut self, op: &ConsumedOperation, origin: &Origin) {
        let cap = self.capability;
        if let Some(size) = &op.max_binary_size
            && crate::ir::parse_binary_size(size).is_none()
        {
            self.push(
                Diagnostic::error("invalid-binary-size", format!("`{size}` is not a size with a unit"))
                    .at(cap.span(&origin.child("maxBinarySize"))),
                "write a number and one of the units B, KiB, MiB, GiB, e.g. `512KiB` or `5MiB`",
            );
        }
        let binary = op.output_raw_format.as_deref() == Some("binary");
        if binary && valid(&op.output_parameters).next().is_some() {
            self.push(
                Diagnostic::warning("binary-output-parameters", "the `outputParameters` of a binary operation are not applied")
                    .at(cap.key_span(&origin.child("outputParameters"))),
                "a binary body is passed on as bytes; remove `outputParameters` or read the body as JSON",
            );
        }
        if !binary && op.max_binary_size.is_some() {
            self.push(
                Diagnostic::warning("binary-size-unused", "`maxBinarySize` applies only to `outputRawFormat: binary`")
                    .at(cap.key_span(&origin.child("maxBinarySize"))),
                "add `outputRawFormat: binary`, or remove `maxBinarySize`",
            );
        }
    }

    /// Checks `{{NAME}}` placeholders that refer to bound variables.
    fn variables(&mut self, text: &str, origin: &Origin) {
        for piece in naftiko::mustache(text) {
            if let Piece::Var(var) = piece {
                let name = naftiko::bind_variable(&var);
                if !self.bound.contains(name) {
                    let known: Vec<_> = self.bound.iter().cloned().collect();
                    let help = match closest(name, &known) {
                        Some(close) => format!("did you mean `{close}`? Otherwise declare it: `binds: [{{namespace: env, keys: {{{name}: {name}}}}}]`"),
                        None => format!("declare it: `binds: [{{namespace: env, keys: {{{name}: {name}}}}}]`"),
                    };
                    // The engine renders an unknown name as ""; capgen reads the environment
                    // variable of that name at run time (an implicit `env` bind).
                    self.push(
                        Diagnostic::warning(
                            "unbound-variable",
                            format!("`{{{{{var}}}}}` is not provided by any bind; it is read from environment variable `{name}`"),
                        )
                        .at(self.capability.span(origin)),
                        &help,
                    );
                }
            }
        }
    }

    fn auth(&mut self, auth: Option<&AuthSpec>, origin: &Origin) {
        let Some(auth) = auth else { return };
        let cap = self.capability;
        let required: &[(&str, &Option<String>)] = match auth.kind.to_ascii_lowercase().as_str() {
            "bearer" => &[("token", &auth.token)],
            "basic" | "digest" => &[("username", &auth.username), ("password", &auth.password)],
            "apikey" => &[("value", &auth.value)],
            "oauth2" => {
                self.push(
                    Diagnostic::error("unsupported-auth", "`oauth2` authentication is not supported").at(cap.span(&origin.child("type"))),
                    "use bearer (with a token obtained elsewhere), basic, apikey or digest",
                );
                return;
            }
            other => {
                self.push(
                    Diagnostic::error("unknown-auth", format!("authentication type `{other}` is not known"))
                        .at(cap.span(&origin.child("type"))),
                    "use bearer, basic, apikey or digest",
                );
                return;
            }
        };
        for (field, value) in required {
            match value {
                Some(value) => self.variables(value, &origin.child(field)),
                None => self.push(
                    Diagnostic::error("missing-field", format!("`{}` authentication needs `{field}`", auth.kind)).at(cap.span(origin)),
                    &format!("add `{field}: '{{{{env.NAME}}}}'`, bound through `binds`"),
                ),
            }
        }
    }

    /// Checks output parameter mappings: JSONPath syntax, nested shapes.
    fn outputs(&mut self, outputs: &List<OutputParam>, origin: &Origin) {
        self.invalid_items(outputs, origin, "an output parameter needs `type` and `mapping` or `value`");
        for (i, output) in valid(outputs) {
            self.output(output, &origin.item(i));
        }
    }

    fn output(&mut self, output: &OutputParam, origin: &Origin) {
        if let Some(mapping) = &output.mapping {
            self.json_path(mapping, &origin.child("mapping"));
        }
        if let Some(serde_yaml::Value::String(value)) = &output.value
            && value.starts_with('$')
        {
            self.json_path(value, &origin.child("value"));
        }
        if let Some(kind) = &output.kind
            && !["string", "number", "integer", "boolean", "object", "array"].contains(&kind.as_str())
        {
            self.push(
                Diagnostic::error("invalid-type", format!("output type `{kind}` is not known")).at(self.capability.span(&origin.child("type"))),
                "use string, number, integer, boolean, object or array",
            );
        }
        for (name, property) in output.properties.iter().flatten() {
            self.output(property, &origin.child("properties").child(name));
        }
        match &output.items {
            Some(OutputItems::One(item)) => self.output(item, &origin.child("items")),
            Some(OutputItems::Fields(fields)) => {
                for (i, field) in fields.iter().enumerate() {
                    self.output(field, &origin.child("items").item(i));
                }
            }
            None => {}
        }
    }

    /// `$.` (the whole value) is accepted as the model's shorthand; everything else must be
    /// RFC 9535 JSONPath.
    fn json_path(&mut self, path: &str, origin: &Origin) {
        if path == "$." || path == "$" {
            return;
        }
        let normalized = naftiko::normalize_jsonpath(path);
        // Too deep a nesting is refused before serde_json_path (exponential time, stack overflow).
        let error = match crate::expr::check_jsonpath_nesting(&normalized) {
            Err(err) => Some(err.message),
            Ok(()) => serde_json_path::JsonPath::parse(&normalized).err().map(|err| err.to_string()),
        };
        if let Some(err) = error {
            self.push(
                Diagnostic::error("invalid-jsonpath", format!("`{path}` is not a valid JSONPath: {err}")).at(self.capability.span(origin)),
                "write an RFC 9535 JSONPath such as `$.data[0].id` (or `$.` for the whole body)",
            );
        }
    }

    fn targets(&self) -> IndexMap<String, Target<'a>> {
        let mut targets = IndexMap::new();
        for api in &self.capability.consumes {
            for (_, resource) in valid(&api.resources) {
                for (_, operation) in valid(&resource.operations) {
                    targets.entry(format!("{}.{}", api.namespace, operation.name)).or_insert(Target { resource, operation });
                }
            }
        }
        targets
    }

    fn aggregate_functions(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if let Some(body) = self.capability.body() {
            for (_, aggregate) in valid(&body.aggregates) {
                for (_, function) in valid(&aggregate.functions) {
                    if let Some(name) = &function.name {
                        names.insert(format!("{}.{}", aggregate.namespace, name));
                    }
                }
            }
        }
        names
    }

    /// Reports an unknown `call`; returns the target when known. `skippable`: the call is a
    /// REST operation's or a tool's own, which is left out (a warning) when its target is unknown.
    fn call_target<'t>(
        &mut self,
        call: &str,
        origin: &Origin,
        targets: &'t IndexMap<String, Target<'a>>,
        skippable: bool,
    ) -> Option<&'t Target<'a>> {
        if let Some(target) = targets.get(call) {
            return Some(target);
        }
        if let Some(loose) = naftiko::loose_target(call, targets.keys().map(String::as_str)) {
            self.push(
                Diagnostic::warning("call-target-spelling", format!("`{call}` is read as `{loose}` (same name ignoring case and punctuation)"))
                    .at(self.capability.span(origin)),
                &format!("write `call: {loose}`"),
            );
            return targets.get(loose);
        }
        // Calls into a namespace whose import failed: the import's error says why.
        if call.split_once('.').is_some_and(|(namespace, _)| self.capability.unresolved_imports.iter().any(|n| n == namespace)) {
            return None;
        }
        let known: Vec<String> = targets.keys().cloned().collect();
        let help = match closest(call, &known) {
            Some(close) => format!("did you mean `{close}`?"),
            None if known.is_empty() => "this capability consumes no operations; add them under `consumes`".to_string(),
            None => format!("`call` names `<consumed namespace>.<operation>`; known: {}", preview(&known)),
        };
        let diagnostic = if skippable || self.capability.fragment {
            // The engine starts and fails this one operation when it is called.
            Diagnostic::warning("unknown-call-target", format!("`{call}` is not a consumed operation; this operation is not generated"))
        } else {
            Diagnostic::error("unknown-call-target", format!("`{call}` is not a consumed operation"))
        };
        self.push(diagnostic.at(self.capability.span(origin)).label("called here"), &help);
        None
    }

    /// Checks an exposed operation, tool or aggregate function. `arguments` is the set of
    /// argument names a REST caller can pass (`None` for MCP, whose schema is derived).
    fn invocation(
        &mut self,
        invocation: &Invocation,
        origin: &Origin,
        targets: &IndexMap<String, Target<'a>>,
        functions: &BTreeSet<String>,
        arguments: Option<&[String]>,
        skippable: bool,
    ) {
        let cap = self.capability;
        self.invalid_items(&invocation.input_parameters, &origin.child("inputParameters"), "a parameter needs `name` and `type`");
        self.invalid_items(&invocation.steps, &origin.child("steps"), "a step needs `type` and `name`");
        self.invalid_items(&invocation.mappings, &origin.child("mappings"), "a mapping needs `targetName` and `value`");
        self.outputs(&invocation.output_parameters, &origin.child("outputParameters"));
        for (i, param) in valid(&invocation.input_parameters) {
            self.input_param(param, &origin.child("inputParameters").item(i));
        }

        if let Some(reference) = &invocation.reference
            && !functions.contains(reference)
        {
            let known: Vec<String> = functions.iter().cloned().collect();
            self.push(
                Diagnostic::error("unknown-ref", format!("`{reference}` is not an aggregate function")).at(cap.span(&origin.child("ref"))),
                &match closest(reference, &known) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "`ref` names `<aggregate namespace>.<function>`".to_string(),
                },
            );
        }
        let mocked = valid(&invocation.output_parameters).any(|(_, p)| p.value.is_some() || p.constant.is_some());
        let has_steps = !invocation.steps.is_empty();
        if invocation.call.is_none() && invocation.reference.is_none() && !has_steps && !mocked {
            self.push(
                Diagnostic::error("missing-call", "this operation does not say what it does").at(cap.span(origin)),
                "add `call: <consumed namespace>.<operation>` (or `steps`, `ref`, or static output values)",
            );
        }
        if let Some(call) = &invocation.call
            && let Some(target) = self.call_target(call, &origin.child("call"), targets, skippable)
        {
            self.fills_path(invocation, target, origin, arguments, call);
        }
        let mut step_names: Vec<String> = Vec::new();
        for (s, step) in valid(&invocation.steps) {
            let s_origin = origin.child("steps").item(s);
            self.step(step, &s_origin, targets, &step_names);
            step_names.push(step.name.clone());
        }
        for (m, mapping) in valid(&invocation.mappings) {
            self.json_path(&mapping.value, &origin.child("mappings").item(m).child("value"));
        }
    }

    fn input_param(&mut self, param: &InputParam, origin: &Origin) {
        if let Some(kind) = &param.kind
            && !["string", "number", "integer", "boolean", "array", "object"].contains(&kind.as_str())
        {
            self.push(
                Diagnostic::error("invalid-type", format!("parameter type `{kind}` is not known")).at(self.capability.span(&origin.child("type"))),
                "use string, number, integer, boolean, array or object",
            );
        }
        if let Some(location) = &param.location
            && !["query", "header", "path", "cookie", "body"].contains(&location.as_str())
        {
            self.push(
                Diagnostic::error("invalid-location", format!("parameter location `{location}` is not known"))
                    .at(self.capability.span(&origin.child("in"))),
                "use one of: query, header, path, cookie, body",
            );
        }
    }

    fn step(&mut self, step: &Step, origin: &Origin, targets: &IndexMap<String, Target<'a>>, earlier: &[String]) {
        match step.kind.as_str() {
            "call" => match &step.call {
                Some(call) => {
                    self.call_target(call, &origin.child("call"), targets, false);
                }
                None => self.push(
                    Diagnostic::error("missing-field", "a `call` step needs `call`").at(self.capability.span(origin)),
                    "add `call: <consumed namespace>.<operation>`",
                ),
            },
            "lookup" => {
                let index = step.index.as_deref().unwrap_or_default();
                if !earlier.iter().any(|n| n == index) {
                    self.push(
                        Diagnostic::error("unknown-step", format!("lookup index `{index}` is not an earlier step"))
                            .at(self.capability.span(&origin.child("index"))),
                        &format!("earlier steps: {}", if earlier.is_empty() { "none".to_string() } else { earlier.join(", ") }),
                    );
                }
                if let Some(value) = &step.lookup_value {
                    self.json_path(value, &origin.child("lookupValue"));
                }
            }
            "script" => self.push(
                Diagnostic::warning("unsupported-step", "`script` steps are not supported; the operation using it is not generated")
                    .at(self.capability.span(&origin.child("type"))),
                "replace the script with `call` and `lookup` steps plus `mappings`",
            ),
            other => self.push(
                Diagnostic::error("unknown-step-type", format!("step type `{other}` is not known")).at(self.capability.span(&origin.child("type"))),
                "use `call` or `lookup`",
            ),
        }
    }

    /// Every path variable of the called operation must be filled by an argument, a `with`
    /// entry, or a fixed value.
    fn fills_path(&mut self, invocation: &Invocation, target: &Target<'_>, origin: &Origin, arguments: Option<&[String]>, call: &str) {
        let Some(arguments) = arguments else { return };
        let fixed: Vec<&str> = valid(&target.resource.input_parameters)
            .chain(valid(&target.operation.input_parameters))
            .filter(|(_, p)| p.value.is_some())
            .map(|(_, p)| p.name.as_str())
            .collect();
        for var in naftiko::path_variables(&target.resource.path) {
            let filled = fixed.iter().any(|f| f.eq_ignore_ascii_case(&var))
                || invocation.with.keys().any(|k| k.eq_ignore_ascii_case(&var))
                || arguments.iter().any(|a| a.eq_ignore_ascii_case(&var));
            if !filled {
                self.push(
                    Diagnostic::warning(
                        "path-parameter-from-query",
                        format!("nothing in the exposed route fills path parameter `{var}` of `{call}`; callers pass it as query parameter `{var}`"),
                    )
                    .at(self.capability.span(&origin.child("call"))),
                    &format!("add a path variable `{{{var}}}` to the exposed path, an input parameter `{var}`, or `with: {{{var}: ...}}`"),
                );
            }
        }
    }
}

/// The template with every placeholder replaced by `null`, for a JSON syntax check.
fn placeholder_free(template: &str) -> String {
    naftiko::mustache(template)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            Piece::Var(_) => "null".to_string(),
        })
        .collect()
}

fn preview(names: &[String]) -> String {
    let mut text = names.iter().take(5).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        text.push_str(&format!(" and {} more", names.len() - 5));
    }
    text
}

/// The known name closest to `name` (case-insensitive edit distance), if close enough.
pub fn closest<'n>(name: &str, known: &'n [String]) -> Option<&'n str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(row[j + 1]) };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names() {
        let known = vec!["ns.list-ships".to_string(), "ns.get-ship".to_string()];
        assert_eq!(closest("ns.list-ship", &known), Some("ns.list-ships"));
        assert_eq!(closest("other.thing", &known), None);
    }
}
