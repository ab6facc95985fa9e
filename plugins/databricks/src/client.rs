//! Talking to a Databricks workspace: the Unity Catalog REST API 2.1, SCIM
//! `Me`, and the SQL Statement Execution API 2.0, on the kit's JSON-over-HTTPS
//! client (`junction_kit::http`: timeouts, typed errors, retries of idempotent
//! calls, cached bearer tokens).
//!
//! Authentication is a bearer token: the configured personal access token,
//! or (OAuth M2M) an access token from the workspace's token endpoint,
//! fetched with the client credentials grant, cached until shortly before it
//! expires and fetched again after a 401 ([`ClientCredentials`]).

use crate::config::{Credentials, DatabricksConfig};
use crate::scripts::{Action, Securable};
use junction_core::Secret;
use junction_kit::Executor;
use junction_kit::http::{
    Auth, HttpError, HttpOptions, JsonClient, Method, Request, Token, TokenSource,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// SCIM `Me`: any valid principal may read itself.
pub const ME: &str = "/api/2.0/preview/scim/v2/Me";
const UC: &str = "/api/2.1/unity-catalog";
const STATEMENTS: &str = "/api/2.0/sql/statements";
/// The first pause between polls of a running statement; each next one
/// doubles, up to [`MAX_POLL_PAUSE`].
const FIRST_POLL_PAUSE: Duration = Duration::from_millis(50);
const MAX_POLL_PAUSE: Duration = Duration::from_secs(2);
/// How long the submit of a statement waits for it on the server (the API
/// allows 0, or 5 to 50 s), when the timeouts leave room for it.
const SUBMIT_WAIT_SECONDS: u64 = 10;

/// Why a call failed. Names no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the statement failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    StatementFailed {
        code: Option<String>,
        message: String,
    },
    #[error("the statement did not finish within {seconds} s and was cancelled")]
    StatementTimeout { seconds: u64 },
    #[error("the statement ended {state}")]
    StatementEnded { state: String },
    #[error("the configuration names no usable credentials: {0}")]
    Config(&'static str),
    #[error("the catalog {0} exists but was not created by Junction: left as it is")]
    NotOurs(String),
    #[error("{0} does not exist")]
    Missing(String),
}

/// OAuth 2.0 client credentials against the workspace's token endpoint, as
/// Databricks' OAuth M2M documents it: HTTP Basic `client_id:client_secret`,
/// form `grant_type=client_credentials&scope=…`.
///
/// It sends through a client of its own, without auth: the API client calls
/// [`TokenSource::fetch`] while it holds its token cache, so sending through
/// that client again would wait on the cache forever.
pub struct ClientCredentials {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub scope: String,
    http: JsonClient,
}

impl ClientCredentials {
    pub fn new(
        token_url: String,
        client_id: String,
        client_secret: Secret<String>,
        scope: String,
        options: HttpOptions,
    ) -> Result<Self, HttpError> {
        let http = JsonClient::new(&token_url, options, Auth::None)?;
        Ok(ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
            http,
        })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[async_trait::async_trait]
impl TokenSource for ClientCredentials {
    async fn fetch(&self, _api: &JsonClient) -> Result<Token, HttpError> {
        let req = Request::token_endpoint(&self.token_url)
            .basic_auth(&self.client_id, self.client_secret.clone())
            .form(vec![
                (
                    "grant_type".into(),
                    Secret::new("client_credentials".into()),
                ),
                ("scope".into(), Secret::new(self.scope.clone())),
            ])
            // Asking for a token twice does no harm.
            .idempotent();
        let answer: TokenAnswer = self.http.send(&req).await?.decode(&req)?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(HttpError::Token(format!(
                "the token endpoint issued a {kind:?} token, not a bearer token"
            )));
        }
        if answer.access_token.expose().is_empty() {
            return Err(HttpError::Token(
                "the token endpoint issued an empty access token".into(),
            ));
        }
        tracing::debug!(
            expires_in = answer.expires_in,
            "OAuth access token obtained"
        );
        Ok(Token {
            value: answer.access_token,
            expires_in: answer.expires_in.map(Duration::from_secs),
        })
    }
}

/// SCIM `Me`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// A user's name, or a service principal's application id: the principal
    /// grants name.
    pub user_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetastoreAssignment {
    pub metastore_id: String,
    #[serde(default)]
    pub workspace_id: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogInfo {
    pub name: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaInfo {
    pub name: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TableInfo {
    pub name: String,
}

#[derive(Deserialize)]
struct EffectivePermissions {
    #[serde(default)]
    privilege_assignments: Vec<EffectiveAssignment>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct EffectiveAssignment {
    principal: String,
    #[serde(default)]
    privileges: Vec<EffectivePrivilege>,
}

#[derive(Deserialize)]
struct EffectivePrivilege {
    privilege: String,
}

#[derive(Debug, Deserialize)]
struct StatementAnswer {
    statement_id: String,
    status: StatementStatus,
}

#[derive(Debug, Deserialize)]
struct StatementStatus {
    state: String,
    #[serde(default)]
    error: Option<StatementError>,
}

#[derive(Debug, Deserialize)]
struct StatementError {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// 404 of an object that does not exist (not of an API that does not, nor
/// of a workspace without a metastore).
fn is_absent(e: &HttpError) -> bool {
    e.status() == Some(404)
        && !matches!(
            e.code(),
            Some("ENDPOINT_NOT_FOUND" | "METASTORE_DOES_NOT_EXIST")
        )
}

/// The property Junction puts on a catalog it creates.
pub const MARK: (&str, &str) = ("junction.managedBy", "junction");

/// One workspace, as one principal.
pub struct Workspace {
    http: JsonClient,
    warehouse_id: String,
    statement_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("base", &self.http.base())
            .field("warehouse_id", &self.warehouse_id)
            .finish()
    }
}

impl Workspace {
    /// A client for the configured workspace and principal. Nothing is sent yet.
    pub fn new(config: &DatabricksConfig) -> Result<Self, ClientError> {
        let options = HttpOptions {
            connect_timeout: config.connect_timeout(),
            request_timeout: config.request_timeout(),
            ..HttpOptions::default()
        };
        let auth = match config.credentials() {
            Some(Credentials::Token(t)) => Auth::Bearer(t.clone()),
            Some(Credentials::OAuthM2M {
                client_id,
                client_secret,
                scope,
                ..
            }) => Auth::Source(Arc::new(ClientCredentials::new(
                config.token_url(),
                client_id.to_owned(),
                client_secret.clone(),
                scope.to_owned(),
                options.clone(),
            )?)),
            None => return Err(ClientError::Config("see authenticationType")),
        };
        Ok(Workspace {
            http: JsonClient::new(&config.base_url(), options, auth)?,
            warehouse_id: config.warehouse_id().unwrap_or_default().to_owned(),
            statement_timeout: config.statement_timeout(),
            request_timeout: config.request_timeout(),
        })
    }

    async fn call(&self, req: Request) -> Result<Value, ClientError> {
        Ok(self.http.send(&req).await?.body)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: String) -> Result<T, ClientError> {
        Ok(self.http.get(&path).await?)
    }

    /// A GET of an object, `None` when it does not exist.
    async fn find<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
    ) -> Result<Option<T>, ClientError> {
        match self.http.get(&path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A DELETE that is done when the object is already gone.
    async fn delete(&self, req: Request) -> Result<(), ClientError> {
        match self.http.send(&req).await {
            Ok(_) => Ok(()),
            Err(e) if is_absent(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// SCIM `Me`: who the credentials are.
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.get(ME.to_owned()).await
    }

    /// The metastore assigned to the workspace; `None` when there is none.
    pub async fn metastore_assignment(&self) -> Result<Option<MetastoreAssignment>, ClientError> {
        let path = format!("{UC}/current-metastore-assignment");
        match self.http.get::<Value>(&path).await {
            Ok(v) => match v.get("metastore_id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => Ok(Some(MetastoreAssignment {
                    metastore_id: id.to_owned(),
                    workspace_id: v.get("workspace_id").cloned(),
                })),
                _ => Ok(None),
            },
            Err(e) if e.status() == Some(404) && e.code() != Some("ENDPOINT_NOT_FOUND") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn catalog(&self, name: &str) -> Result<Option<CatalogInfo>, ClientError> {
        self.find(format!("{UC}/catalogs/{name}")).await
    }

    pub async fn schema(
        &self,
        catalog: &str,
        name: &str,
    ) -> Result<Option<SchemaInfo>, ClientError> {
        self.find(format!("{UC}/schemas/{catalog}.{name}")).await
    }

    pub async fn table(&self, full_name: &str) -> Result<Option<TableInfo>, ClientError> {
        self.find(format!("{UC}/tables/{full_name}")).await
    }

    /// The privileges `principal` holds on a securable, inherited ones included.
    pub async fn effective_privileges(
        &self,
        securable: Securable,
        full_name: &str,
        principal: &str,
    ) -> Result<BTreeSet<String>, ClientError> {
        let path = format!("{UC}/effective-permissions/{}/{full_name}", securable.api());
        let mut held = BTreeSet::new();
        let mut page: Option<String> = None;
        // The paginated form (`max_results=0`: the server's page length); a
        // page may be empty and still name a next one.
        loop {
            let mut req = Request::get(&path)
                .query("principal", principal)
                .query("max_results", "0");
            if let Some(token) = &page {
                req = req.query("page_token", token);
            }
            let answer: EffectivePermissions = self.http.send(&req).await?.decode(&req)?;
            held.extend(
                answer
                    .privilege_assignments
                    .into_iter()
                    .filter(|a| a.principal == principal)
                    .flat_map(|a| a.privileges)
                    .map(|p| p.privilege.to_ascii_uppercase()),
            );
            match answer.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if page.as_ref() != Some(&next) => page = Some(next),
                _ => return Ok(held),
            }
        }
    }

    async fn create_catalog(
        &self,
        name: &str,
        comment: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        self.call(
            Request::post(format!("{UC}/catalogs"))
                .json(json!({"name": name, "comment": comment, "properties": properties})),
        )
        .await
        .map(drop)
    }

    async fn delete_catalog(&self, name: &str, only_if_marked: bool) -> Result<(), ClientError> {
        if only_if_marked {
            match self.catalog(name).await? {
                None => return Ok(()),
                Some(c) if c.properties.get(MARK.0).map(String::as_str) == Some(MARK.1) => {}
                Some(_) => return Err(ClientError::NotOurs(name.to_owned())),
            }
        }
        self.delete(Request::delete(format!("{UC}/catalogs/{name}")).query("force", "true"))
            .await
    }

    async fn create_schema(
        &self,
        catalog: &str,
        name: &str,
        comment: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        self.call(Request::post(format!("{UC}/schemas")).json(json!({
            "name": name,
            "catalog_name": catalog,
            "comment": comment,
            "properties": properties,
        })))
        .await
        .map(drop)
    }

    async fn delete_schema(&self, catalog: &str, name: &str) -> Result<(), ClientError> {
        self.delete(
            Request::delete(format!("{UC}/schemas/{catalog}.{name}")).query("force", "true"),
        )
        .await
    }

    /// Sets some properties of a schema and keeps the others (the update
    /// replaces the whole map, so it is read first).
    async fn set_schema_properties(
        &self,
        catalog: &str,
        name: &str,
        changes: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        let full = format!("{catalog}.{name}");
        let mut properties = match self.schema(catalog, name).await? {
            Some(s) => s.properties,
            None => return Err(ClientError::Missing(format!("schema {full}"))),
        };
        properties.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.call(
            Request::new(Method::PATCH, format!("{UC}/schemas/{full}"))
                .json(json!({"properties": properties})),
        )
        .await
        .map(drop)
    }

    async fn update_permissions(
        &self,
        securable: Securable,
        full_name: &str,
        principal: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), ClientError> {
        let mut change = json!({"principal": principal});
        if !add.is_empty() {
            change["add"] = json!(add);
        }
        if !remove.is_empty() {
            change["remove"] = json!(remove);
        }
        // Adding or removing the same privileges twice changes nothing.
        self.call(
            Request::new(
                Method::PATCH,
                format!("{UC}/permissions/{}/{full_name}", securable.api()),
            )
            .json(json!({"changes": [change]}))
            .idempotent(),
        )
        .await
        .map(drop)
    }

    /// Runs a statement on the configured warehouse within the configured
    /// statement timeout.
    pub async fn execute(&self, sql: &str) -> Result<(), ClientError> {
        self.execute_within(sql, self.statement_timeout).await
    }

    /// Submits a statement, polls it while it is `PENDING` or `RUNNING`, and
    /// cancels it when it has not finished within `limit`.
    pub async fn execute_within(&self, sql: &str, limit: Duration) -> Result<(), ClientError> {
        let deadline = Instant::now() + limit;
        let wait = if limit >= Duration::from_secs(SUBMIT_WAIT_SECONDS)
            && self.request_timeout >= Duration::from_secs(2 * SUBMIT_WAIT_SECONDS)
        {
            SUBMIT_WAIT_SECONDS
        } else {
            0
        };
        let submit = Request::post(STATEMENTS)
            .json(json!({
                "warehouse_id": self.warehouse_id,
                "statement": sql,
                "wait_timeout": format!("{wait}s"),
                "on_wait_timeout": "CONTINUE",
                "disposition": "INLINE",
                "format": "JSON_ARRAY",
            }))
            // A statement must not run twice.
            .once();
        let mut answer: StatementAnswer = self.http.send(&submit).await?.decode(&submit)?;
        let mut pause = FIRST_POLL_PAUSE;
        loop {
            match answer.status.state.as_str() {
                "SUCCEEDED" => return Ok(()),
                "FAILED" => {
                    let error = answer.status.error.unwrap_or(StatementError {
                        error_code: None,
                        message: None,
                    });
                    return Err(ClientError::StatementFailed {
                        code: error.error_code,
                        message: error.message.unwrap_or_else(|| "no message".into()),
                    });
                }
                "PENDING" | "RUNNING" => {}
                other => {
                    return Err(ClientError::StatementEnded {
                        state: other.to_owned(),
                    });
                }
            }
            let now = Instant::now();
            if now >= deadline {
                self.cancel(&answer.statement_id).await;
                return Err(ClientError::StatementTimeout {
                    seconds: limit.as_secs(),
                });
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(MAX_POLL_PAUSE);
            let poll = Request::get(format!("{STATEMENTS}/{}", answer.statement_id));
            answer = self.http.send(&poll).await?.decode(&poll)?;
        }
    }

    /// Best effort: a statement that cannot be cancelled ends on its own.
    async fn cancel(&self, statement_id: &str) {
        let req = Request::post(format!("{STATEMENTS}/{statement_id}/cancel")).idempotent();
        match self.http.send(&req).await {
            Ok(_) => tracing::warn!(statement_id, "statement timed out: cancelled"),
            Err(e) => {
                tracing::warn!(statement_id, error = %e, "statement timed out; cancelling it failed")
            }
        }
    }

    /// Runs one set-up action.
    pub async fn run(&self, action: &Action) -> Result<(), ClientError> {
        match action {
            Action::CreateCatalog {
                name,
                comment,
                properties,
            } => self.create_catalog(name, comment, properties).await,
            Action::DeleteCatalog {
                name,
                only_if_marked,
            } => self.delete_catalog(name, *only_if_marked).await,
            Action::CreateSchema {
                catalog,
                name,
                comment,
                properties,
            } => self.create_schema(catalog, name, comment, properties).await,
            Action::DeleteSchema { catalog, name } => self.delete_schema(catalog, name).await,
            Action::Sql(statement) => self.execute(statement).await,
            Action::Grant {
                securable,
                full_name,
                principal,
                privileges,
            } => {
                self.update_permissions(*securable, full_name, principal, privileges, &[])
                    .await
            }
            Action::Revoke {
                securable,
                full_name,
                principal,
                privileges,
            } => {
                self.update_permissions(*securable, full_name, principal, &[], privileges)
                    .await
            }
            Action::SetSchemaProperties {
                catalog,
                name,
                properties,
            } => self.set_schema_properties(catalog, name, properties).await,
        }
    }
}

/// Whom a plan runs as: the stored configuration's principal (Databricks
/// takes no other credentials).
pub struct Login {
    pub config: DatabricksConfig,
}

/// A plan's session: one workspace client, so one cached OAuth token.
pub struct Session(pub Workspace);

#[async_trait::async_trait]
impl Executor<Action> for Session {
    type Error = ClientError;

    async fn exec(&mut self, action: Action) -> Result<(), ClientError> {
        self.0.run(&action).await
    }
}
