//! The validation tests. Names and failure messages are the response
//! contract's, character for character, with every `[]` filled with the real
//! value (AWS's own status, error code, message and request id); descriptions
//! and every other message are ours.
//!
//! The first three need no network: they read the configuration and the other
//! S3 integrations (`CheckContext::other_peers`). The other four call AWS and
//! require the STS test, so that bad credentials give one clear failure
//! instead of four.

use crate::client::{self, AwsError, Clients};
use crate::config::{self, S3Config};
use junction_core::{Check, CheckContext, CheckOutcome, Fix};
use junction_kit::remedy::{self, shell_quote};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub const NO_MATCH: &str = "There is no existing integration matching this configuration";
pub const NAME_UNIQUE: &str =
    "The provided integration name is unique across Immuta S3 integrations";
pub const ROLE_ARN: &str = "The provided access grants location role is a valid ARN format";
pub const STS: &str =
    "The provided AWS credentials allow fetching the caller's identity via the AWS STS API";
pub const INSTANCE: &str =
    "An AWS Access Grants instance is configured in the provided AWS account and region";
pub const LIST_PREFIXES: &str = "The provided S3 path exists and Immuta can list prefixes";
pub const LOCATION_ABSENT: &str =
    "An AWS Access Grants location does not yet exist for the provided path";

pub const ROLE_ARN_INVALID: &str =
    "The specified access grants location role is not a valid ARN format.";

/// Longer than the longest per-call timeout a config may set, with room for
/// an AssumeRole before the call: the config's timeout, not the runner's,
/// decides when a call gives up.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(config::MAX_TIMEOUT_SECONDS * 2 + 10);
/// The static tests read memory only.
const STATIC_TIMEOUT: Duration = Duration::from_secs(5);
/// Prefixes asked for: one is enough to show that listing works.
const LIST_SAMPLE: i32 = 10;

/// `Found user ID [..], ARN [..] using STS.`
pub fn sts_found(user_id: &str, arn: &str) -> String {
    format!("Found user ID [{user_id}], ARN [{arn}] using STS.")
}

/// The contract's failure of the instance test.
pub fn instance_failed(e: &AwsError) -> String {
    format!(
        "{}: Unable to retrieve the access grants instance for account, region: {e}.",
        e.name()
    )
}

/// The contract's failure of the location test.
pub fn locations_failed(e: &AwsError, account: &str, scope: &str) -> String {
    format!(
        "{}: Unable to list S3 access grants locations for account [{account}], location scope [{scope}]: {e}.",
        e.name()
    )
}

/// The contract's warning of the listing test.
pub fn no_access(path: &str) -> String {
    format!(
        "Immuta does not have access to the requested path [{path}]. Without access, Immuta will be unable to assist with S3 path discovery during data source creation."
    )
}

/// Ours, for a failed STS call (the contract shows only the passing message).
pub fn sts_failed(e: &AwsError) -> String {
    format!(
        "{}: Unable to fetch the caller's identity via the AWS STS API: {e}.",
        e.name()
    )
}

/// Ours, for a role that could not be assumed.
pub fn assume_failed(e: &AwsError, role: &str) -> String {
    format!(
        "{}: Unable to assume the role [{role}] via the AWS STS API: {e}.",
        e.name()
    )
}

/// The listing test's remedy: an inline IAM policy that allows exactly the
/// listing the test does — `s3:ListBucket` on the bucket for the path's
/// prefix (`s3:ListAllMyBuckets` for `s3://`) — attached to `principal`, the
/// ARN the calls ran as (the assumed role, or the credentials' user or role).
/// An ARN that names neither leaves the user's name as a placeholder.
pub fn list_remedy(c: &S3Config, principal: Option<&str>) -> Fix {
    let partition = if c.aws_region.starts_with("cn-") {
        "aws-cn"
    } else if c.aws_region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let (statement, policy, what) = match c.location() {
        None => (
            json!({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}),
            "junction-list-buckets".to_owned(),
            "s3:ListAllMyBuckets".to_owned(),
        ),
        Some((bucket, "")) => (
            json!({"Effect": "Allow", "Action": "s3:ListBucket",
                   "Resource": format!("arn:{partition}:s3:::{bucket}")}),
            format!("junction-list-{bucket}"),
            format!("s3:ListBucket on the bucket {bucket}"),
        ),
        // The test lists `prefix/`; discovery lists below it.
        Some((bucket, prefix)) => (
            json!({"Effect": "Allow", "Action": "s3:ListBucket",
                   "Resource": format!("arn:{partition}:s3:::{bucket}"),
                   "Condition": {"StringLike": {"s3:prefix": [format!("{prefix}/"), format!("{prefix}/*")]}}}),
            format!("junction-list-{bucket}"),
            format!("s3:ListBucket on the bucket {bucket} under the prefix {prefix}/"),
        ),
    };
    let document = json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
    // An unknown user stays an unquoted placeholder: the shell refuses it
    // (`<` is a redirection) rather than the CLI acting on a wrong name.
    let (kind, name, arg) = match principal.map(principal_of) {
        Some(Some((kind, name))) => {
            let arg = shell_quote(&name);
            (kind, name, arg)
        }
        _ => {
            let name = remedy::placeholder("iam user name");
            ("user", name.clone(), name)
        }
    };
    remedy::shell(
        format!("{what}, for the IAM {kind} {name}"),
        [format!(
            "aws iam put-{kind}-policy --{kind}-name {arg} --policy-name {} --policy-document {}",
            shell_quote(&policy),
            shell_quote(&document)
        )],
    )
}

/// `("role", name)` or `("user", name)` of an IAM role, an assumed-role
/// session or an IAM user ARN; `None` for anything else (the root user).
fn principal_of(arn: &str) -> Option<(&'static str, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let last = |path: &str| path.rsplit('/').next().map(str::to_owned);
    if let Some(path) = resource.strip_prefix("role/") {
        Some(("role", last(path)?))
    } else if let Some(rest) = resource.strip_prefix("assumed-role/") {
        Some(("role", rest.split('/').next()?.to_owned()))
    } else if let Some(path) = resource.strip_prefix("user/") {
        Some(("user", last(path)?))
    } else {
        None
    }
}

fn peer_str<'a>(config: &'a Value, field: &str) -> Option<&'a str> {
    config.get(field).and_then(Value::as_str)
}

/// Ours, for the standard chain finding no credentials.
pub fn no_credentials(e: &AwsError) -> String {
    format!(
        "{}: Unable to fetch the caller's identity via the AWS STS API: {e}.",
        e.name()
    )
}

/// Clients, or the test's failure when the credentials cannot be set up
/// (none found by the standard chain, or the assumed role refused).
/// The clients of one validation run, built once for the tests that call AWS
/// (they start together): the SDK's configuration is loaded once, and the
/// calls share its connection pools. Kept only for the very configuration
/// they were built for (the same `Arc`, held here so its address is not reused).
#[derive(Default)]
struct RunClients(tokio::sync::Mutex<Option<(Arc<S3Config>, Result<Clients, CheckOutcome>)>>);

impl RunClients {
    async fn get(&self, c: &Arc<S3Config>) -> Result<Clients, CheckOutcome> {
        let mut slot = self.0.lock().await;
        if let Some((built_for, clients)) = slot.as_ref()
            && Arc::ptr_eq(built_for, c)
        {
            return clients.clone();
        }
        let clients = clients_or_failure(c).await;
        *slot = Some((Arc::clone(c), clients.clone()));
        clients
    }
}

async fn clients_or_failure(c: &S3Config) -> Result<Clients, CheckOutcome> {
    client::connect(c).await.map_err(|e| {
        tracing::warn!(error = %e, "could not set up the AWS credentials");
        match (&e, c.aws_role_to_assume.as_deref()) {
            (AwsError::Credentials(_), _) | (_, None) => CheckOutcome::failed(no_credentials(&e)),
            (_, Some(role)) => CheckOutcome::failed(assume_failed(&e, role)),
        }
    })
}

fn no_match(c: &S3Config, ctx: &CheckContext) -> CheckOutcome {
    let clash = ctx.other_peers().find(|p| {
        peer_str(&p.config, "awsAccountId") == Some(c.aws_account_id.as_str())
            && peer_str(&p.config, "awsRegion") == Some(c.aws_region.as_str())
            && peer_str(&p.config, "awsLocationPath") == Some(c.aws_location_path.as_str())
    });
    match clash {
        None => CheckOutcome::passed(),
        Some(p) => CheckOutcome::failed(format!(
            "The S3 integration with ID [{}] already uses account [{}], region [{}] and path [{}]. Edit that integration, or choose another path.",
            p.id, c.aws_account_id, c.aws_region, c.aws_location_path
        )),
    }
}

fn name_unique(c: &S3Config, ctx: &CheckContext) -> CheckOutcome {
    let name = c.name.trim();
    let clash = ctx
        .other_peers()
        .find(|p| peer_str(&p.config, "name").is_some_and(|n| n.trim().eq_ignore_ascii_case(name)));
    match clash {
        None => CheckOutcome::passed(),
        Some(p) => CheckOutcome::failed(format!(
            "The integration name [{}] is already used by the S3 integration with ID [{}]. Choose another name.",
            c.name, p.id
        )),
    }
}

fn role_arn(c: &S3Config) -> CheckOutcome {
    if config::is_role_arn(&c.aws_location_role) {
        CheckOutcome::passed()
    } else {
        CheckOutcome::failed(ROLE_ARN_INVALID)
    }
}

async fn sts(c: &Arc<S3Config>, run: &RunClients) -> CheckOutcome {
    let clients = match run.get(c).await {
        Ok(clients) => clients,
        Err(outcome) => return outcome,
    };
    match clients.caller_identity().await {
        Ok(id) => {
            if !id.account.is_empty() && id.account != c.aws_account_id {
                // Access Grants calls name the configured account; another
                // account's credentials will be refused there, with their own message.
                tracing::info!(caller_account = %id.account, "credentials belong to another account than awsAccountId");
            }
            CheckOutcome::passed_with(sts_found(&id.user_id, &id.arn))
        }
        Err(e) => {
            tracing::warn!(error = %e, "STS GetCallerIdentity failed");
            CheckOutcome::failed(sts_failed(&e))
        }
    }
}

async fn instance(c: &Arc<S3Config>, run: &RunClients) -> CheckOutcome {
    let clients = match run.get(c).await {
        Ok(clients) => clients,
        Err(outcome) => return outcome,
    };
    match clients.access_grants_instance().await {
        Ok(arn) => CheckOutcome::passed_with(format!(
            "Found the access grants instance [{arn}] in account [{}], region [{}].",
            c.aws_account_id, c.aws_region
        )),
        Err(e) => {
            tracing::warn!(error = %e, "GetAccessGrantsInstance failed");
            CheckOutcome::failed(instance_failed(&e))
        }
    }
}

async fn list_prefixes(c: &Arc<S3Config>, run: &RunClients) -> CheckOutcome {
    let clients = match run.get(c).await {
        Ok(clients) => clients,
        Err(outcome) => return outcome,
    };
    match clients.list_prefixes(c.location(), LIST_SAMPLE).await {
        Ok(found) => CheckOutcome::passed_with(format!(
            "Listed the path [{}]: {} prefix(es) found at its first level{}.",
            c.aws_location_path,
            found.len(),
            if found.len() as i32 >= LIST_SAMPLE {
                " (at least)"
            } else {
                ""
            }
        )),
        Err(e) => {
            // Only path discovery suffers: a warning. The contract's message
            // is fixed; AWS's answer goes to the log.
            tracing::warn!(error = %e, path = %c.aws_location_path, "listing the S3 path failed");
            let outcome = CheckOutcome::warning(no_access(&c.aws_location_path));
            if e.code() != Some("AccessDenied") {
                // Another cause (no such bucket, say): no grant would fix it.
                return outcome;
            }
            // Whom to grant: the assumed role, else whoever STS says we are.
            let principal = match &c.aws_role_to_assume {
                Some(role) => Some(role.clone()),
                None => clients.caller_identity().await.ok().map(|id| id.arn),
            };
            outcome.with_remedy(list_remedy(c, principal.as_deref()))
        }
    }
}

async fn location_absent(c: &Arc<S3Config>, ctx: &CheckContext, run: &RunClients) -> CheckOutcome {
    let clients = match run.get(c).await {
        Ok(clients) => clients,
        Err(outcome) => return outcome,
    };
    match clients.locations_for(&c.aws_location_path).await {
        Ok(found) => match found.first() {
            None => CheckOutcome::passed(),
            Some(l) => {
                let own = ctx
                    .own_stored_config()
                    .and_then(|s| peer_str(s, "awsLocationPath"))
                    .is_some_and(|p| p == c.aws_location_path);
                if own {
                    CheckOutcome::passed_with(format!(
                        "The access grants location [{}] for the path [{}] is the one this integration registered.",
                        l.id, c.aws_location_path
                    ))
                } else {
                    CheckOutcome::failed(format!(
                        "An access grants location [{}] already exists for the path [{}] in account [{}], region [{}], with the IAM role [{}]. Remove it, or choose another path.",
                        l.id, c.aws_location_path, c.aws_account_id, c.aws_region, l.iam_role_arn
                    ))
                }
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "ListAccessGrantsLocations failed");
            CheckOutcome::failed(locations_failed(
                &e,
                &c.aws_account_id,
                &c.aws_location_path,
            ))
        }
    }
}

pub fn checks() -> Vec<Check<S3Config>> {
    let run = Arc::new(RunClients::default());
    let (r1, r2, r3, r4) = (Arc::clone(&run), Arc::clone(&run), Arc::clone(&run), run);
    vec![
        Check::new(
            NO_MATCH,
            "Verifies that no other S3 integration uses the same AWS account, region and path.",
            |c: Arc<S3Config>, ctx| async move { no_match(&c, &ctx) },
        )
        .timeout(STATIC_TIMEOUT),
        Check::new(
            NAME_UNIQUE,
            "Verifies that no other S3 integration has the same name (compared without case).",
            |c: Arc<S3Config>, ctx| async move { name_unique(&c, &ctx) },
        )
        .timeout(STATIC_TIMEOUT),
        Check::new(
            ROLE_ARN,
            "Verifies that the access grants location role is an IAM role ARN (arn:aws:iam::<account>:role/<name>).",
            |c: Arc<S3Config>, _ctx| async move { role_arn(&c) },
        )
        .timeout(STATIC_TIMEOUT),
        Check::new(
            STS,
            "Calls STS GetCallerIdentity with the configured credentials (after assuming awsRoleToAssume, when set) and reports the identity found.",
            move |c: Arc<S3Config>, _ctx| {
                let run = Arc::clone(&r1);
                async move { sts(&c, &run).await }
            },
        )
        .timeout(NETWORK_TIMEOUT),
        Check::new(
            INSTANCE,
            "Calls S3 Control GetAccessGrantsInstance for the configured account and region.",
            move |c: Arc<S3Config>, _ctx| {
                let run = Arc::clone(&r2);
                async move { instance(&c, &run).await }
            },
        )
        .requires(STS)
        // Read-only: sent beside STS, so validation is one round trip.
        .speculative()
        .timeout(NETWORK_TIMEOUT),
        Check::new(
            LIST_PREFIXES,
            "Lists the first level of prefixes under the configured path (S3 ListObjectsV2 with a delimiter; ListBuckets for s3://). A failure is a warning: only path discovery suffers.",
            move |c: Arc<S3Config>, _ctx| {
                let run = Arc::clone(&r3);
                async move { list_prefixes(&c, &run).await }
            },
        )
        .requires(STS)
        .speculative()
        .timeout(NETWORK_TIMEOUT),
        Check::new(
            LOCATION_ABSENT,
            "Calls S3 Control ListAccessGrantsLocations for the configured path and verifies that no location is registered for it yet (on an edit, the integration's own location passes).",
            move |c: Arc<S3Config>, ctx| {
                let run = Arc::clone(&r4);
                async move { location_absent(&c, &ctx, &run).await }
            },
        )
        .requires(STS)
        .requires(INSTANCE)
        .speculative()
        .timeout(NETWORK_TIMEOUT),
    ]
}
