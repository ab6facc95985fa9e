//! The `config` object of a Native S3 integration, and the rules its values
//! must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types (with the JSON path, through
//! `junction_core::config::from_json_at`); [`validate`] rejects values that
//! parse but cannot work, each with its path under `config`. The location
//! role's ARN format is deliberately *not* checked here: the contract has a
//! validation test for it ([`crate::checks::ROLE_ARN`]), which could never fail
//! if the payload were refused first.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Seconds one AWS call may take, retries included, when the payload sets none.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// Upper bound, so that a validation run always ends in reasonable time.
pub const MAX_TIMEOUT_SECONDS: u64 = 60;
/// The scheme every S3 path starts with.
pub const S3_SCHEME: &str = "s3://";

/// Where Junction's AWS credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationType {
    /// The standard AWS credential chain of the host running Junction:
    /// environment variables, shared profile files, web identity, the ECS
    /// container role and the EC2 instance role.
    Auto,
    /// `awsAccessKeyId` and `awsSecretAccessKey` from this configuration.
    AccessKey,
}

/// The `config` of a Native S3 integration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Config {
    /// The integration's name: unique among S3 integrations.
    pub name: String,
    /// The 12-digit AWS account that holds the Access Grants instance.
    pub aws_account_id: String,
    /// The AWS region of the Access Grants instance, e.g. `us-east-1`.
    pub aws_region: String,
    /// The IAM role (ARN) that S3 Access Grants assumes for the location.
    pub aws_location_role: String,
    /// The base path registered as an Access Grants location:
    /// `s3://bucket` or `s3://bucket/prefix` (`s3://` alone: every bucket of
    /// the account). A trailing `/` is dropped: `s3://bucket/prefix/` is
    /// `s3://bucket/prefix`.
    #[serde(deserialize_with = "path_without_trailing_slash")]
    pub aws_location_path: String,
    /// An IAM role (ARN) to assume with the credentials before any call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_role_to_assume: Option<String>,
    pub authentication_type: AuthenticationType,
    /// With `authenticationType: accessKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_access_key_id: Option<String>,
    /// With `authenticationType: accessKey`. Never in a response, log or error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_secret_access_key: Option<Secret<String>>,
    /// Sends every AWS call (STS, S3, S3 Control) to this URL instead of the
    /// public AWS endpoints: for a VPC or private endpoint that serves them,
    /// and for tests against local stand-ins. S3 is then addressed path-style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Seconds one AWS call may take, retries included (1–60, default 10).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl S3Config {
    /// The path's bucket and prefix (`None` for `s3://`, every bucket).
    pub fn location(&self) -> Option<(&str, &str)> {
        split_path(&self.aws_location_path)
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds)
    }
}

/// `s3://bucket/prefix` as `(bucket, prefix)`; `None` for `s3://` or a path
/// without the scheme.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(S3_SCHEME)?;
    if rest.is_empty() {
        return None;
    }
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &S3Config) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    if c.name.trim().is_empty() {
        errors.push("config.name", "must not be empty");
    } else if c.name.len() > 255 {
        errors.push("config.name", "must be at most 255 bytes long");
    }
    if !is_account_id(&c.aws_account_id) {
        errors.push("config.awsAccountId", "must be exactly 12 digits");
    }
    if !is_region(&c.aws_region) {
        errors.push(
            "config.awsRegion",
            "must be an AWS region name such as us-east-1",
        );
    }
    if c.aws_location_role.trim().is_empty() {
        errors.push("config.awsLocationRole", "must not be empty");
    }
    if let Err(why) = check_path(&c.aws_location_path) {
        errors.push("config.awsLocationPath", why);
    }
    if let Some(role) = &c.aws_role_to_assume {
        if !is_role_arn(role) {
            errors.push(
                "config.awsRoleToAssume",
                "must be an IAM role ARN: arn:aws:iam::123456789012:role/name",
            );
        }
    }
    match c.authentication_type {
        AuthenticationType::AccessKey => {
            match c.aws_access_key_id.as_deref() {
                None | Some("") => errors.push(
                    "config.awsAccessKeyId",
                    "is required with authenticationType accessKey",
                ),
                Some(id) if !is_access_key_id(id) => errors.push(
                    "config.awsAccessKeyId",
                    "must be 16 to 128 upper-case letters and digits",
                ),
                Some(_) => {}
            }
            if c.aws_secret_access_key
                .as_ref()
                .is_none_or(|s| s.expose().is_empty())
            {
                errors.push(
                    "config.awsSecretAccessKey",
                    "is required with authenticationType accessKey",
                );
            }
        }
        AuthenticationType::Auto => {
            // Keys that would be silently ignored are a mistake worth naming.
            if c.aws_access_key_id.is_some() {
                errors.push(
                    "config.awsAccessKeyId",
                    "is only taken with authenticationType accessKey",
                );
            }
            if c.aws_secret_access_key.is_some() {
                errors.push(
                    "config.awsSecretAccessKey",
                    "is only taken with authenticationType accessKey",
                );
            }
        }
    }
    if let Some(url) = &c.endpoint_url {
        if let Err(why) = check_endpoint_url(url) {
            errors.push("config.endpointUrl", why);
        }
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&c.timeout_seconds) {
        errors.push(
            "config.timeoutSeconds",
            format!("must be between 1 and {MAX_TIMEOUT_SECONDS}"),
        );
    }
    errors.into_result()
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, …: lowercase
/// words joined by hyphens, ending in a number.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    s.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `arn:<partition>:iam::<12 digits>:role/<optional path/><name>`, with IAM's
/// characters for role names and paths.
pub fn is_role_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let partition_ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        || (partition.starts_with("aws-")
            && partition[4..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'));
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return false;
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let iam_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    partition_ok
        && is_account_id(account)
        && (1..=64).contains(&name.len())
        && path_and_name.len() <= 512 + 64
        && path_and_name.chars().all(|c| iam_char(c) || c == '/')
        && !path_and_name.contains("//")
}

/// The path as written, less the trailing `/`s users add to a prefix (a
/// location's scope has none); `s3://` itself stays.
fn path_without_trailing_slash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let path = String::deserialize(d)?;
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.len() < S3_SCHEME.len() {
        path
    } else {
        trimmed.to_owned()
    })
}

/// `s3://`, `s3://bucket` or `s3://bucket/prefix`: a valid bucket name, no
/// empty segment, no trailing `/`, no whitespace or control characters.
pub fn check_path(path: &str) -> Result<(), String> {
    let Some(rest) = path.strip_prefix(S3_SCHEME) else {
        return Err("must start with s3://, e.g. s3://bucket/prefix".into());
    };
    if rest.is_empty() {
        return Ok(());
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters".into());
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket(bucket)?;
    if rest.ends_with('/') {
        return Err("must not end with /: write s3://bucket/prefix".into());
    }
    if !prefix.is_empty() && prefix.split('/').any(str::is_empty) {
        return Err("must not contain an empty segment (//)".into());
    }
    if path.len() > 2000 {
        return Err("must be at most 2000 bytes long".into());
    }
    Ok(())
}

/// S3's bucket naming rules: 3–63 of lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit, no `..`, not an IP address.
fn check_bucket(b: &str) -> Result<(), String> {
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let edge = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len())
        || !ok_chars
        || !edge(b.bytes().next())
        || !edge(b.bytes().last())
        || b.contains("..")
        || b.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Err(format!(
            "\"{b}\" is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

/// An absolute `https://` URL (or `http://` to a loopback address, for a
/// local stand-in) with a host and no query or fragment.
pub fn check_endpoint_url(url: &str) -> Result<(), String> {
    junction_kit::config::check_url(url, true)
}
