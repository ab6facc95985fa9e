//! Talking to Google: the service account's access token (a signed JWT
//! exchanged at the token endpoint, cached by the kit until shortly before it
//! expires), BigQuery's REST API v2 and Resource Manager's
//! `projects.testIamPermissions`, all on the kit's JSON-over-HTTPS client.
//!
//! One client serves both APIs, so one token serves a whole validation run or
//! operation: its base URL is empty and each request names its full URL.

use crate::config::BigQueryConfig;
use crate::credential::ServiceAccountKey;
use crate::jwt;
use junction_core::Secret;
use junction_kit::http::{Auth, HttpError, HttpOptions, JsonClient, Request, Token, TokenSource};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The label every dataset and table Junction makes carries: delete removes
/// (with its contents) only a dataset that has it.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "junction");

/// Exchanges the service account's signed JWT for an access token.
struct ServiceAccountTokens {
    key: ServiceAccountKey,
    token_uri: String,
    /// Its own client without auth: the API client holds its token cache's
    /// lock while a token is fetched, so sending through it would wait on itself.
    http: JsonClient,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[async_trait::async_trait]
impl TokenSource for ServiceAccountTokens {
    async fn fetch(&self, _api: &JsonClient) -> Result<Token, HttpError> {
        let assertion = jwt::assertion(&self.key, &self.token_uri, jwt::now())
            .map_err(|e| HttpError::Token(e.to_string()))?;
        let req = Request::token_endpoint(&self.token_uri).form(vec![
            ("grant_type".into(), Secret::new(jwt::GRANT_TYPE.into())),
            ("assertion".into(), assertion),
        ]);
        let answer: TokenAnswer = self.http.send(&req).await?.decode(&req)?;
        if answer.access_token.expose().is_empty() {
            return Err(HttpError::Token(
                "the token endpoint answered an empty access_token".into(),
            ));
        }
        Ok(Token {
            value: answer.access_token,
            expires_in: answer.expires_in.map(Duration::from_secs),
        })
    }
}

/// What looking the metadata dataset up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(Dataset),
    Absent,
    /// The service account may not read it: BigQuery says "or it may not exist".
    Denied(String),
}

/// The parts of a dataset resource Junction reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    pub location: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

impl Dataset {
    /// Whether Junction made it.
    pub fn managed_by_junction(&self) -> bool {
        self.labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
    }
}

/// A table's column, as BigQuery's `TableFieldSchema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// `INTEGER`, `STRING`, `TIMESTAMP`, …
    pub kind: &'static str,
    pub description: &'static str,
}

/// The reason of a Google error (`error.errors[0].reason`): `notFound`,
/// `duplicate`, `accessDenied`, `accessNotConfigured`, …
pub fn reason(e: &HttpError) -> Option<&str> {
    match e {
        HttpError::Status { body, .. } => body
            .pointer("/error/errors/0/reason")
            .and_then(Value::as_str),
        _ => None,
    }
}

/// BigQuery and Resource Manager for one integration's project, as its
/// service account.
#[derive(Debug)]
pub struct Google {
    http: JsonClient,
    project: String,
    bigquery: String,
    resource_manager: String,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Google {
    /// A client for the configuration's project. No call is made yet.
    pub fn new(config: &BigQueryConfig) -> Result<Self, HttpError> {
        let timeout = config.timeout();
        let options = HttpOptions {
            connect_timeout: timeout,
            request_timeout: timeout,
            ..HttpOptions::default()
        };
        let tokens = ServiceAccountTokens {
            key: config.credential.clone(),
            token_uri: config.token_uri().to_owned(),
            http: JsonClient::new("", options.clone(), Auth::None)?,
        };
        Ok(Google {
            http: JsonClient::new("", options, Auth::Source(Arc::new(tokens)))?,
            project: config.project_id().to_owned(),
            bigquery: config.endpoint().to_owned(),
            resource_manager: config.resource_manager_endpoint().to_owned(),
        })
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    fn datasets(&self) -> String {
        format!(
            "{}/bigquery/v2/projects/{}/datasets",
            self.bigquery,
            encode(&self.project)
        )
    }

    fn dataset_url(&self, dataset: &str) -> String {
        format!("{}/{}", self.datasets(), encode(dataset))
    }

    fn table_url(&self, dataset: &str, table: &str) -> String {
        format!("{}/tables/{}", self.dataset_url(dataset), encode(table))
    }

    /// `datasets.get`.
    pub async fn lookup_dataset(&self, dataset: &str) -> Result<Lookup, HttpError> {
        let req = Request::get(self.dataset_url(dataset));
        match self.http.send(&req).await {
            Ok(resp) => Ok(Lookup::Found(resp.decode(&req)?)),
            Err(e) if e.status() == Some(404) => Ok(Lookup::Absent),
            Err(e) if e.status() == Some(403) && reason(&e) == Some("accessDenied") => {
                Ok(Lookup::Denied(e.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    /// `datasets.insert`, labelled as Junction's.
    pub async fn create_dataset(
        &self,
        dataset: &str,
        location: &str,
        description: &str,
        labels: &[(&str, String)],
    ) -> Result<(), HttpError> {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
            .collect();
        let body = json!({
            "datasetReference": {"projectId": self.project, "datasetId": dataset},
            "location": location,
            "description": description,
            "labels": labels,
        });
        self.http
            .send(&Request::post(self.datasets()).json(body))
            .await
            .map(drop)
    }

    /// `datasets.delete` with its tables (`deleteContents=true`): only ever
    /// called for a dataset Junction made (see [`Dataset::managed_by_junction`]).
    /// Already gone counts as done.
    pub async fn delete_own_dataset(&self, dataset: &str) -> Result<(), HttpError> {
        let req = Request::delete(self.dataset_url(dataset)).query("deleteContents", "true");
        match self.http.send(&req).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) && reason(&e) == Some("notFound") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `tables.insert`.
    pub async fn create_table(
        &self,
        dataset: &str,
        table: &str,
        description: &str,
        columns: &[Column],
    ) -> Result<(), HttpError> {
        let fields: Vec<Value> = columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.kind, "mode": "NULLABLE", "description": c.description}))
            .collect();
        let body = json!({
            "tableReference": {"projectId": self.project, "datasetId": dataset, "tableId": table},
            "description": description,
            "labels": {MANAGED_BY.0: MANAGED_BY.1},
            "schema": {"fields": fields},
        });
        let url = format!("{}/tables", self.dataset_url(dataset));
        self.http
            .send(&Request::post(url).json(body))
            .await
            .map(drop)
    }

    /// `tables.delete`; already gone counts as done.
    pub async fn delete_table(&self, dataset: &str, table: &str) -> Result<(), HttpError> {
        match self
            .http
            .send(&Request::delete(self.table_url(dataset, table)))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `tabledata.insertAll` of one row, deduplicated by `insert_id` (so a
    /// retry cannot add it twice).
    pub async fn insert_row(
        &self,
        dataset: &str,
        table: &str,
        insert_id: &str,
        row: Value,
    ) -> Result<(), HttpError> {
        let url = format!("{}/insertAll", self.table_url(dataset, table));
        let body = json!({"rows": [{"insertId": insert_id, "json": row}]});
        let req = Request::post(url).json(body).idempotent();
        let resp = self.http.send(&req).await?;
        match resp.body.get("insertErrors").and_then(Value::as_array) {
            Some(errors) if !errors.is_empty() => Err(HttpError::Decode {
                request: req.describe(),
                cause: format!("the row was refused: {}", Value::Array(errors.clone())),
            }),
            _ => Ok(()),
        }
    }

    /// `tabledata.list`: the rows, each as its cells' values.
    pub async fn rows(&self, dataset: &str, table: &str) -> Result<Vec<Vec<Value>>, HttpError> {
        let url = format!("{}/data", self.table_url(dataset, table));
        let body: Value = self.http.get(&url).await?;
        let rows = body
            .get("rows")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.get("f")
                            .and_then(Value::as_array)
                            .map(|cells| {
                                cells
                                    .iter()
                                    .map(|c| c.get("v").cloned().unwrap_or(Value::Null))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(rows)
    }

    /// Resource Manager's `projects.testIamPermissions`: the subset of
    /// `permissions` the service account holds on the project.
    pub async fn held_permissions(&self, permissions: &[&str]) -> Result<Vec<String>, HttpError> {
        #[derive(Deserialize)]
        struct Held {
            #[serde(default)]
            permissions: Vec<String>,
        }
        let url = format!(
            "{}/v1/projects/{}:testIamPermissions",
            self.resource_manager,
            encode(&self.project)
        );
        // It changes nothing: safe to repeat.
        let req = Request::post(url)
            .json(json!({"permissions": permissions}))
            .idempotent();
        let held: Held = self.http.send(&req).await?.decode(&req)?;
        Ok(held.permissions)
    }
}
