//! One entry of the API's route table: the handler axum routes to and what
//! the OpenAPI document says of it, declared together so neither can exist
//! without the other.

use crate::api::App;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

/// Writes a type's schema into the document's components and answers its `$ref`.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Who may call a route: the role the key check needs for its method
/// (`edge::needed`: GET and HEAD the read role, anything else the admin
/// role), unless the route is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key: the route holds no data.
    Public,
    Read,
    Admin,
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    None,
    /// `{type, autoBootstrap, config}` in JSON or YAML: one schema per platform.
    Payload,
    /// A payload for a stored integration: a secret left out keeps its value.
    EditPayload,
    /// The DELETE body: a platform's privileged credentials, optional.
    DeleteCredentials,
    /// A JSON body of one type.
    Json {
        schema: SchemaFn,
        required: bool,
    },
}

/// What a response carries.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    None,
    /// The API's error shape.
    Error,
    Json(SchemaFn),
    /// Text of a media type (`text/html`, `text/css`, …).
    Text(&'static str),
    /// Server-Sent Events whose `data` is one line of JSON of this schema.
    EventStream(SchemaFn),
}

/// One status code a route answers, and why.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
}

/// A parameter besides `{id}` (which every route with it gets, bounded).
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub location: In,
    pub required: bool,
    pub description: &'static str,
    pub schema: Value,
}

/// A route: its handler and its description.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub params: Vec<Param>,
    pub body: Body,
    pub answers: Vec<Answer>,
    /// Answers an object whose `id` the operations under its path take
    /// (`/integrations/{id}…`): OpenAPI links, which schemathesis's stateful
    /// phase follows.
    pub links_to_id: bool,
    pub handler: MethodRouter<App>,
}

impl Route {
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> Route
    where
        H: Handler<T, App>,
        T: 'static,
    {
        let filter = match method {
            Method::GET => MethodFilter::GET,
            Method::PUT => MethodFilter::PUT,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::POST,
        };
        let access = match crate::edge::needed(&method) {
            crate::auth::Role::Read => Access::Read,
            crate::auth::Role::Admin => Access::Admin,
        };
        Route {
            method,
            path,
            access,
            summary: "",
            params: Vec::new(),
            body: Body::None,
            answers: Vec::new(),
            links_to_id: false,
            handler: axum::routing::on(filter, handler),
        }
    }

    pub fn get<H: Handler<T, App>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route::new(Method::GET, path, handler)
    }

    pub fn post<H: Handler<T, App>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route::new(Method::POST, path, handler)
    }

    pub fn put<H: Handler<T, App>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route::new(Method::PUT, path, handler)
    }

    pub fn delete<H: Handler<T, App>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route::new(Method::DELETE, path, handler)
    }

    /// Needs no key (and so is outside the key check).
    pub fn public(mut self) -> Route {
        self.access = Access::Public;
        self
    }

    pub fn summary(mut self, summary: &'static str) -> Route {
        self.summary = summary;
        self
    }

    pub fn query(mut self, name: &'static str, description: &'static str, schema: Value) -> Route {
        self.params.push(Param {
            name,
            location: In::Query,
            required: false,
            description,
            schema,
        });
        self
    }

    pub fn header(mut self, name: &'static str, description: &'static str, schema: Value) -> Route {
        self.params.push(Param {
            name,
            location: In::Header,
            required: false,
            description,
            schema,
        });
        self
    }

    /// A path parameter other than `{id}`.
    pub fn path_param(
        mut self,
        name: &'static str,
        description: &'static str,
        schema: Value,
    ) -> Route {
        self.params.push(Param {
            name,
            location: In::Path,
            required: true,
            description,
            schema,
        });
        self
    }

    /// Takes a payload, read by `api::read_payload`: 400, 413 and 415 come with it.
    pub fn payload(mut self) -> Route {
        self.body = Body::Payload;
        self
    }

    /// Takes a payload for a stored integration (its secrets may be left
    /// out), read by `api::read_payload`: 400, 413 and 415 come with it.
    pub fn edit_payload(mut self) -> Route {
        self.body = Body::EditPayload;
        self
    }

    /// Takes the DELETE body, read by `api::read_value`: 400, 413 and 415 come with it.
    pub fn delete_credentials(mut self) -> Route {
        self.body = Body::DeleteCredentials;
        self
    }

    /// Takes a JSON body of type `T`.
    pub fn json_body<T: JsonSchema>(mut self, required: bool) -> Route {
        self.body = Body::Json {
            schema: schema::<T>,
            required,
        };
        self
    }

    /// A JSON answer of type `T`.
    pub fn ok<T: JsonSchema>(self, status: u16, description: &'static str) -> Route {
        self.answer(status, description, Content::Json(schema::<T>))
    }

    /// An error answer, in the API's error shape.
    pub fn err(self, status: u16, description: &'static str) -> Route {
        self.answer(status, description, Content::Error)
    }

    /// A text answer of a media type.
    pub fn text(self, status: u16, description: &'static str, media_type: &'static str) -> Route {
        self.answer(status, description, Content::Text(media_type))
    }

    /// A stream of Server-Sent Events (`id`, `event`, `data`), each `data`
    /// one line of JSON of type `T`.
    pub fn event_stream<T: JsonSchema>(self, status: u16, description: &'static str) -> Route {
        self.answer(status, description, Content::EventStream(schema::<T>))
    }

    /// An answer with no body.
    pub fn empty(self, status: u16, description: &'static str) -> Route {
        self.answer(status, description, Content::None)
    }

    pub fn answer(mut self, status: u16, description: &'static str, content: Content) -> Route {
        self.answers.push(Answer {
            status,
            description,
            content,
        });
        self
    }

    /// Its success answer has the `id` that the operations under its path
    /// take: link it to them.
    pub fn links_to_id(mut self) -> Route {
        self.links_to_id = true;
        self
    }

    /// The path's `{name}` placeholders.
    pub fn placeholders(&self) -> impl Iterator<Item = &'static str> {
        let path: &'static str = self.path;
        path.split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// Every answer: the declared ones and those implied by the key check,
    /// the `{id}` parameter and the body.
    pub fn all_answers(&self) -> Vec<Answer> {
        let mut all = self.answers.clone();
        let mut add = |status: u16, description: &'static str| {
            if !all.iter().any(|a| a.status == status) {
                all.push(Answer {
                    status,
                    description,
                    content: Content::Error,
                });
            }
        };
        if self.placeholders().any(|p| p == "id") {
            add(
                400,
                "Bad input: the id is not an integer from 1 to 2^63-1 (details names `id`).",
            );
        }
        match self.body {
            Body::None => {}
            Body::Payload | Body::EditPayload | Body::DeleteCredentials | Body::Json { .. } => {
                add(
                    400,
                    "Bad input: `details` names each bad field with its JSON path.",
                );
                add(413, "The body is larger than 256 KiB.");
                add(415, "A Content-Type other than JSON or YAML (multipart).");
            }
        }
        if self.access != Access::Public {
            add(401, "No API key, or one that is not valid.");
            add(
                500,
                "The host failed (its store); the cause is logged, not answered.",
            );
        }
        if self.access == Access::Admin {
            add(403, "The key has the read role; this needs the admin role.");
        }
        all.sort_by_key(|a| a.status);
        all
    }

    /// The operation's id: the method and the path's words in camel case,
    /// `{id}` as `ById` (`getIntegrationsByIdStatus`), a trailing `/` as `Slash`.
    pub fn operation_id(&self) -> String {
        let mut out = self.method.as_str().to_ascii_lowercase();
        for segment in self.path.split(['/', '-', '.']).filter(|s| !s.is_empty()) {
            let word = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!("by{}", capitalise(name)),
                None => segment.to_owned(),
            };
            out.push_str(&capitalise(&word));
        }
        if self.path.len() > 1 && self.path.ends_with('/') {
            out.push_str("Slash");
        }
        out
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
