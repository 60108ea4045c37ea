//! Generated data types: the IR of the Rust types that OpenAPI schemas become, and the
//! conversion from [`Schema`] to it ([`TypeSpace`]).
//!
//! Names are decided here: component schemas keep their names (UpperCamelCase, made unique in
//! spec order up front, so they never depend on use order); inline objects and enums are named
//! from a hint (`ListDatabaseBackupsResponse`, then `…Data`, `…DataItem` for nested ones).
//! Only types reached through [`TypeSpace::type_for`] are emitted. Recursion goes through
//! `Named` references; fields that would make a type infinitely large are marked `boxed`.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use crate::ir::names::{camel_ident, snake_ident};
use crate::parse::openapi::{ObjectSchema, Schema, StringSchema};

/// How one value is typed in generated code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeRef {
    String,
    /// `i64`.
    Integer,
    /// `f64`.
    Number,
    Boolean,
    /// `serde_json::Value`.
    Json,
    Array(Box<TypeRef>),
    /// A string-keyed map (`BTreeMap<String, T>`).
    Map(Box<TypeRef>),
    Option(Box<TypeRef>),
    /// A [`TypeDef`] by its Rust name.
    Named(String),
}

/// One generated type.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    /// UpperCamelCase Rust identifier, unique among all definitions.
    pub name: String,
    /// The schema's description.
    pub doc: Option<String>,
    pub kind: TypeDefKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeDefKind {
    Struct {
        fields: Vec<Field>,
        /// Properties not listed in the schema (`additionalProperties`), kept in a flattened map.
        extra: Option<ExtraProperties>,
    },
    /// A string enum; values not listed deserialize into the `fallback` variant.
    StringEnum { variants: Vec<EnumVariant>, fallback: String },
    /// `pub type Name = …;`
    Alias(TypeRef),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// snake_case identifier (`type_` for `type`), unique within the struct.
    pub rust_name: String,
    /// The property name in JSON.
    pub wire_name: String,
    /// The field's full type: `Option<…>` when not required or nullable.
    pub ty: TypeRef,
    /// Required fields are always serialized (as `null` when `ty` is an `Option`).
    pub required: bool,
    pub doc: Option<String>,
    /// The field refers back to its own struct without indirection; emit it as `Box<…>`
    /// (inside the `Option`, if any).
    pub boxed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraProperties {
    /// Field name of the flattened map (`additional_properties`, made unique).
    pub rust_name: String,
    /// Type of each extra value.
    pub value: TypeRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumVariant {
    /// UpperCamelCase identifier.
    pub rust_name: String,
    /// The value in JSON.
    pub wire_value: String,
}

/// Collects the type definitions that schemas need.
#[derive(Clone, Debug, Default)]
pub struct TypeSpace {
    /// Component schemas by spec name.
    components: IndexMap<String, Schema>,
    /// Spec name → Rust name, decided for every component up front.
    component_names: BTreeMap<String, String>,
    /// Every Rust type name handed out (components, whether used or not, and inline types).
    taken: BTreeSet<String>,
    /// Registered definitions in first-use order; `None` while a definition is being built.
    defs: IndexMap<String, Option<TypeDef>>,
    /// Earlier answers for inline schemas, so asking twice gives the same type.
    inline_cache: Vec<(String, Schema, TypeRef)>,
}

impl TypeSpace {
    /// A type space over these component schemas (several documents may be merged into one map).
    pub fn new(doc_schemas: &IndexMap<String, Schema>) -> Self {
        let mut space = TypeSpace { components: doc_schemas.clone(), ..TypeSpace::default() };
        for name in doc_schemas.keys() {
            let rust = space.fresh_name(&camel_ident(name));
            space.component_names.insert(name.clone(), rust);
        }
        space
    }

    /// The Rust name a component schema gets (whether or not it has been used yet).
    pub fn component_name(&self, name: &str) -> Option<&str> {
        self.component_names.get(name).map(String::as_str)
    }

    /// The TypeRef for a schema, registering every TypeDef it needs (named components on first
    /// use, inline objects/enums under `name_hint`, e.g. "ListDatabaseBackupsResponse").
    pub fn type_for(&mut self, schema: &Schema, name_hint: &str) -> TypeRef {
        let hint = camel_ident(name_hint);
        match schema {
            Schema::Any | Schema::OneOf(_) | Schema::AnyOf(_) => TypeRef::Json,
            Schema::Ref(name) => self.component(name),
            Schema::String(s) if s.enum_values.is_empty() => TypeRef::String,
            Schema::String(_) => self.inline(schema, &hint),
            Schema::Integer { .. } => TypeRef::Integer,
            Schema::Number { .. } => TypeRef::Number,
            Schema::Boolean => TypeRef::Boolean,
            Schema::Array(items) => TypeRef::Array(Box::new(self.type_for(items, &format!("{hint}Item")))),
            Schema::Object(object) if object.properties.is_empty() => match &object.additional_properties {
                Some(values) => TypeRef::Map(Box::new(self.type_for(values, &format!("{hint}Value")))),
                None => TypeRef::Map(Box::new(TypeRef::Json)),
            },
            Schema::Object(_) => self.inline(schema, &hint),
            Schema::AllOf { parts, .. } => match parts.as_slice() {
                [] => TypeRef::Json,
                [one] => self.type_for(one, &hint),
                _ if self.merge_all_of(parts, &mut BTreeSet::new()).is_some() => self.inline(schema, &hint),
                _ => TypeRef::Json,
            },
            Schema::Nullable(inner) => optional(self.type_for(inner, &hint)),
        }
    }

    /// Every registered definition, in first-use order.
    pub fn into_defs(self) -> Vec<TypeDef> {
        let mut defs: Vec<TypeDef> = self.defs.into_values().flatten().collect();
        break_alias_cycles(&mut defs);
        mark_boxed_fields(&mut defs);
        defs
    }

    // ---- registration ----

    /// A component schema by spec name, registered on first use.
    fn component(&mut self, name: &str) -> TypeRef {
        let (Some(rust), Some(schema)) = (self.component_names.get(name).cloned(), self.components.get(name).cloned())
        else {
            // The parser has reported the dangling reference already.
            return TypeRef::Json;
        };
        let nullable = matches!(schema, Schema::Nullable(_));
        if !self.defs.contains_key(&rust) {
            self.defs.insert(rust.clone(), None);
            let doc = schema.description().map(str::to_string);
            let kind = self.def_kind(&schema, &rust);
            self.defs.insert(rust.clone(), Some(TypeDef { name: rust.clone(), doc, kind }));
        }
        let named = TypeRef::Named(rust);
        if nullable { optional(named) } else { named }
    }

    /// Registers an inline struct or enum under a name derived from `hint`.
    fn inline(&mut self, schema: &Schema, hint: &str) -> TypeRef {
        if let Some((_, _, known)) = self.inline_cache.iter().find(|(h, s, _)| h == hint && s == schema) {
            return known.clone();
        }
        let name = self.fresh_name(hint);
        self.defs.insert(name.clone(), None);
        let doc = schema.description().map(str::to_string);
        let kind = self.def_kind(schema, &name);
        self.defs.insert(name.clone(), Some(TypeDef { name: name.clone(), doc, kind }));
        let ty = TypeRef::Named(name);
        self.inline_cache.push((hint.to_string(), schema.clone(), ty.clone()));
        ty
    }

    /// The definition a schema gets under `name`: a struct, a string enum, or an alias.
    fn def_kind(&mut self, schema: &Schema, name: &str) -> TypeDefKind {
        match schema {
            Schema::Nullable(inner) => self.def_kind(inner, name),
            Schema::String(s) if !s.enum_values.is_empty() => string_enum(s),
            Schema::Object(object) if !object.properties.is_empty() => self.struct_kind(object, name),
            Schema::AllOf { parts, description } if parts.len() > 1 => {
                match self.merge_all_of(parts, &mut BTreeSet::new()) {
                    Some(mut merged) => {
                        merged.description = description.clone().or(merged.description);
                        self.struct_kind(&merged, name)
                    }
                    None => TypeDefKind::Alias(TypeRef::Json),
                }
            }
            // `allOf` of one inline schema is that schema.
            Schema::AllOf { parts, .. } if parts.len() == 1 && !matches!(parts.first(), Some(Schema::Ref(_))) => {
                match parts.first() {
                    Some(part) => self.def_kind(part, name),
                    None => TypeDefKind::Alias(TypeRef::Json),
                }
            }
            // Anything else is an alias of its plain type; none of these shapes registers itself
            // again, so `name` only seeds the hints of nested types.
            other => TypeDefKind::Alias(self.type_for(other, name)),
        }
    }

    fn struct_kind(&mut self, object: &ObjectSchema, name: &str) -> TypeDefKind {
        let mut used = BTreeSet::new();
        let mut fields = Vec::new();
        for (wire, property) in &object.properties {
            let rust_name = unique_snake(snake_ident(wire), &mut used);
            let hint = format!("{name}{}", camel_ident(wire));
            let mut ty = self.type_for(&property.schema, &hint);
            let required = object.required.iter().any(|r| r == wire);
            if !required {
                ty = optional(ty);
            }
            let doc = property.description.clone().or_else(|| property.schema.description().map(str::to_string));
            fields.push(Field { rust_name, wire_name: wire.clone(), ty, required, doc, boxed: false });
        }
        let extra = object.additional_properties.as_ref().map(|values| ExtraProperties {
            rust_name: unique_snake("additional_properties".to_string(), &mut used),
            value: self.type_for(values, &format!("{name}Value")),
        });
        TypeDefKind::Struct { fields, extra }
    }

    /// The single object an `allOf` stands for, if every part is an object (or a reference to
    /// one, or a nested `allOf` of objects). `seen` stops reference loops.
    fn merge_all_of(&self, parts: &[Schema], seen: &mut BTreeSet<String>) -> Option<ObjectSchema> {
        let mut merged = ObjectSchema::default();
        for part in parts {
            let object = match part {
                Schema::Object(object) => object.clone(),
                Schema::Ref(name) => {
                    if !seen.insert(name.clone()) {
                        return None;
                    }
                    let target = self.components.get(name)?;
                    let object = match target {
                        Schema::Object(object) => object.clone(),
                        Schema::AllOf { parts, .. } => self.merge_all_of(parts, seen)?,
                        _ => return None,
                    };
                    seen.remove(name);
                    object
                }
                Schema::AllOf { parts, .. } => self.merge_all_of(parts, seen)?,
                // A part that only adds a description or constraints.
                Schema::Any => continue,
                _ => return None,
            };
            merged.description = merged.description.or(object.description);
            for (name, property) in object.properties {
                merged.properties.insert(name, property);
            }
            for name in object.required {
                if !merged.required.contains(&name) {
                    merged.required.push(name);
                }
            }
            if object.additional_properties.is_some() {
                merged.additional_properties = object.additional_properties;
            }
        }
        Some(merged)
    }

    /// `base`, or `base2`, `base3`, … — the first name not handed out yet.
    fn fresh_name(&mut self, base: &str) -> String {
        let name = if self.taken.contains(base) {
            (2..).map(|n| format!("{base}{n}")).find(|c| !self.taken.contains(c)).unwrap_or_default()
        } else {
            base.to_string()
        };
        self.taken.insert(name.clone());
        name
    }
}

/// `Option<ty>`, without doubling an existing `Option`.
fn optional(ty: TypeRef) -> TypeRef {
    match ty {
        TypeRef::Option(_) => ty,
        other => TypeRef::Option(Box::new(other)),
    }
}

fn unique_snake(name: String, used: &mut BTreeSet<String>) -> String {
    if used.insert(name.clone()) {
        return name;
    }
    let base = name.trim_end_matches('_').to_string();
    (2..).map(|n| format!("{base}_{n}")).find(|c| used.insert(c.clone())).unwrap_or(name)
}

fn string_enum(schema: &StringSchema) -> TypeDefKind {
    let mut used = BTreeSet::new();
    let mut seen_values = BTreeSet::new();
    let mut variants = Vec::new();
    for value in &schema.enum_values {
        if !seen_values.insert(value.as_str()) {
            continue;
        }
        let base = if value.trim().is_empty() { "Empty".to_string() } else { camel_ident(value) };
        // Names like `_2fa` (from a leading digit) read better as `V2fa`.
        let base = match base.strip_prefix('_') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => format!("V{rest}"),
            _ => base,
        };
        let rust_name = unique_camel(base, &mut used);
        variants.push(EnumVariant { rust_name, wire_value: value.clone() });
    }
    let fallback = unique_camel("Other".to_string(), &mut used);
    TypeDefKind::StringEnum { variants, fallback }
}

fn unique_camel(name: String, used: &mut BTreeSet<String>) -> String {
    if used.insert(name.clone()) {
        return name;
    }
    let base = name.trim_end_matches('_').to_string();
    (2..).map(|n| format!("{base}{n}")).find(|c| used.insert(c.clone())).unwrap_or(name)
}

/// Names of `Named` types that `ty` stores inline (through `Option` only).
fn direct_names(ty: &TypeRef, out: &mut Vec<String>) {
    match ty {
        TypeRef::Named(name) => out.push(name.clone()),
        TypeRef::Option(inner) => direct_names(inner, out),
        _ => {}
    }
}

/// Names of every `Named` type mentioned anywhere in `ty`.
fn all_names(ty: &TypeRef, out: &mut Vec<String>) {
    match ty {
        TypeRef::Named(name) => out.push(name.clone()),
        TypeRef::Option(inner) | TypeRef::Array(inner) | TypeRef::Map(inner) => all_names(inner, out),
        _ => {}
    }
}

/// Type aliases cannot be recursive (`type A = Vec<A>` does not compile): an alias that reaches
/// itself through other aliases becomes `serde_json::Value`.
fn break_alias_cycles(defs: &mut [TypeDef]) {
    let aliases: BTreeMap<String, TypeRef> = defs
        .iter()
        .filter_map(|d| match &d.kind {
            TypeDefKind::Alias(ty) => Some((d.name.clone(), ty.clone())),
            _ => None,
        })
        .collect();
    let reaches_itself = |start: &str| {
        let mut stack = vec![start.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(name) = stack.pop() {
            let Some(ty) = aliases.get(&name) else { continue };
            let mut next = Vec::new();
            all_names(ty, &mut next);
            for n in next {
                if n == start {
                    return true;
                }
                if seen.insert(n.clone()) {
                    stack.push(n);
                }
            }
        }
        false
    };
    let cyclic: BTreeSet<String> = aliases.keys().filter(|name| reaches_itself(name)).cloned().collect();
    for def in defs.iter_mut().filter(|d| cyclic.contains(&d.name)) {
        def.kind = TypeDefKind::Alias(TypeRef::Json);
    }
}

/// Marks struct fields that would make their struct contain itself (directly or through other
/// structs/aliases, without a `Vec`/map in between) as `boxed`.
fn mark_boxed_fields(defs: &mut [TypeDef]) {
    // name → names it stores inline.
    let direct: BTreeMap<String, Vec<String>> = defs
        .iter()
        .map(|d| {
            let mut out = Vec::new();
            match &d.kind {
                TypeDefKind::Struct { fields, .. } => fields.iter().for_each(|f| direct_names(&f.ty, &mut out)),
                TypeDefKind::Alias(ty) => direct_names(ty, &mut out),
                TypeDefKind::StringEnum { .. } => {}
            }
            (d.name.clone(), out)
        })
        .collect();
    let reaches = |from: &str, target: &str| {
        let mut stack = vec![from.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(name) = stack.pop() {
            if name == target {
                return true;
            }
            if seen.insert(name.clone()) {
                stack.extend(direct.get(&name).into_iter().flatten().cloned());
            }
        }
        false
    };
    for def in defs.iter_mut() {
        let TypeDefKind::Struct { fields, .. } = &mut def.kind else { continue };
        for field in fields.iter_mut() {
            let mut names = Vec::new();
            direct_names(&field.ty, &mut names);
            field.boxed = names.iter().any(|n| reaches(n, &def.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Diagnostics, SourceMap};
    use crate::parse::openapi::{Property, load_openapi};
    use std::path::Path;

    fn object(props: &[(&str, Schema)], required: &[&str]) -> Schema {
        Schema::Object(ObjectSchema {
            description: None,
            properties: props
                .iter()
                .map(|(n, s)| (n.to_string(), Property { schema: s.clone(), description: None }))
                .collect(),
            required: required.iter().map(|s| s.to_string()).collect(),
            additional_properties: None,
        })
    }

    fn string() -> Schema {
        Schema::String(StringSchema::default())
    }

    fn def<'a>(defs: &'a [TypeDef], name: &str) -> &'a TypeDef {
        defs.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no type {name} in {defs:#?}"))
    }

    fn fields(def: &TypeDef) -> &[Field] {
        match &def.kind {
            TypeDefKind::Struct { fields, .. } => fields,
            other => panic!("{} is not a struct: {other:?}", def.name),
        }
    }

    #[test]
    fn prisma_backup_response_is_the_named_component() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../specs/prisma/openapi/prisma-postgres-management-openapi.yml");
        let (mut sources, mut diagnostics) = (SourceMap::default(), Diagnostics::new());
        let doc = load_openapi(&path, &mut sources, &mut diagnostics).expect("loads");
        let mut space = TypeSpace::new(&doc.schemas);
        let op = doc.find_by_operation_id("createDatabaseBackup").expect("operation");
        let accepted = op.responses.iter().find(|r| r.status == "202").and_then(|r| r.schema.as_ref()).expect("202");
        assert_eq!(space.type_for(accepted, "CreateDatabaseBackupResponse"), TypeRef::Named("DatabaseBackup".into()));

        let list = doc.find_by_operation_id("listDatabaseBackups").expect("operation");
        let ok = list.responses.iter().find(|r| r.status == "200").and_then(|r| r.schema.as_ref()).expect("200");
        let list_ty = space.type_for(ok, "ListDatabaseBackupsResponse");
        assert_eq!(list_ty, TypeRef::Named("ListDatabaseBackupsResponse".into()));
        // Asking again gives the same type, not a second copy.
        assert_eq!(space.type_for(ok, "ListDatabaseBackupsResponse"), list_ty);

        let defs = space.into_defs();
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        // First-use order; only what was used (no `Workspace`, `Error`, …).
        assert_eq!(
            names,
            ["DatabaseBackup", "DatabaseBackupType", "DatabaseBackupStatus", "ListDatabaseBackupsResponse"]
        );
        let backup = def(&defs, "DatabaseBackup");
        assert_eq!(backup.doc.as_deref(), Some("A backup of a Prisma Postgres database"));
        let summary: Vec<(&str, &str, bool, &TypeRef)> =
            fields(backup).iter().map(|f| (f.rust_name.as_str(), f.wire_name.as_str(), f.required, &f.ty)).collect();
        let opt = |t: TypeRef| TypeRef::Option(Box::new(t));
        assert_eq!(
            summary,
            [
                ("id", "id", true, &TypeRef::String),
                ("database_id", "databaseId", true, &TypeRef::String),
                ("type_", "type", true, &TypeRef::Named("DatabaseBackupType".into())),
                ("status", "status", true, &TypeRef::Named("DatabaseBackupStatus".into())),
                ("size_bytes", "sizeBytes", false, &opt(TypeRef::Integer)),
                ("created_at", "createdAt", true, &TypeRef::String),
                ("completed_at", "completedAt", false, &opt(TypeRef::String)),
            ]
        );
        assert_eq!(fields(backup)[3].doc.as_deref(), Some("Current status of the backup"));
        let TypeDefKind::StringEnum { variants, fallback } = &def(&defs, "DatabaseBackupStatus").kind else {
            panic!("status is not an enum")
        };
        let variants: Vec<(&str, &str)> =
            variants.iter().map(|v| (v.rust_name.as_str(), v.wire_value.as_str())).collect();
        assert_eq!(
            variants,
            [("Pending", "pending"), ("InProgress", "in_progress"), ("Completed", "completed"), ("Failed", "failed")]
        );
        assert_eq!(fallback, "Other");
        let list_fields = fields(def(&defs, "ListDatabaseBackupsResponse"));
        assert_eq!(list_fields[0].ty, opt(TypeRef::Array(Box::new(TypeRef::Named("DatabaseBackup".into())))));
    }

    #[test]
    fn all_of_merges_objects_and_required() {
        let mut components = IndexMap::new();
        components.insert("Base".to_string(), object(&[("id", string())], &["id"]));
        components.insert(
            "Derived".to_string(),
            Schema::AllOf {
                parts: vec![Schema::Ref("Base".into()), object(&[("extra", Schema::Boolean)], &["extra"])],
                description: Some("Both".into()),
            },
        );
        let mut space = TypeSpace::new(&components);
        assert_eq!(space.type_for(&Schema::Ref("Derived".into()), "X"), TypeRef::Named("Derived".into()));
        let defs = space.into_defs();
        assert_eq!(defs.len(), 1, "Base is merged in, not emitted: {defs:#?}");
        let derived = def(&defs, "Derived");
        assert_eq!(derived.doc.as_deref(), Some("Both"));
        let names: Vec<(&str, bool)> = fields(derived).iter().map(|f| (f.wire_name.as_str(), f.required)).collect();
        assert_eq!(names, [("id", true), ("extra", true)]);
    }

    #[test]
    fn names_are_sanitized_and_unique() {
        let props = [
            ("type", string()),
            ("fooBar", string()),
            ("foo_bar", string()),
            ("2fa", string()),
            ("$ref", string()),
            ("self", string()),
            ("additional_properties", string()),
        ];
        let mut schema = object(&props, &[]);
        if let Schema::Object(o) = &mut schema {
            o.additional_properties = Some(Box::new(Schema::Integer { format: None }));
        }
        let mut components = IndexMap::new();
        components.insert("my-type.v1".to_string(), schema);
        components.insert("MyTypeV1".to_string(), string());
        components.insert("1st".to_string(), string());
        let mut space = TypeSpace::new(&components);
        assert_eq!(space.component_name("my-type.v1"), Some("MyTypeV1"));
        assert_eq!(space.component_name("MyTypeV1"), Some("MyTypeV12"));
        assert_eq!(space.component_name("1st"), Some("_1st"));
        space.type_for(&Schema::Ref("my-type.v1".into()), "Unused");
        let defs = space.into_defs();
        let TypeDefKind::Struct { fields, extra } = &def(&defs, "MyTypeV1").kind else { panic!("not a struct") };
        let names: Vec<&str> = fields.iter().map(|f| f.rust_name.as_str()).collect();
        assert_eq!(names, ["type_", "foo_bar", "foo_bar_2", "_2fa", "ref_", "self_", "additional_properties"]);
        let extra = extra.as_ref().expect("extra properties");
        assert_eq!(extra.rust_name, "additional_properties_2");
        assert_eq!(extra.value, TypeRef::Integer);
    }

    #[test]
    fn enum_variants_are_valid_and_distinct() {
        let schema = Schema::String(StringSchema {
            format: None,
            enum_values: ["us-east-1", "us_east_1", "", "1", "other", "Self", "us-east-1"].map(String::from).to_vec(),
            description: None,
        });
        let mut space = TypeSpace::new(&IndexMap::new());
        assert_eq!(space.type_for(&schema, "region"), TypeRef::Named("Region".into()));
        let defs = space.into_defs();
        let TypeDefKind::StringEnum { variants, fallback } = &defs[0].kind else { panic!("not an enum") };
        let names: Vec<&str> = variants.iter().map(|v| v.rust_name.as_str()).collect();
        assert_eq!(names, ["UsEast1", "UsEast12", "Empty", "V1", "Other", "Self_"]);
        assert_eq!(fallback, "Other2");
    }

    #[test]
    fn recursion_terminates_and_boxes_direct_cycles() {
        let mut components = IndexMap::new();
        // Node { next: Option<Node>, children: Vec<Node> }
        components.insert(
            "Node".to_string(),
            object(
                &[
                    ("next", Schema::Ref("Node".into())),
                    ("children", Schema::Array(Box::new(Schema::Ref("Node".into())))),
                ],
                &[],
            ),
        );
        // A = Vec<A> cannot be an alias.
        components.insert("List".to_string(), Schema::Array(Box::new(Schema::Ref("List".into()))));
        let mut space = TypeSpace::new(&components);
        space.type_for(&Schema::Ref("Node".into()), "X");
        space.type_for(&Schema::Ref("List".into()), "X");
        let defs = space.into_defs();
        let node = fields(def(&defs, "Node"));
        assert!(node[0].boxed, "direct self-reference must be boxed");
        assert!(!node[1].boxed, "a Vec already adds indirection");
        assert_eq!(def(&defs, "List").kind, TypeDefKind::Alias(TypeRef::Json));
    }

    #[test]
    fn nullable_and_maps() {
        let mut space = TypeSpace::new(&IndexMap::new());
        let nullable = Schema::Nullable(Box::new(string()));
        assert_eq!(space.type_for(&nullable, "N"), TypeRef::Option(Box::new(TypeRef::String)));
        let map = Schema::Object(ObjectSchema {
            additional_properties: Some(Box::new(Schema::Boolean)),
            ..ObjectSchema::default()
        });
        assert_eq!(space.type_for(&map, "M"), TypeRef::Map(Box::new(TypeRef::Boolean)));
        assert_eq!(space.type_for(&Schema::OneOf(vec![string(), Schema::Boolean]), "O"), TypeRef::Json);
        // A required nullable field stays `Option` but is marked required.
        let obj = object(&[("a", nullable.clone()), ("b", nullable)], &["a"]);
        space.type_for(&obj, "Holder");
        let defs = space.into_defs();
        let holder = fields(def(&defs, "Holder"));
        assert_eq!((holder[0].required, &holder[0].ty), (true, &TypeRef::Option(Box::new(TypeRef::String))));
        assert_eq!((holder[1].required, &holder[1].ty), (false, &TypeRef::Option(Box::new(TypeRef::String))));
    }
}
