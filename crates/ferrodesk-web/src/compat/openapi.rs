//! The vendor layers' own OpenAPI documents (`/zendesk/api/v2/openapi.json`,
//! `/freshdesk/api/v2/openapi.json`).
//!
//! Each layer lists its operations once, as a table of [`Route`]s: [`router`] serves that
//! table and [`document`] describes it, so a path cannot be served without being documented
//! or documented without being served. The vendors' shapes are hand-made JSON, not Rust
//! types, so the bodies are described as objects with their main properties ([`object`]),
//! not derived from types as `/api/v1`'s are.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use ferrodesk_app::App;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder, ServerBuilder, Tag,
};

/// The type of a property or parameter, as the vendors' JSON has it.
#[derive(Debug, Clone, Copy)]
pub enum T {
    /// A whole number.
    Int,
    /// A whole number or `null`.
    IntOrNull,
    /// Text.
    Str,
    /// Text or `null`.
    StrOrNull,
    /// `true` or `false`.
    Bool,
    /// An RFC 3339 timestamp at whole seconds.
    Time,
    /// A list of whole numbers.
    Ints,
    /// A list of texts.
    Strs,
    /// An object whose members are not described.
    Map,
    /// A list of objects whose members are not described.
    Maps,
    /// Any JSON value.
    Any,
    /// One of these texts.
    OneOf(&'static [&'static str]),
    /// The component schema of this name.
    Ref(&'static str),
    /// A list of the component schema of this name.
    Refs(&'static str),
}

impl T {
    /// The schema of a value of this type.
    pub fn schema(self) -> RefOr<Schema> {
        let simple = |t: SchemaType| RefOr::T(ObjectBuilder::new().schema_type(t).build().into());
        match self {
            T::Int => simple(Type::Integer.into()),
            T::IntOrNull => simple([Type::Integer, Type::Null].into_iter().collect()),
            T::Str => simple(Type::String.into()),
            T::StrOrNull => simple([Type::String, Type::Null].into_iter().collect()),
            T::Bool => simple(Type::Boolean.into()),
            T::Time => RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    )))
                    .build()
                    .into(),
            ),
            T::Ints => array(T::Int.schema()),
            T::Strs => array(T::Str.schema()),
            T::Map => simple(Type::Object.into()),
            T::Maps => array(T::Map.schema()),
            T::Any => simple(SchemaType::AnyValue),
            T::OneOf(words) => RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(words.iter().copied()))
                    .build()
                    .into(),
            ),
            T::Ref(name) => RefOr::Ref(Ref::from_schema_name(name)),
            T::Refs(name) => array(RefOr::Ref(Ref::from_schema_name(name))),
        }
    }
}

fn array(items: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(ArrayBuilder::new().items(items).build().into())
}

/// A property of an object: name, type, what it means here.
pub type Prop = (&'static str, T, &'static str);

/// An object with `props`.
pub fn object(description: &str, props: &[Prop]) -> RefOr<Schema> {
    let mut o = ObjectBuilder::new().schema_type(Type::Object);
    if !description.is_empty() {
        o = o.description(Some(description));
    }
    for (name, t, about) in props {
        let s = match (t.schema(), about.is_empty()) {
            (RefOr::T(Schema::Object(obj)), false) => {
                let mut obj = obj;
                obj.description = Some((*about).to_owned());
                RefOr::T(Schema::Object(obj))
            }
            (RefOr::T(Schema::Array(mut arr)), false) => {
                arr.description = Some((*about).to_owned());
                RefOr::T(Schema::Array(arr))
            }
            (RefOr::Ref(mut r), false) => {
                r.description = (*about).to_owned();
                RefOr::Ref(r)
            }
            (s, _) => s,
        };
        o = o.property(*name, s);
    }
    RefOr::T(o.build().into())
}

/// A query parameter an operation honours.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name, as the client sends it (`page[size]`).
    pub name: &'static str,
    /// Its type.
    pub t: T,
    /// What it does here.
    pub about: &'static str,
}

/// One operation of a vendor layer: what the router serves and the document describes.
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path under the layer's prefix, in axum's syntax (`/tickets/{id}`).
    pub path: &'static str,
    /// Also served at `PATH.json` (Zendesk's clients ask for both).
    pub json_suffix: bool,
    handler: MethodRouter<App>,
    summary: &'static str,
    about: &'static str,
    query: Vec<Param>,
    body: Option<RefOr<Schema>>,
    status: u16,
    answer: Option<(&'static str, Option<RefOr<Schema>>)>,
    public: bool,
}

impl Route {
    /// `method path` served by `handler`.
    pub fn new<H, X>(method: Method, path: &'static str, handler: H) -> Route
    where
        H: Handler<X, App>,
        X: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} cannot be routed"));
        Route {
            method,
            path,
            json_suffix: false,
            handler: on(filter, handler),
            summary: "",
            about: "",
            query: Vec::new(),
            body: None,
            status: 200,
            answer: None,
            public: false,
        }
    }

    /// Also served at `PATH.json`.
    pub fn json_too(mut self) -> Route {
        self.json_suffix = true;
        self
    }

    /// What it does, in one line, and more (what differs from the vendor, who may call it).
    pub fn doc(mut self, summary: &'static str, about: &'static str) -> Route {
        self.summary = summary;
        self.about = about;
        self
    }

    /// The query parameters it honours (others are ignored).
    pub fn query(mut self, params: &[Param]) -> Route {
        self.query.extend_from_slice(params);
        self
    }

    /// The JSON body it reads.
    pub fn body(mut self, schema: RefOr<Schema>) -> Route {
        self.body = Some(schema);
        self
    }

    /// A 200 answer of `schema` in JSON.
    pub fn answer(mut self, schema: RefOr<Schema>) -> Route {
        self.answer = Some(("application/json", Some(schema)));
        self
    }

    /// A 201 answer (with `Location`) of `schema` in JSON.
    pub fn created(mut self, schema: RefOr<Schema>) -> Route {
        self.status = 201;
        self.answer(schema)
    }

    /// A 200 answer of another media type, not described further (a file's bytes).
    pub fn answer_as(mut self, media_type: &'static str) -> Route {
        self.answer = Some((media_type, None));
        self
    }

    /// Served without credentials.
    pub fn public(mut self) -> Route {
        self.public = true;
        self
    }
}

/// The router serving `table` (paths relative to the layer's prefix).
pub fn router(table: Vec<Route>) -> Router<App> {
    let mut r = Router::new();
    for route in table {
        if route.json_suffix {
            r = r.route(&format!("{}.json", route.path), route.handler.clone());
        }
        r = r.route(route.path, route.handler);
    }
    r
}

/// An error answer the authenticated operations of a layer may give: status, meaning, body
/// (`None`: empty) and whether only operations that read a body give it.
pub type ErrorAnswer = (&'static str, &'static str, Option<&'static str>, bool);

/// What describes a layer besides its table.
pub struct Layer {
    /// The document's title.
    pub title: &'static str,
    /// How the layer works and what differs from the vendor.
    pub about: &'static str,
    /// Where the layer is mounted (the document's server).
    pub prefix: &'static str,
    /// What the Basic scheme takes.
    pub basic: &'static str,
    /// The component schemas the operations refer to.
    pub schemas: Vec<(&'static str, RefOr<Schema>)>,
    /// The error answers of every authenticated operation, referring to `schemas`.
    pub errors: &'static [ErrorAnswer],
}

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

/// The OpenAPI 3.1 document of a layer serving `table`.
pub fn document(layer: Layer, table: &[Route]) -> OpenApi {
    let mut paths = Paths::new();
    let mut tags: Vec<String> = Vec::new();
    for route in table {
        let tag = route
            .path
            .trim_start_matches('/')
            .split(['/', '.'])
            .next()
            .unwrap_or_default()
            .to_owned();
        if !tags.contains(&tag) {
            tags.push(tag.clone());
        }
        let id: String = format!("{}{}", route.method.as_str().to_lowercase(), route.path)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        let mut about = route.about.to_owned();
        if route.json_suffix {
            if !about.is_empty() {
                about.push_str("\n\n");
            }
            about.push_str(&format!("Also served at `{}.json`.", route.path));
        }
        let mut op = OperationBuilder::new()
            .operation_id(Some(id))
            .tag(tag)
            .summary(Some(route.summary))
            .description((!about.is_empty()).then_some(about));
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .description(Some(if route.path.starts_with("/openapi") {
                            "The record's id."
                        } else {
                            "The record's id (a trailing `.json` is accepted)."
                        }))
                        .schema(Some(T::Int.schema())),
                );
            }
        }
        for p in &route.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(p.name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(p.about))
                    .schema(Some(p.t.schema())),
            );
        }
        if let Some(body) = &route.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", Content::new(Some(body.clone())))
                    .build(),
            ));
        }
        let mut ok = ResponseBuilder::new().description(match route.status {
            201 => "created; `Location` names it",
            _ => "the answer",
        });
        if let Some((media, schema)) = &route.answer {
            ok = ok.content(*media, Content::new(schema.clone()));
        }
        op = op.response(route.status.to_string(), ok.build());
        if route.public {
            op = op.securities(Some(Vec::<SecurityRequirement>::new()));
        } else {
            for (code, meaning, schema, writes) in layer.errors {
                if *writes && route.body.is_none() {
                    continue;
                }
                let mut r = ResponseBuilder::new().description(*meaning);
                if let Some(name) = schema {
                    r = r.content(
                        "application/json",
                        Content::new(Some(RefOr::Ref(Ref::from_schema_name(*name)))),
                    );
                }
                op = op.response(*code, r.build());
            }
        }
        paths.add_path_operation(route.path, vec![http_method(&route.method)], op.build());
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            "basic",
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(layer.basic))
                    .build(),
            ),
        )
        .security_scheme(
            "bearer",
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A Ferrodesk API token (`ferrodesk token create`, or Account → API \
                         tokens in the web app).",
                    ))
                    .build(),
            ),
        );
    for (name, schema) in layer.schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(layer.title)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(layer.about))
                .license(Some(
                    utoipa::openapi::LicenseBuilder::new()
                        .name("AGPL-3.0-or-later")
                        .build(),
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url(layer.prefix).build()]))
        .paths(paths)
        .components(Some(components.build()))
        .security(Some([
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]))
        .tags(Some(tags.into_iter().map(Tag::new)))
        .build()
}
