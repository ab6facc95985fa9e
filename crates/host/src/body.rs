//! Request bodies: JSON or YAML into a JSON value, then the payload
//! `{type, autoBootstrap, config}`, every error with its path.

use crate::error::ApiError;
pub use crate::payload::{BODY, Payload};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

/// The largest body accepted.
pub const MAX_BODY: usize = 256 * 1024;

/// The body's format, from `Content-Type` (JSON when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

pub fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Format::Json);
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.contains("yaml") {
        Ok(Format::Yaml)
    } else if mime.starts_with("multipart/") {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {mime} is not accepted: send application/json or application/yaml."
            ),
        )
        .with_details(vec![junction_core::FieldError::new(
            BODY,
            "unsupported content type",
        )]))
    } else {
        // JSON, and anything else a client sends by default (curl's form type, text/plain).
        Ok(Format::Json)
    }
}

/// Parses a body in `format` into a JSON value. An empty body is `None`.
pub fn parse_value(bytes: &[u8], format: Format) -> Result<Option<Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if bytes.len() > MAX_BODY {
        return Err(too_large());
    }
    let parsed = match format {
        Format::Json => serde_json::from_slice::<Value>(bytes)
            .map_err(|e| format!("the body is not valid JSON: {e}")),
        Format::Yaml => serde_norway::from_slice::<Value>(bytes)
            .map_err(|e| format!("the body is not valid YAML: {e}")),
    };
    match parsed {
        Ok(mut v) => {
            whole_numbers(&mut v);
            Ok(Some(v))
        }
        Err(msg) => Err(ApiError::field(BODY, msg)),
    }
}

/// `1.0` as `1`: JSON has one kind of number and JSON Schema's `integer`
/// takes both spellings, so the typed configs' integer fields must too.
fn whole_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // A whole f64 in range converts exactly (every f64 from 2^53 on is whole).
            if f.fract() == 0.0 {
                if (-9.223_372_036_854_775_808e18..0.0).contains(&f) {
                    *v = Value::from(f as i64);
                } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    *v = Value::from(f as u64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(whole_numbers),
        Value::Object(o) => o.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The body is larger than {MAX_BODY} bytes."),
    )
    .with_details(vec![junction_core::FieldError::new(BODY, "too large")])
}

/// A payload from a parsed body.
pub fn payload(value: Option<Value>) -> Result<Payload, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::field(
            BODY,
            "a body {type, autoBootstrap, config} is required",
        ));
    };
    if !value.is_object() {
        return Err(ApiError::field(
            BODY,
            "must be an object {type, autoBootstrap, config}",
        ));
    }
    let p: Payload = junction_core::config::from_json_at(&value, "").map_err(ApiError::invalid)?;
    if !p.config.is_object() {
        return Err(ApiError::field("config", "must be an object"));
    }
    // Read here for every endpoint that takes a payload (validate and the
    // scripts ignore it), so that what one refuses the others refuse too.
    crate::store::recurring::Revalidate::from_payload(p.revalidate_every.as_ref())
        .map_err(|m| ApiError::field(crate::payload::REVALIDATE_EVERY, m))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_payload_errors() {
        let e = payload(Some(serde_json::json!({"type": 1, "config": {}}))).unwrap_err();
        assert_eq!(e.details[0].path, "type");
        let e = payload(Some(serde_json::json!({"type": "X"}))).unwrap_err();
        assert_eq!(e.details[0].path, "config");
        let e = payload(Some(
            serde_json::json!({"type": "X", "config": {}, "extra": 1}),
        ))
        .unwrap_err();
        assert_eq!(e.details[0].path, "extra");
        let e = payload(Some(serde_json::json!({"type": "X", "config": []}))).unwrap_err();
        assert_eq!(e.details[0].path, "config");
        let e = parse_value(b"{", Format::Json).unwrap_err();
        assert_eq!(e.details[0].path, BODY);
        let e = parse_value(b"a: [", Format::Yaml).unwrap_err();
        assert_eq!(e.details[0].path, BODY);
        let v = parse_value(
            br#"{"a": [1.0, 2.5, -3.0, 1e300, 1e19, -0.0]}"#,
            Format::Json,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"a":[1,2.5,-3,1e+300,10000000000000000000,0]}"#
        );
        let v = parse_value(b"type: X\nconfig: {a: 1}\n", Format::Yaml)
            .unwrap()
            .unwrap();
        assert_eq!(payload(Some(v)).unwrap().type_name, "X");
    }
}
