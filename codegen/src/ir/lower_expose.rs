//! Lowering of `exposes` and `aggregates` into [`Exposed`] units and the REST and MCP adapters
//! that route to them.
//!
//! Argument flow (design.md): every caller argument passes through to the consumed operation
//! under the same name (matched case-insensitively); `with` renames or overrides; a consumed
//! parameter nothing else fills becomes an argument of its own.

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;

use crate::diagnostics::Span;
use crate::ir::build::{normalise_path, shape, spec_value};
use crate::ir::expose::*;
use crate::ir::names;
use crate::ir::workflow::{InputType, Workflow};
use crate::ir::{BindVar, ConsumedApi, ParamLocation, ResponseBody, Shape, TypeRef};
use crate::parse::naftiko::{self, AuthSpec, Capability, Exposes, Invocation, Lenient, Origin, OutputParam, Piece, valid};

/// What [`lower`] produces.
pub struct Exposure {
    pub exposed: Vec<Exposed>,
    pub rest: Vec<RestAdapter>,
    pub mcp: Vec<McpAdapter>,
}

/// Lowers every exposed adapter and aggregate function of a validated capability.
pub fn lower(capability: &Capability, apis: &[ConsumedApi], binds: &[BindVar], workflows: &[Workflow]) -> Exposure {
    let mut lowering = Lowering::new(Some(capability), apis);
    let Some(body) = capability.body() else {
        return Exposure { exposed: Vec::new(), rest: Vec::new(), mcp: Vec::new() };
    };

    // Aggregate functions first: tools may `ref` them.
    for (a, aggregate) in valid(&body.aggregates) {
        for (f, function) in valid(&aggregate.functions) {
            let origin = capability.at(format!("/capability/aggregates/{a}/functions/{f}"));
            // Unknown call targets (a stand-alone document's): left out, as validation warned.
            if lowering.calls_nothing(function) {
                continue;
            }
            let name = function.name.clone().unwrap_or_else(|| format!("function-{f}"));
            let index = lowering.invocation(function, &name, &origin, None);
            lowering.functions.insert(format!("{}.{}", aggregate.namespace, name), index);
        }
    }

    let mut rest = Vec::new();
    let mut mcp = Vec::new();
    for (e, exposes) in valid(&body.exposes) {
        let origin = capability.at(format!("/capability/exposes/{e}"));
        match exposes {
            Exposes::Rest(adapter) => {
                let mut routes = Vec::new();
                let mut seen = BTreeSet::new();
                for (r, resource) in valid(&adapter.resources) {
                    let path = normalise_path(&resource.path);
                    let path_vars = naftiko::path_variables(&path);
                    for (o, op) in valid(&resource.operations) {
                        let op_origin = origin.child("resources").item(r).child("operations").item(o);
                        let method = op.method.clone().unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                        // A route equal to an earlier one is never reached (`shadowed-route`).
                        if !seen.insert(naftiko::route_key(&method, &resource.path)) || lowering.calls_nothing(op) {
                            continue;
                        }
                        let name = op.name.clone().unwrap_or_else(|| format!("{} {}", method.to_ascii_lowercase(), path));
                        // Resource-level parameters apply to each of its operations.
                        let mut merged = op.clone();
                        let mut params = resource.input_parameters.clone();
                        params.extend(op.input_parameters.iter().cloned());
                        merged.input_parameters = params;
                        let function = op.reference.as_ref().and_then(|r| lowering.functions.get(r).copied());
                        let index = match function {
                            // `ref` alone: the aggregate function's behaviour at this route.
                            Some(function) if op.call.is_none() && op.steps.is_empty() => {
                                lowering.rest_alias(function, &name, op.description.clone(), &path_vars)
                            }
                            _ => lowering.invocation(&merged, &name, &op_origin, Some(&path_vars)),
                        };
                        lowering.rest_responses(index, op);
                        routes.push(Route {
                            method,
                            path: path.clone(),
                            name: op.name.clone(),
                            description: op.description.clone().or_else(|| resource.description.clone()),
                            exposed: index,
                        });
                    }
                }
                rest.push(RestAdapter {
                    namespace: adapter.namespace.clone(),
                    description: adapter.description.clone(),
                    port: adapter.port.unwrap_or(8080),
                    auth: inbound_auth(adapter.authentication.as_ref(), binds),
                    routes,
                    span: capability.span(&origin),
                });
            }
            Exposes::Mcp(adapter) => {
                let mut tools = Vec::new();
                for (t, tool) in valid(&adapter.tools) {
                    if lowering.calls_nothing(tool) {
                        continue;
                    }
                    let tool_origin = origin.child("tools").item(t);
                    let name = tool.name.clone().unwrap_or_else(|| format!("tool-{t}"));
                    let (index, semantics_hints) = match tool.reference.as_ref().and_then(|r| lowering.functions.get(r).copied()) {
                        Some(function) => {
                            let index = lowering.alias(function, &name, tool.description.clone());
                            let hints = lowering.function_hints(tool.reference.as_deref().unwrap_or_default());
                            (index, hints)
                        }
                        None => (lowering.invocation(tool, &name, &tool_origin, None), Hints::default()),
                    };
                    let hints = tool.hints.as_ref().map_or(semantics_hints, |h| Hints {
                        read_only: h.read_only,
                        destructive: h.destructive,
                        idempotent: h.idempotent,
                        open_world: h.open_world,
                    });
                    tools.push(Tool { name, title: tool.label.clone(), description: tool.description.clone(), exposed: index, hints });
                }
                let mut resources = Vec::new();
                for (r, resource) in valid(&adapter.resources) {
                    let r_origin = origin.child("resources").item(r);
                    let exposed = resource.call.as_ref().map(|call| {
                        let invocation = Invocation {
                            name: Some(resource.name.clone()),
                            label: resource.label.clone(),
                            description: resource.description.clone(),
                            method: None,
                            input_parameters: Vec::new(),
                            reference: None,
                            call: Some(call.clone()),
                            with: resource.with.clone(),
                            steps: Vec::new(),
                            mappings: Vec::new(),
                            hints: None,
                            semantics: None,
                            output_parameters: resource.output_parameters.clone(),
                            responses: IndexMap::new(),
                            response_binary: None,
                        };
                        lowering.invocation(&invocation, &format!("resource-{}", resource.name), &r_origin, None)
                    });
                    let text = resource.location.as_ref().and_then(|location| {
                        let referrer = r_origin.file.clone().unwrap_or_else(|| capability.path.clone());
                        std::fs::read_to_string(naftiko::resolve_location(&referrer, location)).ok()
                    });
                    resources.push(McpResource {
                        name: resource.name.clone(),
                        title: resource.label.clone(),
                        uri: resource.uri.clone(),
                        description: resource.description.clone(),
                        mime_type: resource.mime_type.clone(),
                        exposed,
                        text,
                    });
                }
                let prompts = valid(&adapter.prompts)
                    .map(|(_, prompt)| McpPrompt {
                        name: prompt.name.clone(),
                        title: prompt.label.clone(),
                        description: prompt.description.clone(),
                        arguments: prompt.arguments.iter().map(|a| (a.name.clone(), a.description.clone(), a.required.unwrap_or(false))).collect(),
                        messages: prompt.template.iter().map(|m| (m.role.clone(), m.content.clone())).collect(),
                    })
                    .collect();
                mcp.push(McpAdapter {
                    namespace: adapter.namespace.clone(),
                    description: adapter.description.clone(),
                    port: adapter.port.unwrap_or(9090),
                    stdio_preferred: adapter.transport.as_deref() == Some("stdio"),
                    auth: inbound_auth(adapter.authentication.as_ref(), binds),
                    cache: CacheHints { ttl_ms: adapter.ttl_ms, scope: adapter.cache_scope.clone() },
                    tools,
                    resources,
                    prompts,
                    span: capability.span(&origin),
                });
            }
            Exposes::Skill(_) | Exposes::Control(_) => {}
        }
    }
    lowering.expose_workflows(workflows, &mut rest, &mut mcp);
    Exposure { exposed: lowering.exposed, rest, mcp }
}

/// Without a capability: the workflows alone, served by one REST adapter (port 8080) and one MCP
/// server (port 9090), both without inbound authentication (they bind to loopback by default).
pub fn lower_workflows(title: &str, description: Option<&str>, apis: &[ConsumedApi], workflows: &[Workflow]) -> Exposure {
    let mut lowering = Lowering::new(None, apis);
    let span = workflows.first().map(|w| w.span.clone()).unwrap_or_else(|| Span::file_start(std::sync::Arc::from(std::path::Path::new(""))));
    let mut rest = vec![RestAdapter {
        namespace: "workflows".to_string(),
        description: description.map(str::to_string),
        port: 8080,
        auth: None,
        routes: Vec::new(),
        span: span.clone(),
    }];
    let mut mcp = vec![McpAdapter {
        namespace: "workflows".to_string(),
        description: Some(description.map_or_else(|| format!("Runs the workflows of {title}."), str::to_string)),
        port: 9090,
        stdio_preferred: false,
        auth: None,
        cache: CacheHints::default(),
        tools: Vec::new(),
        resources: Vec::new(),
        prompts: Vec::new(),
        span,
    }];
    lowering.expose_workflows(workflows, &mut rest, &mut mcp);
    if lowering.exposed.is_empty() {
        return Exposure { exposed: Vec::new(), rest: Vec::new(), mcp: Vec::new() };
    }
    Exposure { exposed: lowering.exposed, rest, mcp }
}

fn inbound_auth(auth: Option<&AuthSpec>, binds: &[BindVar]) -> Option<InboundAuth> {
    let auth = auth?;
    let value = |text: &Option<String>| spec_value(text.as_deref().unwrap_or_default(), binds);
    match auth.kind.to_ascii_lowercase().as_str() {
        "bearer" => Some(InboundAuth::Bearer { token: value(&auth.token) }),
        "basic" => Some(InboundAuth::Basic { username: value(&auth.username), password: value(&auth.password) }),
        "apikey" => Some(InboundAuth::ApiKey {
            name: auth.key.clone().or_else(|| auth.name.clone()).unwrap_or_else(|| "X-Api-Key".into()),
            value: value(&auth.value),
            in_query: auth.placement.as_deref().or(auth.location.as_deref()) == Some("query"),
        }),
        _ => None,
    }
}

struct Lowering<'a> {
    capability: Option<&'a Capability>,
    apis: &'a [ConsumedApi],
    exposed: Vec<Exposed>,
    fn_names: BTreeSet<String>,
    /// Argument type names taken.
    type_names: BTreeSet<String>,
    /// `<aggregate namespace>.<function>` → index into `exposed`.
    functions: IndexMap<String, usize>,
    /// (namespace, operation name) → (index into `apis`, index into its operations): the first
    /// of each, as a scan would find it. A scan per call was quadratic in the operations
    /// (0.3 s of 4 s at 5,000).
    operations: HashMap<(&'a str, &'a str), (usize, usize)>,
}

impl<'a> Lowering<'a> {
    fn new(capability: Option<&'a Capability>, apis: &'a [ConsumedApi]) -> Self {
        let mut operations = HashMap::new();
        let mut namespaces = BTreeSet::new();
        // Only the first API of a namespace is searched, as before.
        for (a, api) in apis.iter().enumerate().filter(|(_, api)| namespaces.insert(api.namespace.as_str())) {
            for (o, op) in api.operations.iter().enumerate() {
                operations.entry((api.namespace.as_str(), op.name.as_str())).or_insert((a, o));
            }
        }
        Lowering { capability, apis, exposed: Vec::new(), fn_names: BTreeSet::new(), type_names: BTreeSet::new(), functions: IndexMap::new(), operations }
    }

    fn push(&mut self, mut exposed: Exposed) -> usize {
        exposed.fn_name = names::unique(exposed.fn_name, &mut self.fn_names);
        // `get_item_7` and `getitem7` are different functions but the same CamelCase name.
        exposed.args_type = names::unique(names::camel_ident(&format!("{}_args", exposed.fn_name)), &mut self.type_names);
        self.exposed.push(exposed);
        self.exposed.len() - 1
    }

    /// Every workflow is also an operation: `POST /workflows/{workflowId}` on each REST adapter,
    /// a tool named after it on each MCP server.
    fn expose_workflows(&mut self, workflows: &[Workflow], rest: &mut [RestAdapter], mcp: &mut [McpAdapter]) {
        for (index, workflow) in workflows.iter().enumerate().filter(|(_, w)| w.unsupported.is_none()) {
            let exposed = self.workflow(index, workflow);
            for adapter in rest.iter_mut() {
                adapter.routes.push(Route {
                    method: "POST".to_string(),
                    path: format!("/workflows/{}", workflow.workflow_id),
                    name: Some(workflow.workflow_id.clone()),
                    description: workflow.summary.clone().or_else(|| workflow.description.clone()),
                    exposed,
                });
            }
            for adapter in mcp.iter_mut() {
                adapter.tools.push(Tool {
                    name: workflow.workflow_id.clone(),
                    title: workflow.summary.clone(),
                    description: workflow.description.clone().or_else(|| workflow.summary.clone()),
                    exposed,
                    hints: Hints { read_only: None, destructive: None, idempotent: None, open_world: Some(true) },
                });
            }
        }
    }

    /// A workflow run as an exposed unit: its inputs, plus the polling controls.
    fn workflow(&mut self, index: usize, workflow: &Workflow) -> usize {
        let mut inputs: Vec<Input> = workflow
            .inputs
            .iter()
            .map(|field| Input {
                name: field.name.clone(),
                rust_name: field.rust_name.clone(),
                ty: match field.ty {
                    InputType::String => TypeRef::String,
                    InputType::Integer => TypeRef::Integer,
                    InputType::Number => TypeRef::Number,
                    InputType::Boolean => TypeRef::Boolean,
                    InputType::Json => TypeRef::Json,
                },
                required: field.required,
                description: field.description.clone(),
                json_type: None,
                location: InputLocation::BodyField,
            })
            .collect();
        for (name, ty, description) in [
            (RETRY_UNMATCHED, TypeRef::Integer, "Poll: retry a step whose success criteria are unmet up to this many times."),
            (RETRY_AFTER_SECONDS, TypeRef::Number, "Seconds to wait between those retries (default 1)."),
        ] {
            inputs.push(Input {
                name: name.to_string(),
                rust_name: names::snake_ident(name),
                ty,
                required: false,
                description: Some(description.to_string()),
                json_type: None,
                location: InputLocation::BodyField,
            });
        }
        let description = [workflow.summary.clone(), workflow.description.clone()].into_iter().flatten().collect::<Vec<_>>().join("\n\n");
        self.push(Exposed {
            name: workflow.workflow_id.clone(),
            fn_name: format!("run_{}", workflow.fn_name),
            args_type: String::new(),
            description: Some(description).filter(|d| !d.is_empty()),
            inputs,
            action: Action::Workflow(index),
            output: None,
            binary: None,
            span: workflow.span.clone(),
        })
    }

    /// A tool that `ref`s a function: the function's behaviour under the tool's name.
    fn alias(&mut self, function: usize, name: &str, description: Option<String>) -> usize {
        let mut exposed = self.exposed[function].clone();
        exposed.name = name.to_string();
        exposed.fn_name = names::snake_ident(name);
        if description.is_some() {
            exposed.description = description;
        }
        self.push(exposed)
    }

    /// A REST operation that `ref`s a function: the function under the operation's name, its
    /// arguments named in the route path read from the path.
    fn rest_alias(&mut self, function: usize, name: &str, description: Option<String>, path_vars: &[String]) -> usize {
        let index = self.alias(function, name, description);
        for input in &mut self.exposed[index].inputs {
            if path_vars.iter().any(|v| v.eq_ignore_ascii_case(&input.name)) {
                input.location = InputLocation::Path;
            } else if input.location == InputLocation::Path {
                input.location = InputLocation::Query;
            }
        }
        index
    }

    /// Applies a REST operation's binary response contract (`responseBinary`, or the first 2xx
    /// entry of `responses` with a `binary: true` media type) to a binary result: its status,
    /// media type and description. A contract on a JSON result is reported by validation.
    fn rest_responses(&mut self, index: usize, op: &Invocation) {
        let contract = match &op.response_binary {
            Some(shorthand) => Some((shorthand.status.unwrap_or(200), shorthand.media_type.clone(), shorthand.description.clone())),
            None => op.responses.iter().find_map(|(status, response)| {
                let status: u16 = status.parse().ok().filter(|s| (200..300).contains(s))?;
                let (media_type, _) = response.content.iter().find(|(_, content)| content.binary)?;
                Some((status, media_type.clone(), response.description.clone()))
            }),
        };
        let (Some((status, media_type, description)), Some(binary)) = (contract, self.exposed[index].binary.as_mut()) else { return };
        *binary = BinaryResult { media_type: Some(media_type), status, description };
    }

    fn function_hints(&self, reference: &str) -> Hints {
        let Some((namespace, name)) = reference.split_once('.') else { return Hints::default() };
        let Some(body) = self.capability.and_then(Capability::body) else { return Hints::default() };
        let semantics = valid(&body.aggregates)
            .filter(|(_, a)| a.namespace == namespace)
            .flat_map(|(_, a)| valid(&a.functions).map(|(_, f)| f))
            .find(|f| f.name.as_deref() == Some(name))
            .and_then(|f| f.semantics.clone());
        match semantics {
            Some(semantics) => Hints {
                read_only: semantics.safe,
                destructive: None,
                idempotent: semantics.idempotent.or(semantics.safe),
                open_world: None,
            },
            None => Hints::default(),
        }
    }

    /// Lowers one REST operation, tool or function. `path_vars` are the variables of a REST
    /// resource path (arguments the caller always passes); `None` for MCP and functions.
    fn invocation(&mut self, invocation: &Invocation, name: &str, origin: &Origin, path_vars: Option<&[String]>) -> usize {
        let mut inputs = Inputs::default();
        for (_, param) in valid(&invocation.input_parameters) {
            let location = match param.location.as_deref() {
                Some("path") => InputLocation::Path,
                Some("query") => InputLocation::Query,
                Some("header") => InputLocation::Header,
                Some("body") if param.name == "body" => InputLocation::Body,
                _ => InputLocation::BodyField,
            };
            inputs.add(Input {
                name: param.name.clone(),
                rust_name: String::new(),
                ty: declared_type(param.kind.as_deref()),
                required: param.required.unwrap_or(location == InputLocation::Path),
                description: param.description.clone(),
                json_type: param.kind.clone(),
                location,
            });
        }
        for var in path_vars.unwrap_or_default() {
            if inputs.find(var).is_none() {
                inputs.add(Input {
                    name: var.clone(),
                    rust_name: String::new(),
                    ty: TypeRef::String,
                    required: true,
                    description: None,
                    json_type: None,
                    location: InputLocation::Path,
                });
            }
        }

        let action = if let Some(call) = &invocation.call {
            match self.call(call, &invocation.with, &mut inputs) {
                Some(call) => Action::Call(call),
                None => Action::Mock,
            }
        } else if !invocation.steps.is_empty() {
            let mut steps = Vec::new();
            for (_, step) in valid(&invocation.steps) {
                match step.kind.as_str() {
                    "call" => {
                        if let Some(call) = step.call.as_ref().and_then(|c| self.call(c, &step.with, &mut inputs)) {
                            steps.push(Step::Call { name: step.name.clone(), call });
                        }
                    }
                    "lookup" => steps.push(Step::Lookup {
                        name: step.name.clone(),
                        index: step.index.clone().unwrap_or_default(),
                        match_field: step.match_field.clone().unwrap_or_default(),
                        lookup_value: naftiko::normalize_jsonpath(step.lookup_value.as_deref().unwrap_or("$")),
                        fields: step.output_parameters.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                    }),
                    _ => {}
                }
            }
            let mappings = valid(&invocation.mappings)
                .map(|(_, m)| (m.target_name.clone(), Shape::Path(Some(naftiko::normalize_jsonpath(&m.value)))))
                .collect();
            Action::Steps { steps, mappings }
        } else {
            Action::Mock
        };

        let binary = match &action {
            Action::Call(call) => match &self.apis[call.api].operations[call.operation].response_body {
                ResponseBody::Binary(body) => {
                    Some(BinaryResult { media_type: body.media_type.clone(), status: 200, description: None })
                }
                ResponseBody::Json => None,
            },
            _ => None,
        };
        // Bytes are passed on as they are (`binary-output-parameters`).
        let output = match action {
            Action::Steps { .. } => None,
            _ if binary.is_some() => None,
            _ => output_shape(&invocation.output_parameters, matches!(action, Action::Mock)),
        };
        // A path argument the REST route has no variable for is read from the query string
        // (`path-parameter-from-query`).
        if let Some(vars) = path_vars {
            for input in &mut inputs.list {
                if input.location == InputLocation::Path && !vars.iter().any(|v| v.eq_ignore_ascii_case(&input.name)) {
                    input.location = InputLocation::Query;
                }
            }
        }
        let inputs = inputs.finish();
        // A run-together name (`listdatabasebackups`) borrows the word boundaries the called
        // operation's name already recovered.
        let fn_name = match &action {
            Action::Call(call) => {
                let op = &self.apis[call.api].operations[call.operation];
                if op.name.eq_ignore_ascii_case(name) { op.fn_name.clone() } else { names::snake_ident(name) }
            }
            _ => names::snake_ident(name),
        };
        self.push(Exposed {
            name: name.to_string(),
            fn_name,
            args_type: String::new(),
            description: invocation.description.clone().or_else(|| invocation.label.clone()),
            inputs,
            action,
            output,
            binary,
            span: match self.capability {
                Some(capability) => capability.span(origin),
                None => Span::file_start(std::sync::Arc::from(std::path::Path::new(""))),
            },
        })
    }

    /// The consumed operation `call` names: exactly, else the one equal ignoring case and
    /// punctuation (`call-target-spelling`).
    fn target(&self, call: &str) -> Option<(usize, usize)> {
        let (namespace, operation) = call.split_once('.')?;
        if let Some(&found) = self.operations.get(&(namespace, operation)) {
            return Some(found);
        }
        let (namespace, operation) = (naftiko::loose_name(namespace), naftiko::loose_name(operation));
        let mut found = self
            .operations
            .iter()
            .filter(|((n, o), _)| naftiko::loose_name(n) == namespace && naftiko::loose_name(o) == operation)
            .map(|(_, &at)| at);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// A REST operation, tool or aggregate function whose `call`, step calls or `ref` name
    /// nothing known is left out (`unknown-call-target`).
    fn calls_nothing(&self, invocation: &Invocation) -> bool {
        let unknown = |call: Option<&str>| call.is_some_and(|call| self.target(call).is_none());
        let unknown_ref = invocation.call.is_none()
            && invocation.steps.is_empty()
            && invocation.reference.as_ref().is_some_and(|r| !self.functions.contains_key(r));
        unknown(invocation.call.as_deref())
            || valid(&invocation.steps).any(|(_, step)| step.kind == "call" && unknown(step.call.as_deref()))
            || unknown_ref
    }

    /// Binds a consumed operation's parameters: `with` first, then arguments of the same name,
    /// else a new argument named after the parameter.
    fn call(&self, target: &str, with: &IndexMap<String, serde_yaml::Value>, inputs: &mut Inputs) -> Option<Call> {
        let (api, op_index) = self.target(target)?;
        let op = &self.apis[api].operations[op_index];
        let mut args = Vec::with_capacity(op.params.len());
        for param in &op.params {
            let location = match param.location {
                ParamLocation::Path => InputLocation::Path,
                ParamLocation::Query | ParamLocation::Cookie => InputLocation::Query,
                ParamLocation::Header => InputLocation::Header,
                ParamLocation::Body => InputLocation::Body,
                ParamLocation::BodyField | ParamLocation::Template => InputLocation::BodyField,
            };
            let new_input = |name: &str| Input {
                name: name.to_string(),
                rust_name: String::new(),
                ty: param.ty.clone(),
                required: param.required,
                description: param.description.clone(),
                json_type: param.json_type.clone(),
                location,
            };
            let bound = with.iter().find(|(key, _)| key.eq_ignore_ascii_case(&param.name)).map(|(_, value)| value);
            let value = match bound {
                Some(value) => match argument_reference(value) {
                    Some(Reference::Argument(name)) => {
                        let index = inputs.find(&name).unwrap_or_else(|| inputs.add(new_input(&name)));
                        inputs.adopt(index, param);
                        Some(ArgValue::Input(index))
                    }
                    Some(Reference::Template(pieces)) => Some(ArgValue::Template(
                        pieces
                            .into_iter()
                            .map(|piece| match piece {
                                Piece::Text(text) => TemplatePiece::Text(text),
                                Piece::Var(name) => {
                                    let index = inputs.find(&name).unwrap_or_else(|| {
                                        inputs.add(Input { ty: TypeRef::String, required: true, ..new_input(&name) })
                                    });
                                    TemplatePiece::Input(index)
                                }
                            })
                            .collect(),
                    )),
                    None => Some(ArgValue::Literal(serde_json::to_value(value).unwrap_or_default())),
                },
                None => {
                    let index = inputs.find(&param.name).unwrap_or_else(|| inputs.add(new_input(&param.name)));
                    inputs.adopt(index, param);
                    Some(ArgValue::Input(index))
                }
            };
            args.push(value);
        }
        Some(Call { api, operation: op_index, args })
    }
}

enum Reference {
    Argument(String),
    Template(Vec<Piece>),
}

/// Reads a `with` value: `rest.x`, `tools.x`, `<namespace>.x`, `$this.<namespace>.x` and
/// `{{x}}` name the caller's argument `x`; text with placeholders is a template; anything
/// else is a literal.
fn argument_reference(value: &serde_yaml::Value) -> Option<Reference> {
    let text = value.as_str()?;
    let pieces = naftiko::mustache(text);
    match pieces.as_slice() {
        [Piece::Var(name)] => return Some(Reference::Argument(name.clone())),
        pieces if pieces.iter().any(|p| matches!(p, Piece::Var(_))) => return Some(Reference::Template(pieces.to_vec())),
        _ => {}
    }
    let text = text.strip_prefix("$this.").unwrap_or(text);
    let (prefix, name) = text.rsplit_once('.')?;
    let is_identifier = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (is_identifier(prefix.rsplit('.').next().unwrap_or(prefix)) && is_identifier(name) && !text.contains(' '))
        .then(|| Reference::Argument(name.to_string()))
}

/// Arguments being collected for one exposed unit.
#[derive(Default)]
struct Inputs {
    list: Vec<Input>,
    /// Whether a consumed parameter has fixed the type.
    typed: Vec<bool>,
}

impl Inputs {
    fn find(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|i| i.name == name).or_else(|| self.list.iter().position(|i| i.name.eq_ignore_ascii_case(name)))
    }

    fn add(&mut self, input: Input) -> usize {
        self.list.push(input);
        self.typed.push(false);
        self.list.len() - 1
    }

    /// The argument feeds `param`: it takes the parameter's type, and is required if the
    /// parameter is.
    fn adopt(&mut self, index: usize, param: &crate::ir::Param) {
        let input = &mut self.list[index];
        if !self.typed[index] {
            input.ty = param.ty.clone();
            self.typed[index] = true;
        }
        input.required |= param.required && param.location == ParamLocation::Path;
        if input.description.is_none() {
            input.description = param.description.clone();
        }
        if input.json_type.is_none() {
            input.json_type = param.json_type.clone();
        }
    }

    fn finish(self) -> Vec<Input> {
        let mut taken = BTreeSet::new();
        self.list
            .into_iter()
            .map(|mut input| {
                input.rust_name = names::unique(names::snake_ident(&input.name), &mut taken);
                input
            })
            .collect()
    }
}

fn declared_type(kind: Option<&str>) -> TypeRef {
    match kind {
        Some("integer") => TypeRef::Integer,
        Some("number") => TypeRef::Number,
        Some("boolean") => TypeRef::Boolean,
        Some("array") | Some("object") => TypeRef::Json,
        _ => TypeRef::String,
    }
}

/// An exposed unit's `outputParameters` → the shape of its result. `mock` outputs read the
/// arguments: `{{x}}` is argument `x`.
fn output_shape(params: &[Lenient<OutputParam>], mock: bool) -> Option<Shape> {
    let list: Vec<&OutputParam> = valid(params).map(|(_, p)| p).collect();
    let whole = |p: &OutputParam| {
        p.properties.is_none() && p.items.is_none() && matches!(p.mapping.as_deref(), None | Some("$") | Some("$."))
    };
    match list.as_slice() {
        [] => None,
        [single] if single.name.is_none() && whole(single) && !mock => None,
        [single] if single.name.is_none() => Some(shape(single)),
        many => Some(Shape::Nested {
            mapping: None,
            fields: many
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let name = p.name.clone().unwrap_or_else(|| format!("output{i}"));
                    let value = match p.value.as_ref().and_then(|v| v.as_str()) {
                        Some(text) if mock => match naftiko::mustache(text).as_slice() {
                            [Piece::Var(arg)] => Shape::Path(Some(format!("$['{}']", arg.replace('\'', "\\'")))),
                            _ => Shape::Const(serde_json::Value::String(text.to_string())),
                        },
                        _ => shape(p),
                    };
                    (name, value)
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::{Inputs, Settings, generate};

    /// `arazzo` adds the seed workflow, whose OpenAPI document types the seed's operations.
    fn lowered(capability: &str, with_openapi: bool) -> crate::ir::Ir {
        let arazzo = if with_openapi {
            vec![PathBuf::from("../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")]
        } else {
            Vec::new()
        };
        let inputs = Inputs { capability: Some(PathBuf::from(capability)), arazzo, ..Inputs::default() };
        generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{f}")).ir
    }

    #[test]
    fn seed_arguments_flow_by_name_and_with() {
        let ir = lowered("../specs/prisma/capabilities/postgres-management-database-backups.yaml", true);
        let rest = &ir.rest[0];
        // The spec's three routes, then the workflow's `POST /workflows/backup-and-restore-database`.
        assert_eq!(rest.routes.len(), 4);
        assert_eq!((rest.routes[3].method.as_str(), rest.routes[3].path.as_str()), ("POST", "/workflows/backup-and-restore-database"));
        let restore = &ir.exposed[rest.routes[2].exposed];
        assert_eq!(restore.fn_name, "restore_database_backup");
        let names: Vec<_> = restore.inputs.iter().map(|i| (i.name.as_str(), i.location, i.required)).collect();
        // `{databaseid}` fills the consumed `{databaseId}` (case-insensitive); `with: backupId: rest.backupId`
        // reads the path variable `{backupid}`.
        assert_eq!(names, [("databaseid", InputLocation::Path, true), ("backupid", InputLocation::Path, true)]);
        let Action::Call(call) = &restore.action else { panic!("a call") };
        assert_eq!(call.args, [Some(ArgValue::Input(0)), Some(ArgValue::Input(1))]);

        // MCP: the derived schema is the union of the consumed path parameters and `with` names.
        let tools = &ir.mcp[0].tools;
        assert_eq!(tools.len(), 4, "three tools and the workflow");
        let create = &ir.exposed[tools[1].exposed];
        assert_eq!(
            create.input_schema(),
            serde_json::json!({
                "type": "object",
                "properties": {
                    "databaseId": { "type": "string", "description": "Unique identifier of the database" },
                    "body": { "type": "object", "description": "Request body (JSON)." }
                },
                "required": ["databaseId"]
            })
        );
        assert_eq!(tools[0].hints, Hints { read_only: Some(true), destructive: Some(false), idempotent: Some(true), open_world: None });
    }

    #[test]
    fn tutorial_aggregates_and_mocks() {
        let ir = lowered("../tests/corpus/naftiko-framework-alpha2/tutorial/step-9-shipyard-aggregates.yml", false);
        let tool = ir.mcp[0].tools.iter().find(|t| t.name == "get-ship-with-crew").expect("tool");
        let exposed = &ir.exposed[tool.exposed];
        assert!(matches!(&exposed.action, Action::Steps { steps, mappings } if steps.len() == 3 && mappings.len() == 9));
        assert_eq!(tool.hints.read_only, Some(true), "semantics.safe → readOnlyHint");

        let ir = lowered("../tests/corpus/naftiko-framework-alpha2/tutorial/step-1-shipyard-mock.yml", false);
        let mock = &ir.exposed[ir.mcp[0].tools[0].exposed];
        assert!(matches!(mock.action, Action::Mock));
        assert_eq!(mock.inputs[0].name, "imo_number");
    }
}
