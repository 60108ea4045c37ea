//! Workflow emitter: one `async fn` per Arazzo workflow (the `workflows` module).
//!
//! For a workflow `w` it writes `WInputs` / `WOutputs`, `pub async fn w(clients, inputs, options)`,
//! `pub async fn w_traced(…)` (the same run plus its trace) and a private `run_w` that walks the
//! steps: a `loop` over a `match` on the current step, each arm building the request, sending it,
//! checking the compiled success criteria and choosing the next step. Everything generic (budget,
//! deadline, retries, trace, comparisons) is in `capgen_runtime::workflow`. `run_w` is generic over
//! the run's `Executor`, so the durable variant (`emit::restate`, Restate) reuses it unchanged.

use std::collections::BTreeSet;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value as Json;

use crate::emit::client::{doc_lines, inner_docs};
use crate::expr::CompareOp;
use crate::ir::{Ir, names};
use crate::ir::workflow::{
    Action, ActionKind, BodyEncoding, Call, Check, Cond, Criterion, InputField, InputType, OutputType, PathSegment, Step, StepKind, TextPart,
    Value, Workflow,
};

/// The `workflows` module.
pub fn emit_workflows(ir: &Ir) -> TokenStream {
    let mut module_docs = vec![
        Some("Arazzo workflows compiled to Rust: one `async fn` per workflow, plus a `_traced` variant that".to_string()),
        Some("also returns the trace of every step attempt. Runs are bounded by".to_string()),
        Some("[`RunOptions`](::capgen_runtime::workflow::RunOptions) (step budget, deadline, optional polling).".to_string()),
    ];
    let skipped: Vec<&Workflow> = ir.workflows.iter().filter(|w| w.unsupported.is_some()).collect();
    if !skipped.is_empty() {
        module_docs.push(Some(String::new()));
        module_docs.push(Some("Not generated:".to_string()));
        for w in &skipped {
            module_docs.push(Some(format!("- `{}`: {}", w.workflow_id, w.unsupported.as_deref().unwrap_or_default())));
        }
    }
    let docs = inner_docs(doc_lines(&module_docs));
    let workflows = ir.workflows.iter().filter(|w| w.unsupported.is_none() && callees_exist(ir, w)).map(|w| WorkflowEmitter { ir, workflow: w }.emit());
    quote! {
        #docs
        #(#workflows)*
    }
}

/// Whether every workflow `w` calls is in the IR (lowering guarantees it; checked so a
/// hand-built IR cannot make the emitter panic).
pub(crate) fn callees_exist(ir: &Ir, w: &Workflow) -> bool {
    w.steps.iter().all(|s| match &s.kind {
        StepKind::Workflow { index, .. } => ir.workflows.get(*index).is_some_and(|c| c.unsupported.is_none()),
        StepKind::Call(_) => true,
    })
}


struct WorkflowEmitter<'a> {
    ir: &'a Ir,
    workflow: &'a Workflow,
}

/// What a step arm needs declared.
#[derive(Default)]
struct Uses {
    body: bool,
    url: bool,
    inputs: bool,
    /// Locals (fields of `StepOutputs`) that are read.
    locals: BTreeSet<String>,
}

impl WorkflowEmitter<'_> {
    fn emit(&self) -> TokenStream {
        let w = self.workflow;
        let inputs_ty = format_ident!("{}Inputs", w.type_prefix);
        let outputs_ty = format_ident!("{}Outputs", w.type_prefix);
        let fn_name = format_ident!("{}", w.fn_name);
        let traced = format_ident!("{}_traced", w.fn_name);
        let run_fn = format_ident!("run_{}", w.fn_name);

        let inputs = self.inputs_struct(&inputs_ty);
        let outputs = self.outputs_struct(&outputs_ty);

        let mut docs = vec![w.summary.clone(), w.description.as_ref().map(|d| format!("\n{d}"))];
        if w.summary.is_none() && w.description.is_none() {
            docs.push(Some(format!("Runs workflow `{}`.", w.workflow_id)));
        }
        docs.push(Some(String::new()));
        docs.push(Some(format!("Arazzo workflow `{}`. Steps:", w.workflow_id)));
        for step in &w.steps {
            let what = match &step.kind {
                StepKind::Call(call) => format!("`{} {}` (`{}`)", call.method, call.path_template, call.operation_id),
                StepKind::Workflow { index, .. } => {
                    format!("workflow `{}`", self.ir.workflows.get(*index).map(|c| c.workflow_id.as_str()).unwrap_or_default())
                }
            };
            docs.push(Some(format!("- `{}`: {what}", step.step_id)));
        }
        let mut notes: Vec<&String> = Vec::new();
        for note in &w.notes {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        if !notes.is_empty() {
            docs.push(Some(String::new()));
            docs.push(Some("Notes:".to_string()));
            docs.extend(notes.iter().map(|n| Some(format!("- {n}"))));
        }
        let fn_docs = doc_lines(&docs);
        let traced_docs = doc_lines(&[Some(format!(
            "Runs [`{}`] and also returns the trace of every step attempt (no header values, tokens or bodies).",
            w.fn_name
        ))]);
        let body = self.run_body(&outputs_ty);
        let run_doc = format!(
            " The steps of `{}`; `run` (budget, deadline, trace) is shared with callers. In process and on Restate alike: `X` performs the exchanges and waits.",
            w.workflow_id
        );
        let inputs_arg = if self.uses_inputs() { quote!(inputs) } else { quote!(_inputs) };
        quote! {
            #inputs
            #outputs
            #fn_docs
            pub async fn #fn_name(
                clients: &super::client::Clients,
                inputs: &#inputs_ty,
                options: &::capgen_runtime::workflow::RunOptions,
            ) -> ::std::result::Result<#outputs_ty, ::capgen_runtime::workflow::WorkflowError> {
                #traced(clients, inputs, options).await.result
            }
            #traced_docs
            pub async fn #traced(
                clients: &super::client::Clients,
                inputs: &#inputs_ty,
                options: &::capgen_runtime::workflow::RunOptions,
            ) -> ::capgen_runtime::workflow::Traced<#outputs_ty> {
                let mut run = ::capgen_runtime::workflow::Run::new(options);
                let result = #run_fn(clients, inputs, &mut run).await;
                run.finish(result)
            }
            #[doc = #run_doc]
            pub(crate) async fn #run_fn<X: ::capgen_runtime::workflow::Executor>(
                clients: &super::client::Clients,
                #inputs_arg: &#inputs_ty,
                run: &mut ::capgen_runtime::workflow::Run<X>,
            ) -> ::std::result::Result<#outputs_ty, ::capgen_runtime::workflow::WorkflowError> {
                #body
            }
        }
    }

    fn inputs_struct(&self, ty: &proc_macro2::Ident) -> TokenStream {
        let w = self.workflow;
        let fields = w.inputs.iter().map(|field| {
            let name = format_ident!("{}", field.rust_name);
            let wire = &field.name;
            let docs = doc_lines(std::slice::from_ref(&field.description));
            let inner = input_type(field.ty);
            if field.required {
                quote! {
                    #docs
                    #[serde(rename = #wire)]
                    pub #name: #inner,
                }
            } else {
                quote! {
                    #docs
                    #[serde(rename = #wire, default, skip_serializing_if = "::std::option::Option::is_none")]
                    pub #name: ::std::option::Option<#inner>,
                }
            }
        });
        let debug_fields = w.inputs.iter().map(|field| {
            let name = format_ident!("{}", field.rust_name);
            let wire = &field.name;
            if looks_secret(&field.name) {
                quote! { .field(#wire, &"***") }
            } else {
                quote! { .field(#wire, &self.#name) }
            }
        });
        let docs = doc_lines(&[
            Some(format!("Inputs of workflow `{}` (its `inputs` JSON Schema).", w.workflow_id)),
            Some(String::new()),
            Some("`Debug` hides values whose names look like credentials.".to_string()),
        ]);
        let default = if w.inputs.iter().all(|f| !f.required) { quote!(Default,) } else { quote!() };
        quote! {
            #docs
            #[derive(Clone, #default ::serde::Deserialize, ::serde::Serialize)]
            pub struct #ty {
                #(#fields)*
            }
            impl ::std::fmt::Debug for #ty {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(::std::stringify!(#ty))
                        #(#debug_fields)*
                        .finish()
                }
            }
        }
    }

    fn outputs_struct(&self, ty: &proc_macro2::Ident) -> TokenStream {
        let w = self.workflow;
        let fields = w.outputs.iter().map(|output| {
            let name = format_ident!("{}", output.rust_name);
            let wire = &output.name;
            let doc = format!(" `{}`", output.source);
            let ty = field_type(&output.ty);
            let reason = output.ty.untyped_reason().map(|reason| {
                let reason = format!(" untyped: {reason}");
                quote! { #[doc = ""] #[doc = #reason] }
            });
            quote! {
                #[doc = #doc]
                #reason
                #[serde(rename = #wire)]
                pub #name: #ty,
            }
        });
        let doc = format!(" Outputs of workflow `{}` (`null` where a value is missing).", w.workflow_id);
        let typed = " Fields are typed from the OpenAPI response schemas, as `Option`s (`None` is `null`: a step may not run";
        let typed2 = " or a value may be absent); a field stays `serde_json::Value` where the schema does not type it.";
        quote! {
            #[doc = #doc]
            #[doc = ""]
            #[doc = #typed]
            #[doc = #typed2]
            #[derive(Clone, Debug, Default, PartialEq, ::serde::Deserialize, ::serde::Serialize)]
            pub struct #ty {
                #(#fields)*
            }
        }
    }

    fn uses_inputs(&self) -> bool {
        let mut uses = Uses::default();
        for step in &self.workflow.steps {
            step_uses(step, &mut uses);
        }
        for output in &self.workflow.outputs {
            value_uses(&output.value, &mut uses);
        }
        let runs_workflows = self.workflow.steps.iter().flat_map(|s| s.on_success.iter().chain(&s.on_failure)).any(|a| {
            matches!(a.kind, ActionKind::GotoWorkflow(_) | ActionKind::Retry { workflow: Some(_), .. })
        });
        uses.inputs || runs_workflows || !self.workflow.depends_on.is_empty()
    }

    /// The body of `run_<workflow>`.
    fn run_body(&self, outputs_ty: &proc_macro2::Ident) -> TokenStream {
        let w = self.workflow;
        let mut uses = Uses::default();
        for step in &w.steps {
            step_uses(step, &mut uses);
        }
        for output in &w.outputs {
            value_uses(&output.value, &mut uses);
        }
        let local_fields: Vec<_> = uses
            .locals
            .iter()
            .map(|l| {
                let name = format_ident!("{}", l);
                let ty = local_type(w, l).map_or_else(|| quote!(::serde_json::Value), field_type);
                quote!(#name: #ty)
            })
            .collect();
        let locals = if local_fields.is_empty() {
            quote!()
        } else {
            quote! {
                /// Step outputs read later, filled in as steps succeed (typed ones are `None` until then).
                #[derive(Default)]
                struct StepOutputs {
                    #(#local_fields,)*
                }
                let mut outputs = StepOutputs::default();
            }
        };
        // `dependsOn`: run first, outputs kept when read.
        let dependencies = w.depends_on.iter().map(|(index, var)| self.run_workflow(*index, uses.locals.contains(var).then_some(var.as_str())));
        let dependencies = quote!(#(#dependencies)*);
        let mut constructed = BTreeSet::from([0usize]);
        let arms: Vec<TokenStream> = w.steps.iter().enumerate().map(|(i, step)| self.step_arm(i, step, &uses.locals, &mut constructed)).collect();
        let variants = w.steps.iter().map(|s| {
            let v = format_ident!("{}", s.variant);
            let doc = format!(" `{}`", s.step_id);
            quote! { #[doc = #doc] #v, }
        });
        let breaks = constructed.remove(&BREAK);
        let allow = if constructed.len() < w.steps.len() { quote!(#[allow(dead_code)]) } else { quote!() };
        let first = format_ident!("{}", w.steps[0].variant);
        let output_fields = w.outputs.iter().map(|o| {
            let name = format_ident!("{}", o.rust_name);
            let value = match (&o.value, &o.ty) {
                (Value::Local { var, pointer: None }, _) if local_type(w, var).is_some() => {
                    let var = format_ident!("{}", var);
                    quote!(outputs.#var.clone())
                }
                (value, OutputType::Untyped(_)) => value_tokens(value, w),
                (value, _) => typed_value(&o.name, value, w),
            };
            quote! { #name: #value, }
        });
        let workflow_id = &w.workflow_id;
        // Without a `break` the loop never ends normally (every path returns or loops).
        let finish = if breaks { quote! { Ok(#outputs_ty { #(#output_fields)* }) } } else { quote!() };
        quote! {
            const WORKFLOW: &str = #workflow_id;
            /// The steps, in document order (named by their `stepId`s).
            #allow
            #[allow(clippy::enum_variant_names)]
            enum Step {
                #(#variants)*
            }
            #locals
            #dependencies
            let mut step = Step::#first;
            loop {
                step = match step {
                    #(#arms)*
                };
            }
            #finish
        }
    }

    /// The `match` arm of one step: it evaluates to the next step, `break`s or returns.
    fn step_arm(&self, index: usize, step: &Step, read: &BTreeSet<String>, constructed: &mut BTreeSet<usize>) -> TokenStream {
        let w = self.workflow;
        let variant = format_ident!("{}", step.variant);
        let step_id = &step.step_id;
        let mut uses = Uses::default();
        step_uses(step, &mut uses);

        let (call, status) = match &step.kind {
            StepKind::Call(call) => (self.call_tokens(call, &uses), quote!(Some(status))),
            StepKind::Workflow { index: callee, inputs, result_var } => {
                let callee = &self.ir.workflows[*callee];
                let callee_inputs = format_ident!("{}Inputs", callee.type_prefix);
                let callee_run = format_ident!("run_{}", callee.fn_name);
                let fields = inputs.iter().map(|(name, value)| {
                    let value = value_tokens(value, w);
                    quote! { #name: #value }
                });
                let run_callee = quote!(::std::boxed::Box::pin(#callee_run(clients, &called_inputs, run)).await?);
                let run_and_store = if read.contains(result_var) {
                    let var = format_ident!("{}", result_var);
                    quote! {
                        let result = #run_callee;
                        outputs.#var = ::serde_json::to_value(&result).unwrap_or_default();
                    }
                } else {
                    quote! { #run_callee; }
                };
                let call = quote! {
                    let called_inputs: #callee_inputs = ::serde_json::from_value(::serde_json::json!({ #(#fields),* }))
                        .map_err(|error| run.invalid_inputs(&error))?;
                    let caller = run.suspend();
                    #run_and_store
                    run.resume(caller);
                };
                (call, quote!(None))
            }
        };

        // Success: step outputs, then the first success action whose criteria hold.
        let assignments = step.outputs.iter().filter(|o| read.contains(&o.rust_name)).map(|o| {
            let var = format_ident!("{}", o.rust_name);
            let value = match &o.ty {
                OutputType::Untyped(_) => value_tokens(&o.value, w),
                _ => typed_value(&o.name, &o.value, w),
            };
            quote! { outputs.#var = #value; }
        });
        let default_next = match w.steps.get(index + 1) {
            Some(_) => Next::Step(index + 1),
            None => Next::Break,
        };
        let mut success_actions: Vec<(&Action, Next)> = step
            .on_success
            .iter()
            .filter_map(|a| match a.kind {
                ActionKind::End => Some((a, Next::Break)),
                ActionKind::Goto(target) => Some((a, Next::Step(target))),
                ActionKind::GotoWorkflow(target) => Some((a, Next::Transfer(target))),
                ActionKind::Retry { .. } => None,
            })
            .collect();
        if let Some(unconditional) = success_actions.iter().position(|(a, _)| a.criteria.is_empty()) {
            success_actions.truncate(unconditional + 1);
        }
        let fallback = match success_actions.last() {
            Some((a, next)) if a.criteria.is_empty() => {
                let next = *next;
                success_actions.pop();
                next
            }
            _ => default_next,
        };
        // Trailing actions that lead where the fallback leads change nothing.
        while success_actions.last().is_some_and(|(_, next)| *next == fallback) {
            success_actions.pop();
        }
        let mut success_next = self.next_tokens(fallback, constructed);
        for (action, next) in success_actions.iter().rev() {
            let condition = criteria_tokens(&action.criteria, w);
            let then = self.next_tokens(*next, constructed);
            success_next = quote! { if #condition { #then } else { #success_next } };
        }
        // Kept for the caller on request; a workflow step's unread outputs are not kept (its
        // result is only stored when read).
        let kept: Vec<TokenStream> = step
            .outputs
            .iter()
            .filter_map(|o| {
                let name = &o.name;
                if read.contains(&o.rust_name) {
                    let var = format_ident!("{}", o.rust_name);
                    let value = match local_type(w, &o.rust_name) {
                        Some(_) => quote!(::capgen_runtime::workflow::to_json(&outputs.#var)),
                        None => quote!(outputs.#var.clone()),
                    };
                    Some(quote! { (#name, #value) })
                } else if matches!(step.kind, StepKind::Call(_)) {
                    let value = value_tokens(&o.value, w);
                    Some(quote! { (#name, #value) })
                } else {
                    None
                }
            })
            .collect();
        let keep = (!kept.is_empty()).then(|| {
            quote! {
                if run.keeps_step_outputs() {
                    run.keep_step_outputs([#(#kept),*]);
                }
            }
        });
        let on_success = quote! {
            #(#assignments)*
            #keep
            run.succeeded(#status);
            #success_next
        };

        if step.criteria.is_empty() {
            return quote! {
                Step::#variant => {
                    run.start(WORKFLOW, #step_id).await?;
                    #call
                    #on_success
                }
            };
        }

        // Failure: the first failure action whose criteria hold, else fail (or poll, if asked).
        let criteria = step.criteria.iter().map(|c| {
            let text = &c.text;
            let check = check_tokens(c, w);
            quote! { (#text, #check) }
        });
        let response = if matches!(step.kind, StepKind::Call(_)) { quote!(Some(&response)) } else { quote!(None) };
        let mut uses_criterion = true;
        let mut failure = if step.has_retry() {
            quote! { return Err(run.failed(#status, criterion)); }
        } else {
            constructed.insert(index);
            quote! {
                run.retry_unmatched(#status, criterion, #response).await?;
                Step::#variant
            }
        };
        let mut actions: Vec<&Action> = step.on_failure.iter().collect();
        if let Some(unconditional) = actions.iter().position(|a| a.criteria.is_empty()) {
            actions.truncate(unconditional + 1);
            if let Some(last) = actions.pop() {
                let (tokens, uses) = self.failure_action(last, &status, &response, constructed);
                failure = tokens;
                uses_criterion = uses;
            }
        }
        for action in actions.iter().rev() {
            let condition = criteria_tokens(&action.criteria, w);
            let (then, uses) = self.failure_action(action, &status, &response, constructed);
            uses_criterion |= uses;
            failure = quote! { if #condition { #then } else { #failure } };
        }
        let binding = if uses_criterion { quote!(criterion) } else { quote!(_) };
        quote! {
            Step::#variant => {
                run.start(WORKFLOW, #step_id).await?;
                #call
                let unmet = ::capgen_runtime::workflow::first_unmet([#(#criteria),*]);
                match unmet {
                    None => {
                        #on_success
                    }
                    Some(#binding) => {
                        #failure
                    }
                }
            }
        }
    }

    /// One failure action's branch, and whether it reads `criterion`.
    fn failure_action(&self, action: &Action, status: &TokenStream, response: &TokenStream, constructed: &mut BTreeSet<usize>) -> (TokenStream, bool) {
        let name = &action.name;
        match action.kind {
            ActionKind::End => (quote! { return Err(run.ended_by(#status, criterion, #name)); }, true),
            ActionKind::Goto(target) => {
                let next = self.next_tokens(Next::Step(target), constructed);
                (quote! { run.failed_over(#status); #next }, false)
            }
            ActionKind::GotoWorkflow(target) => {
                let next = self.next_tokens(Next::Transfer(target), constructed);
                (quote! { run.failed_over(#status); #next }, false)
            }
            ActionKind::Retry { after, limit, step, workflow } => {
                let after = match after {
                    Some(seconds) if seconds.fract() == 0.0 && seconds < u64::MAX as f64 => {
                        let seconds = Literal::u64_unsuffixed(seconds as u64);
                        quote!(Some(::std::time::Duration::from_secs(#seconds)))
                    }
                    Some(seconds) => {
                        let seconds = Literal::f64_unsuffixed(seconds);
                        quote!(Some(::std::time::Duration::from_secs_f64(#seconds)))
                    }
                    None => quote!(None),
                };
                let limit = Literal::u32_unsuffixed(limit);
                let next = self.next_tokens(Next::Step(step), constructed);
                let first = workflow.map(|index| self.run_workflow(index, None));
                (quote! { run.retry(#status, criterion, #after, #limit, #response).await?; #first #next }, true)
            }
        }
    }

    fn next_tokens(&self, next: Next, constructed: &mut BTreeSet<usize>) -> TokenStream {
        match next {
            Next::Break => {
                constructed.insert(BREAK);
                quote!(break)
            }
            Next::Step(i) => {
                constructed.insert(i);
                let variant = format_ident!("{}", self.workflow.steps.get(i).map(|s| s.variant.as_str()).unwrap_or("Missing"));
                quote!(Step::#variant)
            }
            Next::Transfer(index) => {
                constructed.insert(BREAK);
                let run = self.run_workflow(index, None);
                quote!({ #run break })
            }
        }
    }

    /// Runs workflow `index` with this workflow's inputs (matched by name), inside the current
    /// run; stores its outputs in `outputs.<store>` when given.
    fn run_workflow(&self, index: usize, store: Option<&str>) -> TokenStream {
        let callee = &self.ir.workflows[index];
        let callee_inputs = format_ident!("{}Inputs", callee.type_prefix);
        let callee_run = format_ident!("run_{}", callee.fn_name);
        let run_callee = quote!(::std::boxed::Box::pin(#callee_run(clients, &called_inputs, run)).await?);
        let run_and_store = match store {
            Some(var) => {
                let var = format_ident!("{}", var);
                quote! { outputs.#var = ::serde_json::to_value(&#run_callee).unwrap_or_default(); }
            }
            None => quote! { #run_callee; },
        };
        quote! {
            let called_inputs: #callee_inputs = ::capgen_runtime::workflow::inputs_for(inputs).map_err(|error| run.invalid_inputs(&error))?;
            let caller = run.suspend();
            #run_and_store
            run.resume(caller);
        }
    }

    /// Builds and sends the request; leaves `response`, `status` (and `body`, `path`) in scope.
    fn call_tokens(&self, call: &Call, uses: &Uses) -> TokenStream {
        let w = self.workflow;
        let client = format_ident!("{}", call.client);
        let mut segments = Vec::new();
        let mut format = String::new();
        let has_params = call.path.iter().any(|s| matches!(s, PathSegment::Param { .. }));
        let mut taken: BTreeSet<String> =
            ["body", "http", "path", "payload", "request", "response", "status", "unmet", "run", "inputs", "clients", "outputs", "step"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for segment in &call.path {
            match segment {
                PathSegment::Text(text) if has_params => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
                PathSegment::Text(text) => format.push_str(text),
                PathSegment::Param { name, value } => {
                    let mut var = names::snake_ident(name);
                    if taken.contains(&var) {
                        var.push_str("_param");
                    }
                    let var = format_ident!("{}", names::unique(var, &mut taken));
                    format.push_str(&format!("{{{var}}}"));
                    let what = format!("path parameter `{name}`");
                    segments.push(match value {
                        // A required string input is used as is.
                        Value::Input { field, pointer: None }
                            if input_field(w, field).is_some_and(|f| f.required && f.ty == InputType::String) =>
                        {
                            let field = format_ident!("{}", field);
                            quote! { let #var = ::capgen_runtime::encode_path(&inputs.#field); }
                        }
                        _ => {
                            let value = value_ref(value, w);
                            quote! {
                                let Some(#var) = ::capgen_runtime::workflow::path_segment(#value) else {
                                    return Err(run.missing(#what));
                                };
                            }
                        }
                    });
                }
            }
        }
        let method = method_tokens(&call.method);
        let operation = &call.operation;
        let template = &call.path_template;
        let path_arg = if uses.url { quote!(path.as_str()) } else { quote!(path) };
        let mut builder = quote! {
            ::capgen_runtime::Request::new(#method, #operation, #path_arg).path_template(#template)
        };
        for (name, value) in &call.query {
            let value = value_ref(value, w);
            builder = quote! { #builder.query_json(#name, #value) };
        }
        for (name, value) in &call.headers {
            builder = match text_tokens(value, w) {
                Some(text) => quote! { #builder.header(#name, #text) },
                None => {
                    let value = value_ref(value, w);
                    quote! { #builder.header_opt(#name, ::capgen_runtime::workflow::text_opt(#value)) }
                }
            };
        }
        if !call.cookies.is_empty() {
            let format = call.cookies.iter().map(|(name, _)| format!("{name}={{}}")).collect::<Vec<_>>().join("; ");
            let values = call.cookies.iter().map(|(_, v)| {
                let v = value_ref(v, w);
                quote!(::capgen_runtime::workflow::text(#v))
            });
            builder = quote! { #builder.header("Cookie", ::std::format!(#format, #(#values),*)) };
        }
        let mut payload = quote!();
        if let Some(body) = &call.body {
            let value = value_tokens(&body.payload, w);
            let replacements = body.replacements.iter().map(|(target, v)| {
                let v = value_tokens(v, w);
                quote! { ::capgen_runtime::workflow::replace(&mut payload, #target, #v); }
            });
            let binding = if body.replacements.is_empty() { quote!(let payload) } else { quote!(let mut payload) };
            payload = quote! {
                #binding = #value;
                #(#replacements)*
            };
            builder = match &body.encoding {
                BodyEncoding::Json { content_type } if content_type == "application/json" => quote! { #builder.json_value(payload) },
                BodyEncoding::Json { content_type } => quote! { #builder.json_value_as(payload, #content_type) },
                BodyEncoding::Form => quote! { #builder.form(&payload) },
                BodyEncoding::Text { content_type } => {
                    quote! { #builder.text(::capgen_runtime::workflow::text(&payload), #content_type) }
                }
            };
        }
        let body = if uses.body { quote! { let body = ::capgen_runtime::workflow::body_json(&response); } } else { quote!() };
        let path = if segments.is_empty() {
            quote!(::std::string::String::from(#format))
        } else {
            quote!(::std::format!(#format))
        };
        quote! {
            let http = clients.#client.http();
            #(#segments)*
            let path = #path;
            #payload
            let request = #builder;
            let response = run.send(http, request).await?;
            let status = response.status;
            #body
        }
    }
}

/// Marks "some path `break`s" in the set of constructed steps.
const BREAK: usize = usize::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Step(usize),
    Break,
    /// Run another workflow, then end this one.
    Transfer(usize),
}

pub(crate) fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "key", "auth", "credential", "cookie"].iter().any(|w| lower.contains(w))
}

fn input_type(ty: InputType) -> TokenStream {
    match ty {
        InputType::String => quote!(::std::string::String),
        InputType::Integer => quote!(i64),
        InputType::Number => quote!(f64),
        InputType::Boolean => quote!(bool),
        InputType::Json => quote!(::serde_json::Value),
    }
}

/// The Rust type of a typed output (`Option<T>`), or `serde_json::Value` for an untyped one.
fn field_type(ty: &OutputType) -> TokenStream {
    match ty {
        OutputType::Untyped(_) => quote!(::serde_json::Value),
        ty => {
            let inner = item_type(ty);
            quote!(::std::option::Option<#inner>)
        }
    }
}

fn item_type(ty: &OutputType) -> TokenStream {
    match ty {
        OutputType::String => quote!(::std::string::String),
        OutputType::Integer => quote!(i64),
        OutputType::Number => quote!(::serde_json::Number),
        OutputType::Boolean => quote!(bool),
        OutputType::Array(item) => {
            let item = item_type(item);
            quote!(::std::vec::Vec<#item>)
        }
        OutputType::Untyped(_) => quote!(::serde_json::Value),
    }
}

/// The type of a step output local, when it is typed.
fn local_type<'w>(w: &'w Workflow, var: &str) -> Option<&'w OutputType> {
    w.steps.iter().flat_map(|s| &s.outputs).find(|o| o.rust_name == var).map(|o| &o.ty).filter(|ty| ty.untyped_reason().is_none())
}

/// `value` converted to its output type (inferred from the field it is stored in): a wrong shape
/// fails the run naming the step and output.
fn typed_value(output: &str, value: &Value, w: &Workflow) -> TokenStream {
    let value = value_tokens(value, w);
    quote!(run.typed_output(#output, #value)?)
}

fn method_tokens(method: &str) -> TokenStream {
    match method {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "TRACE" | "CONNECT" => {
            let m = format_ident!("{}", method);
            quote!(::capgen_runtime::Method::#m)
        }
        other => {
            let bytes = Literal::byte_string(other.as_bytes());
            quote!(::capgen_runtime::Method::from_bytes(#bytes).unwrap_or(::capgen_runtime::Method::GET))
        }
    }
}

fn input_field<'w>(workflow: &'w Workflow, rust_name: &str) -> Option<&'w InputField> {
    workflow.inputs.iter().find(|f| f.rust_name == rust_name)
}

/// An owned `serde_json::Value` expression.
fn value_tokens(value: &Value, w: &Workflow) -> TokenStream {
    match value {
        Value::Literal(json) => literal_value(json),
        Value::StatusCode => quote!(::serde_json::Value::from(status)),
        Value::LastStatus => quote!(::serde_json::Value::from(run.last_status())),
        Value::Url => quote!(::serde_json::Value::String(::std::format!("{}{path}", http.base_uri()))),
        Value::ResponseBody(None) => quote!(body.clone()),
        Value::ResponseHeader(name) => quote!(::capgen_runtime::workflow::header(&response, #name)),
        Value::Input { field, pointer: None } => {
            let name = format_ident!("{}", field);
            match input_field(w, field) {
                Some(f) if f.required && f.ty == InputType::Json => quote!(inputs.#name.clone()),
                // Numbers and booleans (and their `Option`s) are `Copy`.
                Some(f) if matches!(f.ty, InputType::Integer | InputType::Number | InputType::Boolean) => {
                    quote!(::serde_json::Value::from(inputs.#name))
                }
                _ => quote!(::serde_json::Value::from(inputs.#name.clone())),
            }
        }
        Value::Local { var, pointer: None } => {
            let typed = local_type(w, var).is_some();
            let var = format_ident!("{}", var);
            if typed { quote!(::capgen_runtime::workflow::to_json(&outputs.#var)) } else { quote!(outputs.#var.clone()) }
        }
        Value::ResponseBody(Some(pointer)) | Value::Input { pointer: Some(pointer), .. } | Value::Local { pointer: Some(pointer), .. } => {
            let base = match value {
                Value::ResponseBody(_) => Value::ResponseBody(None),
                Value::Input { field, .. } => Value::Input { field: field.clone(), pointer: None },
                Value::Local { var, .. } => Value::Local { var: var.clone(), pointer: None },
                _ => Value::Literal(Json::Null),
            };
            let base = value_ref(&base, w);
            quote!(::capgen_runtime::workflow::pointer(#base, #pointer))
        }
        Value::Text(_) => match text_tokens(value, w) {
            Some(text) => quote!(::serde_json::Value::String(#text)),
            None => quote!(::serde_json::Value::Null),
        },
        Value::Array(items) => {
            let items = items.iter().map(|v| value_tokens(v, w));
            quote!(::serde_json::Value::Array(::std::vec![#(#items),*]))
        }
        Value::Object(fields) => {
            let fields = fields.iter().map(|(k, v)| {
                let v = value_tokens(v, w);
                quote!(#k: #v)
            });
            quote!(::serde_json::json!({ #(#fields),* }))
        }
        Value::Length(inner) => {
            let inner = value_ref(inner, w);
            quote!(::capgen_runtime::workflow::length(#inner))
        }
    }
}

/// A `&serde_json::Value` expression (borrowing where a place exists).
fn value_ref(value: &Value, w: &Workflow) -> TokenStream {
    match value {
        Value::ResponseBody(None) => quote!(&body),
        Value::Local { var, pointer: None } if local_type(w, var).is_none() => {
            let var = format_ident!("{}", var);
            quote!(&outputs.#var)
        }
        Value::Input { field, pointer: None } if input_field(w, field).is_some_and(|f| f.required && f.ty == InputType::Json) => {
            let name = format_ident!("{}", field);
            quote!(&inputs.#name)
        }
        other => {
            let tokens = value_tokens(other, w);
            quote!(&#tokens)
        }
    }
}

/// A `String` expression for values that are always text (templates, string literals).
fn text_tokens(value: &Value, w: &Workflow) -> Option<TokenStream> {
    match value {
        Value::Literal(Json::String(s)) => Some(quote!(#s)),
        Value::Text(parts) => {
            let mut format = String::new();
            let mut args = Vec::new();
            for part in parts {
                match part {
                    TextPart::Literal(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
                    TextPart::Value(v) => {
                        format.push_str("{}");
                        args.push(match v {
                            Value::Input { field, pointer: None }
                                if input_field(w, field).is_some_and(|f| f.required && f.ty == InputType::String) =>
                            {
                                let name = format_ident!("{}", field);
                                quote!(inputs.#name)
                            }
                            other => {
                                let r = value_ref(other, w);
                                quote!(::capgen_runtime::workflow::text(#r))
                            }
                        });
                    }
                }
            }
            Some(quote!(::std::format!(#format, #(#args),*)))
        }
        _ => None,
    }
}

/// A literal JSON value as an expression.
fn literal_value(json: &Json) -> TokenStream {
    match json {
        Json::Null => quote!(::serde_json::Value::Null),
        Json::Bool(b) => quote!(::serde_json::Value::Bool(#b)),
        Json::String(s) => quote!(::serde_json::Value::from(#s)),
        other => {
            let inner = json_macro_body(other);
            quote!(::serde_json::json!(#inner))
        }
    }
}

/// The body of a `json!` invocation for a literal value.
fn json_macro_body(json: &Json) -> TokenStream {
    match json {
        Json::Null => quote!(null),
        Json::Bool(b) => quote!(#b),
        Json::Number(n) => {
            let literal = if let Some(i) = n.as_i64() {
                Literal::i64_suffixed(i)
            } else if let Some(u) = n.as_u64() {
                Literal::u64_suffixed(u)
            } else {
                Literal::f64_suffixed(n.as_f64().unwrap_or_default())
            };
            quote!(#literal)
        }
        Json::String(s) => quote!(#s),
        Json::Array(items) => {
            let items = items.iter().map(json_macro_body);
            quote!([#(#items),*])
        }
        Json::Object(map) => {
            let fields = map.iter().map(|(k, v)| {
                let v = json_macro_body(v);
                quote!(#k: #v)
            });
            quote!({ #(#fields),* })
        }
    }
}

/// All criteria hold.
fn criteria_tokens(criteria: &[Criterion], w: &Workflow) -> TokenStream {
    let checks: Vec<TokenStream> = criteria.iter().map(|c| check_tokens(c, w)).collect();
    match checks.as_slice() {
        [] => quote!(true),
        [one] => one.clone(),
        many => quote!(#(#many)&&*),
    }
}

fn check_tokens(criterion: &Criterion, w: &Workflow) -> TokenStream {
    match &criterion.check {
        Check::Condition(cond) => cond_tokens(cond, w, Prec::Or),
        Check::Regex { value, pattern } => {
            let value = value_ref(value, w);
            quote!({
                static PATTERN: ::capgen_runtime::workflow::RegexCell = ::capgen_runtime::workflow::RegexCell::new(#pattern);
                PATTERN.is_match(#value)
            })
        }
        Check::JsonPath { value, query } => {
            let value = value_ref(value, w);
            quote!({
                static QUERY: ::capgen_runtime::json::JsonPathCell = ::capgen_runtime::json::JsonPathCell::new(#query);
                QUERY.matches(#value)
            })
        }
        Check::Success2xx => quote!((200..300).contains(&status)),
    }
}

/// Operator precedence of the context a condition is printed in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
}

fn cond_tokens(cond: &Cond, w: &Workflow, context: Prec) -> TokenStream {
    let (tokens, prec) = match cond {
        Cond::Truthy(value) => {
            let value = value_ref(value, w);
            (quote!(::capgen_runtime::workflow::truthy(#value)), Prec::Not)
        }
        Cond::Status(op, n) => {
            let op = rust_op(*op);
            match u16::try_from(*n) {
                Ok(n) => {
                    let n = Literal::u16_unsuffixed(n);
                    (quote!(status #op #n), Prec::And)
                }
                Err(_) => {
                    let n = Literal::u64_unsuffixed(*n);
                    (quote!(u64::from(status) #op #n), Prec::And)
                }
            }
        }
        Cond::Compare { left, op, right } => {
            let left = value_ref(left, w);
            let right = value_ref(right, w);
            let op = cmp_variant(*op);
            (quote!(::capgen_runtime::workflow::compare(#left, ::capgen_runtime::workflow::Cmp::#op, #right)), Prec::Not)
        }
        Cond::Not(inner) => {
            let inner = cond_tokens(inner, w, Prec::Not);
            (quote!(!#inner), Prec::Not)
        }
        Cond::And(a, b) => {
            let a = cond_tokens(a, w, Prec::And);
            let b = cond_tokens(b, w, Prec::And);
            (quote!(#a && #b), Prec::And)
        }
        Cond::Or(a, b) => {
            let a = cond_tokens(a, w, Prec::Or);
            let b = cond_tokens(b, w, Prec::Or);
            (quote!(#a || #b), Prec::Or)
        }
    };
    // A comparison under `!` needs parentheses too (`!(status == 200)`).
    let needs_parens = prec < context || (context == Prec::Not && matches!(cond, Cond::Status(..)));
    if needs_parens { quote!((#tokens)) } else { tokens }
}

fn rust_op(op: CompareOp) -> TokenStream {
    match op {
        CompareOp::Eq => quote!(==),
        CompareOp::Ne => quote!(!=),
        CompareOp::Lt => quote!(<),
        CompareOp::Le => quote!(<=),
        CompareOp::Gt => quote!(>),
        CompareOp::Ge => quote!(>=),
    }
}

fn cmp_variant(op: CompareOp) -> proc_macro2::Ident {
    format_ident!(
        "{}",
        match op {
            CompareOp::Eq => "Eq",
            CompareOp::Ne => "Ne",
            CompareOp::Lt => "Lt",
            CompareOp::Le => "Le",
            CompareOp::Gt => "Gt",
            CompareOp::Ge => "Ge",
        }
    )
}

// ---------------------------------------------------------------------------------------------
// What a step reads (so only what is used gets declared)
// ---------------------------------------------------------------------------------------------

fn step_uses(step: &Step, uses: &mut Uses) {
    match &step.kind {
        StepKind::Call(call) => {
            for segment in &call.path {
                if let PathSegment::Param { value, .. } = segment {
                    value_uses(value, uses);
                }
            }
            for (_, v) in call.query.iter().chain(&call.headers).chain(&call.cookies) {
                value_uses(v, uses);
            }
            if let Some(body) = &call.body {
                value_uses(&body.payload, uses);
                for (_, v) in &body.replacements {
                    value_uses(v, uses);
                }
            }
        }
        StepKind::Workflow { inputs, .. } => {
            for (_, v) in inputs {
                value_uses(v, uses);
            }
        }
    }
    for criterion in step.criteria.iter().chain(step.on_success.iter().chain(&step.on_failure).flat_map(|a| &a.criteria)) {
        criterion_uses(criterion, uses);
    }
    for output in &step.outputs {
        value_uses(&output.value, uses);
    }
}

fn criterion_uses(criterion: &Criterion, uses: &mut Uses) {
    match &criterion.check {
        Check::Condition(cond) => cond_uses(cond, uses),
        Check::Regex { value, .. } | Check::JsonPath { value, .. } => value_uses(value, uses),
        Check::Success2xx => {}
    }
}

fn cond_uses(cond: &Cond, uses: &mut Uses) {
    match cond {
        Cond::Truthy(v) => value_uses(v, uses),
        Cond::Status(..) => {}
        Cond::Compare { left, right, .. } => {
            value_uses(left, uses);
            value_uses(right, uses);
        }
        Cond::Not(c) => cond_uses(c, uses),
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_uses(a, uses);
            cond_uses(b, uses);
        }
    }
}

fn value_uses(value: &Value, uses: &mut Uses) {
    match value {
        Value::ResponseBody(_) => uses.body = true,
        Value::Url => uses.url = true,
        Value::Input { .. } => uses.inputs = true,
        Value::Local { var, .. } => {
            uses.locals.insert(var.clone());
        }
        Value::Text(parts) => {
            for part in parts {
                if let TextPart::Value(v) = part {
                    value_uses(v, uses);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| value_uses(v, uses)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| value_uses(v, uses)),
        Value::Length(inner) => value_uses(inner, uses),
        Value::Literal(_) | Value::StatusCode | Value::LastStatus | Value::ResponseHeader(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::generate::{Inputs, Settings, generate};

    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

    /// The seed's `workflows` module, rendered.
    fn seed_module() -> String {
        let root = Path::new(ROOT);
        let inputs = Inputs {
            capability: Some(root.join("specs/prisma/capabilities/postgres-management-database-backups.yaml")),
            arazzo: vec![root.join("specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")],
            ..Inputs::default()
        };
        let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|failure| panic!("{failure}"));
        generated.render_module("workflows").expect("a workflows module").unwrap_or_else(|failure| panic!("{failure}"))
    }

    #[test]
    fn the_seed_compiles_to_one_function_with_a_step_loop() {
        let code = seed_module();
        for expected in [
            "pub struct BackupAndRestoreDatabaseInputs",
            "pub struct BackupAndRestoreDatabaseOutputs",
            "pub async fn backup_and_restore_database(",
            "pub async fn backup_and_restore_database_traced(",
            "clients: &super::client::Clients,",
            "enum Step {",
            "Step::CreateBackup => {",
            "let path = ::std::format!(\"/databases/{database_id}/backups\");",
            "::std::format!(\"Bearer {}\", inputs.api_token)",
            "(\"$statusCode == 202\", status == 202)",
            "::capgen_runtime::workflow::Cmp::Eq",
            "\"/data/0/status\"",
            "run.retry_unmatched(",
            // Typed from the `DatabaseBackup` schema; converted where the step output is captured.
            "pub backup_id: ::std::option::Option<::std::string::String>,",
            "create_backup_backup_id: ::std::option::Option<::std::string::String>,",
            "/// Create a manual backup, wait for completion, and restore the database from it.",
        ] {
            assert!(code.contains(expected), "missing `{expected}` in:\n{code}");
        }
        let squashed: String = code.split_whitespace().collect();
        let capture = "outputs.create_backup_backup_id=run.typed_output(\"backupId\",::capgen_runtime::workflow::pointer(&body,\"/id\")";
        assert!(squashed.contains(capture), "missing `{capture}` in:\n{code}");
        // Outputs nobody reads are not stored; the token is redacted in `Debug`.
        assert!(!code.contains("create_backup_status"), "{code}");
        assert!(code.contains(".field(\"apiToken\", &\"***\")"), "{code}");
    }

    #[test]
    fn conditions_print_with_minimal_parentheses() {
        let w = Workflow {
            workflow_id: "w".to_string(),
            span: crate::diagnostics::Span::file_start(std::sync::Arc::from(Path::new("w.arazzo.yaml"))),
            fn_name: "w".to_string(),
            type_prefix: "W".to_string(),
            summary: None,
            description: None,
            inputs: Vec::new(),
            steps: Vec::new(),
            outputs: Vec::new(),
            depends_on: Vec::new(),
            unsupported: None,
            notes: Vec::new(),
        };
        let status = |n| Box::new(Cond::Status(CompareOp::Eq, n));
        let cond = Cond::And(Box::new(Cond::Or(status(200), status(201))), Box::new(Cond::Not(status(204))));
        let text = cond_tokens(&cond, &w, Prec::Or).to_string();
        assert_eq!(text, "(status == 200 || status == 201) && ! (status == 204)");
    }
}
