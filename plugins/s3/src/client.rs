//! Talking to AWS with the official SDK: credentials (the standard chain or
//! the configuration's access key, then an optional assumed role), the STS,
//! S3 and S3 Control clients, and AWS errors turned into the values the
//! contract's messages quote (HTTP status, error code, message, request id).

use crate::config::{AuthenticationType, S3Config};
use crate::scripts::LocationAction;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};
use aws_sdk_sts::config::SharedHttpClient;
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use std::time::Duration;

/// Longest a TCP (and TLS) connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per call: one retry of a throttled or 5xx answer, no more, so that
/// a validation run or a rollback ends within the configured timeout.
const MAX_ATTEMPTS: u32 = 2;
/// The session name Junction's assumed-role sessions carry (CloudTrail shows it).
const SESSION_NAME: &str = "junction";

/// Why an AWS call failed. Never holds a secret: AWS's messages don't quote
/// them, and transport errors name only addresses and causes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// AWS answered with an error.
    #[error(
        "AWS responded with code [{status}], name [{code}] and message [{message}] for request ID [{request_id}]"
    )]
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// No answer: the endpoint could not be reached, timed out, or the
    /// credentials could not be loaded.
    #[error("no answer from AWS: {0}")]
    Transport(String),
    /// The standard credential chain (`authenticationType: auto`) found no
    /// usable credentials.
    #[error("no AWS credentials were found by the standard chain: {0}")]
    Credentials(String),
    /// AWS answered, but not as expected.
    #[error("{0}")]
    Unexpected(String),
}

impl AwsError {
    /// The AWS error code (`AccessDenied`, …), when AWS answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The error name that leads the contract's messages: the AWS code, or a
    /// word of ours when AWS did not answer.
    pub fn name(&self) -> &str {
        match self {
            AwsError::Service { code, .. } => code,
            AwsError::Transport(_) => "ConnectionError",
            AwsError::Credentials(_) => "CredentialsError",
            AwsError::Unexpected(_) => "UnexpectedResponse",
        }
    }
}

/// Turns any SDK error into an [`AwsError`] with the real status, code,
/// message and request id.
pub fn aws_error<E>(err: SdkError<E>) -> AwsError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let status = ctx.raw().status().as_u16();
            // Some servers (moto's auth layer, for one) wrap errors in a shape
            // the SDK's parser for the service does not read: the code and
            // message are then taken from the body's first <Code>/<Message>.
            let body = ctx.raw().body().bytes().map(String::from_utf8_lossy);
            let from_body = |tag: &str| body.as_deref().and_then(|b| xml_text(b, tag));
            let code = e
                .code()
                .map(str::to_owned)
                .or_else(|| from_body("Code"))
                .unwrap_or_else(|| format!("HTTP{status}"));
            let message = e
                .message()
                .map(str::to_owned)
                .or_else(|| from_body("Message"))
                .unwrap_or_default();
            AwsError::Service {
                status,
                code,
                message,
                request_id: e
                    .request_id()
                    .map(str::to_owned)
                    .or_else(|| {
                        let headers = ctx.raw().headers();
                        headers
                            .get("x-amzn-requestid")
                            .or_else(|| headers.get("x-amz-request-id"))
                            .map(str::to_owned)
                    })
                    .or_else(|| from_body("RequestId"))
                    .unwrap_or_default(),
            }
        }
        _ => AwsError::Transport(DisplayErrorContext(&err).to_string()),
    }
}

/// The text of the first `<tag>…</tag>` in an XML body, entities decoded.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(
        body[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// S3 Control's endpoint when `endpointUrl` is set. The SDK's own resolver
/// would put the account id in front of the host (`123456789012.host`), which
/// names no server behind a private endpoint or a stand-in.
#[derive(Debug, Clone)]
struct FixedEndpoint(String);

impl ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
    }
}

/// The three clients, sharing one set of credentials and settings.
#[derive(Clone, Debug)]
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub control: aws_sdk_s3control::Client,
    pub account_id: String,
}

/// The SDK settings for a configuration, with the base credentials (before
/// any role is assumed).
async fn base_config(c: &S3Config, http: Option<SharedHttpClient>) -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(c.timeout())
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(c.aws_region.clone()))
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(url) = &c.endpoint_url {
        loader = loader.endpoint_url(url.trim_end_matches('/'));
    }
    if let Some(http) = http {
        loader = loader.http_client(http);
    }
    if c.authentication_type == AuthenticationType::AccessKey {
        let secret = c
            .aws_secret_access_key
            .as_ref()
            .map(|s| s.expose().clone())
            .unwrap_or_default();
        // The SDK's Credentials redact the secret in Debug.
        loader = loader.credentials_provider(Credentials::new(
            c.aws_access_key_id.clone().unwrap_or_default(),
            secret,
            None,
            None,
            "junction-config",
        ));
    }
    // With `auto`, the loader builds the standard chain (environment, profile,
    // web identity, ECS, IMDS); nothing is fetched until the first call.
    loader.load().await
}

/// STS `AssumeRole`, done here rather than by the SDK's provider so that a
/// refusal comes back as AWS's own error (code, message, request id) instead
/// of a generic credentials failure.
async fn assume_role(base: &SdkConfig, role: &str) -> Result<Credentials, AwsError> {
    let sts = aws_sdk_sts::Client::new(base);
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(SESSION_NAME)
        .send()
        .await
        .map_err(aws_error)?;
    let creds = out.credentials().ok_or_else(|| {
        AwsError::Unexpected("STS AssumeRole answered without credentials".into())
    })?;
    Ok(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        std::time::SystemTime::try_from(*creds.expiration()).ok(),
        "junction-assumed-role",
    ))
}

/// Runs the standard chain once, so that finding no credentials is said as
/// such (the SDK would report it as a failed request), and so that the chain
/// (which may probe the instance metadata service) runs once per connect.
async fn resolve_chain(sdk: SdkConfig) -> Result<SdkConfig, AwsError> {
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(AwsError::Credentials("no credential provider".into()));
    };
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::Credentials(DisplayErrorContext(&e).to_string()))?;
    Ok(sdk
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build())
}

/// The clients for a configuration; assumes `awsRoleToAssume` first when set.
pub async fn connect(c: &S3Config) -> Result<Clients, AwsError> {
    connect_via(c, None).await
}

/// [`connect`], sending through `http` instead of the SDK's HTTPS client
/// (tests see where each call would go, with no network).
pub async fn connect_via(
    c: &S3Config,
    http: Option<SharedHttpClient>,
) -> Result<Clients, AwsError> {
    let mut sdk = base_config(c, http).await;
    if c.authentication_type == AuthenticationType::Auto {
        sdk = resolve_chain(sdk).await?;
    }
    if let Some(role) = &c.aws_role_to_assume {
        let creds = assume_role(&sdk, role).await?;
        sdk = sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(creds))
            .build();
    }
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        // A custom endpoint serves buckets as paths, not as host names.
        .force_path_style(c.endpoint_url.is_some())
        .build();
    let mut control = aws_sdk_s3control::config::Builder::from(&sdk);
    if let Some(url) = &c.endpoint_url {
        control = control.endpoint_resolver(FixedEndpoint(url.trim_end_matches('/').to_owned()));
    }
    Ok(Clients {
        sts: aws_sdk_sts::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(s3),
        control: aws_sdk_s3control::Client::from_conf(control.build()),
        account_id: c.aws_account_id.clone(),
    })
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub arn: String,
    pub account: String,
}

impl Clients {
    /// STS `GetCallerIdentity`.
    pub async fn caller_identity(&self) -> Result<Identity, AwsError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(aws_error)?;
        Ok(Identity {
            user_id: out.user_id().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
            account: out.account().unwrap_or_default().to_owned(),
        })
    }

    /// S3 Control `GetAccessGrantsInstance`: the instance's ARN.
    pub async fn access_grants_instance(&self) -> Result<String, AwsError> {
        let out = self
            .control
            .get_access_grants_instance()
            .account_id(&self.account_id)
            .send()
            .await
            .map_err(aws_error)?;
        Ok(out
            .access_grants_instance_arn()
            .unwrap_or_default()
            .to_owned())
    }

    /// Up to `max` common prefixes (and, for `s3://`, bucket names) directly
    /// under the configured path. Errors name a missing bucket or a refusal.
    pub async fn list_prefixes(
        &self,
        location: Option<(&str, &str)>,
        max: i32,
    ) -> Result<Vec<String>, AwsError> {
        let Some((bucket, prefix)) = location else {
            let out = self.s3.list_buckets().send().await.map_err(aws_error)?;
            return Ok(out
                .buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned))
                .collect());
        };
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let out = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .max_keys(max)
            .send()
            .await
            .map_err(aws_error)?;
        Ok(out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect())
    }

    /// Every Access Grants location whose scope is exactly `scope`.
    pub async fn locations_for(&self, scope: &str) -> Result<Vec<Location>, AwsError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a server that keeps returning tokens cannot loop us forever.
        for _ in 0..100 {
            let out = self
                .control
                .list_access_grants_locations()
                .account_id(&self.account_id)
                .location_scope(scope)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(aws_error)?;
            for l in out.access_grants_locations_list() {
                if l.location_scope() == Some(scope) {
                    found.push(Location {
                        id: l.access_grants_location_id().unwrap_or_default().to_owned(),
                        scope: scope.to_owned(),
                        iam_role_arn: l.iam_role_arn().unwrap_or_default().to_owned(),
                    });
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(found),
            }
        }
        Err(AwsError::Unexpected(
            "ListAccessGrantsLocations kept returning more pages".into(),
        ))
    }

    /// S3 Control `CreateAccessGrantsLocation`: the new location's id.
    pub async fn create_location(&self, scope: &str, role: &str) -> Result<String, AwsError> {
        let out = self
            .control
            .create_access_grants_location()
            .account_id(&self.account_id)
            .location_scope(scope)
            .iam_role_arn(role)
            .send()
            .await
            .map_err(aws_error)?;
        Ok(out
            .access_grants_location_id()
            .unwrap_or_default()
            .to_owned())
    }

    /// S3 Control `UpdateAccessGrantsLocation`: a new IAM role.
    pub async fn update_location_role(&self, id: &str, role: &str) -> Result<(), AwsError> {
        self.control
            .update_access_grants_location()
            .account_id(&self.account_id)
            .access_grants_location_id(id)
            .iam_role_arn(role)
            .send()
            .await
            .map_err(aws_error)?;
        Ok(())
    }

    /// S3 Control `DeleteAccessGrantsLocation`.
    pub async fn delete_location(&self, id: &str) -> Result<(), AwsError> {
        self.control
            .delete_access_grants_location()
            .account_id(&self.account_id)
            .access_grants_location_id(id)
            .send()
            .await
            .map_err(aws_error)?;
        Ok(())
    }
}

/// An Access Grants location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: String,
    pub scope: String,
    pub iam_role_arn: String,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{call} for location scope [{scope}]: {source}")]
    Aws {
        call: &'static str,
        scope: String,
        source: AwsError,
    },
    #[error("no Access Grants location is registered for the scope [{0}]")]
    Missing(String),
    #[error("the location for the scope [{scope}] has the IAM role [{found}], not [{expected}]")]
    WrongRole {
        scope: String,
        found: String,
        expected: String,
    },
}

fn aws(call: &'static str, scope: &str) -> impl FnOnce(AwsError) -> StepError {
    let scope = scope.to_owned();
    move |source| StepError::Aws {
        call,
        scope,
        source,
    }
}

/// Reads of the location after a write: attempts, and the pause between them.
const VERIFY_ATTEMPTS: u32 = 3;
const VERIFY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

#[junction_core::async_trait]
impl junction_kit::Executor<LocationAction> for Clients {
    type Error = StepError;

    /// Runs one action with the clients of the configuration in force.
    async fn exec(&mut self, action: LocationAction) -> Result<(), StepError> {
        let clients = &*self;
        match action {
            LocationAction::Create { scope, role, .. } => {
                let id = clients
                    .create_location(&scope, &role)
                    .await
                    .map_err(aws("CreateAccessGrantsLocation", &scope))?;
                tracing::info!(location_id = %id, scope = %scope, "created the Access Grants location");
                Ok(())
            }
            LocationAction::UpdateRole { scope, role, .. } => {
                let found = clients
                    .locations_for(&scope)
                    .await
                    .map_err(aws("ListAccessGrantsLocations", &scope))?;
                let Some(location) = found.first() else {
                    return Err(StepError::Missing(scope));
                };
                clients
                    .update_location_role(&location.id, &role)
                    .await
                    .map_err(aws("UpdateAccessGrantsLocation", &scope))?;
                tracing::info!(location_id = %location.id, role = %role, "updated the location's IAM role");
                Ok(())
            }
            LocationAction::Delete { scope, .. } => {
                let found = clients
                    .locations_for(&scope)
                    .await
                    .map_err(aws("ListAccessGrantsLocations", &scope))?;
                if found.is_empty() {
                    tracing::info!(scope = %scope, "no Access Grants location to delete");
                }
                for location in found {
                    clients
                        .delete_location(&location.id)
                        .await
                        .map_err(aws("DeleteAccessGrantsLocation", &scope))?;
                    tracing::info!(location_id = %location.id, "deleted the Access Grants location");
                }
                Ok(())
            }
            LocationAction::Verify { scope, role, .. } => {
                let mut attempt = 1;
                loop {
                    let found = clients
                        .locations_for(&scope)
                        .await
                        .map_err(aws("ListAccessGrantsLocations", &scope))?;
                    let outcome = match found.first() {
                        None => Err(StepError::Missing(scope.clone())),
                        Some(l) if l.iam_role_arn != role => Err(StepError::WrongRole {
                            scope: scope.clone(),
                            found: l.iam_role_arn.clone(),
                            expected: role.clone(),
                        }),
                        Some(_) => Ok(()),
                    };
                    // A read right after a write may not see it yet: a few short
                    // retries before the step fails and the plan rolls back.
                    match outcome {
                        Err(e) if attempt < VERIFY_ATTEMPTS => {
                            tracing::debug!(error = %e, attempt, "location not as expected yet");
                            attempt += 1;
                            tokio::time::sleep(VERIFY_PAUSE).await;
                        }
                        other => return other,
                    }
                }
            }
        }
    }
}
