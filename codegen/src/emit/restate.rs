//! Durable workflow emitter: `src/durable.rs` of a generated crate (its cargo feature `restate`;
//! the proc macro and build-script outputs have no such module).
//!
//! One Restate *workflow* service per compiled Arazzo workflow, keyed by the caller's run id. Its
//! `run` handler calls the same private `run_<workflow>` step function as the in-process `async
//! fn`, with a [`Durable`](::capgen_runtime::restate::Durable) executor (journaled exchanges,
//! durable timers); `status` returns the steps done so far. Nothing of the step code is emitted
//! twice.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::emit::workflow::{callees_exist, looks_secret};
use crate::ir::Ir;
use crate::ir::workflow::InputType;

/// Appended to the generated `Cargo.toml` of a crate with durable workflows.
pub const CARGO_FEATURE: &str = "\n[features]\n\
# Durable workflows on Restate: `restate-serve` and `run --durable` (README, Durable workflows).\n\
restate = [\"capgen-runtime/restate\", \"dep:restate-sdk\"]\n\
\n\
[dependencies.restate-sdk]\n\
version = \"=0.13.0\"\n\
optional = true\n\
default-features = false\n\
features = [\"http_server\"]\n";

/// Whether the crate gets a `durable` module (it has compiled workflows).
pub fn has_durable(ir: &Ir) -> bool {
    ir.workflows.iter().any(|w| w.unsupported.is_none() && callees_exist(ir, w))
}

/// The `durable` module (`src/durable.rs`): one Restate workflow service per compiled workflow.
pub fn durable_module(ir: &Ir) -> TokenStream {
    let workflows: Vec<_> = ir.workflows.iter().filter(|w| w.unsupported.is_none() && callees_exist(ir, w)).collect();
    let mut services = Vec::new();
    let mut binds = Vec::new();
    let mut table = Vec::new();
    for w in &workflows {
        let service = format_ident!("{}", w.type_prefix);
        let service_name = Literal::string(&w.type_prefix);
        let workflow_id = &w.workflow_id;
        let inputs_ty = format_ident!("{}Inputs", w.type_prefix);
        let outputs_ty = format_ident!("{}Outputs", w.type_prefix);
        let run_fn = format_ident!("run_{}", w.fn_name);
        let secrets: Vec<&str> = w.inputs.iter().map(|i| i.name.as_str()).filter(|n| looks_secret(n)).collect();
        let texts = w.inputs.iter().filter(|i| i.ty == InputType::String).map(|i| i.name.as_str());
        let doc = format!(" Restate workflow service `{}`: Arazzo workflow `{workflow_id}`, keyed by run id.", w.type_prefix);
        services.push(quote! {
            #[doc = #doc]
            pub struct #service {
                clients: super::client::Clients,
            }
            #[::restate_sdk::workflow(name = #service_name)]
            impl #service {
                /// Runs the workflow's steps; a failure is terminal and names the step.
                #[handler]
                async fn run(
                    &self,
                    ctx: ::restate_sdk::prelude::WorkflowContext<'_>,
                    request: ::restate_sdk::prelude::Json<::capgen_runtime::restate::DurableRequest>,
                ) -> ::std::result::Result<::restate_sdk::prelude::Json<super::workflows::#outputs_ty>, ::restate_sdk::prelude::HandlerError> {
                    let request = request.into_inner();
                    let inputs: super::workflows::#inputs_ty = ::capgen_runtime::restate::resolve_inputs(request.inputs, &[#(#secrets),*])?;
                    let executor = ::capgen_runtime::restate::Durable::new(&ctx);
                    let mut run = ::capgen_runtime::workflow::Run::with_executor(&request.options.run_options(), executor);
                    let result = super::workflows::#run_fn(&self.clients, &inputs, &mut run).await;
                    result.map(::restate_sdk::prelude::Json).map_err(::capgen_runtime::restate::terminal)
                }
                /// The steps done so far (step ids, attempts, statuses, outcomes).
                #[handler]
                async fn status(
                    &self,
                    ctx: ::restate_sdk::prelude::SharedWorkflowContext<'_>,
                ) -> ::std::result::Result<::restate_sdk::prelude::Json<::serde_json::Value>, ::restate_sdk::prelude::HandlerError> {
                    ::capgen_runtime::restate::status(&ctx).await
                }
            }
        });
        binds.push(quote! { .bind(#service { clients: clients.clone() }) });
        table.push(quote! {
            ::capgen_runtime::restate::DurableService {
                workflow_id: #workflow_id,
                service: #service_name,
                secret_inputs: &[#(#secrets),*],
                text_inputs: &[#(#texts),*],
            },
        });
    }
    quote! {
        #![doc = " Durable variants of the workflows, run by Restate (feature `restate`): one Restate workflow"]
        #![doc = " service per Arazzo workflow, keyed by run id, sharing the step code of the in-process `async fn`"]
        #![doc = " (exchanges journaled, waits durable). Credential inputs are passed as `env:NAME` references."]
        /// The durable workflows: Arazzo `workflowId`, Restate service, credential and text inputs.
        pub const SERVICES: &[::capgen_runtime::restate::DurableService] = &[#(#table)*];
        /// The Restate endpoint serving every durable workflow (what `restate-serve` serves).
        pub fn endpoint(clients: &super::client::Clients) -> ::restate_sdk::endpoint::Endpoint {
            ::restate_sdk::endpoint::Endpoint::builder() #(#binds)* .build()
        }
        #(#services)*
    }
}
