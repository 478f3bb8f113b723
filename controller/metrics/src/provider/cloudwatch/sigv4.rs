//! AWS Signature Version 4, header-signed, as the AWS General Reference
//! specifies it ("Create a signed AWS API request").
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::AwsKeys;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What is signed: the host comes from `url`, and `headers` are every
/// other header the request will carry signed.
pub(super) struct Request<'a> {
    pub(super) method: &'a str,
    pub(super) url: &'a url::Url,
    pub(super) headers: &'a [(&'a str, &'a str)],
    pub(super) body: &'a [u8],
}

/// Where the signature is valid.
pub(super) struct Scope<'a> {
    pub(super) region: &'a str,
    pub(super) service: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot compute an HMAC-SHA256 signature")]
pub(super) struct SigningError;

/// The headers that sign `request` at `time`: `X-Amz-Date`, the session
/// token of temporary keys (signed too, which every service accepts),
/// and `Authorization`.
pub(super) fn sign(
    request: &Request<'_>,
    keys: &AwsKeys,
    scope: &Scope<'_>,
    time: Timestamp,
) -> Result<Vec<(&'static str, String)>, SigningError> {
    let amz_date = time.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    headers
        .entry("host".to_owned())
        .or_default()
        .push(host(request.url));
    for (name, value) in request.headers {
        headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
    }
    headers.insert("x-amz-date".to_owned(), vec![amz_date.clone()]);
    if let Some(token) = &keys.session_token {
        headers.insert(
            "x-amz-security-token".to_owned(),
            vec![token.expose().to_owned()],
        );
    }
    let headers = headers
        .into_iter()
        .map(|(name, values)| {
            let values: Vec<String> = values.iter().map(|value| header_value(value)).collect();
            (name, values.join(","))
        })
        .collect();
    let (canonical, signed_headers) = canonical_request(
        request.method,
        request.url,
        &headers,
        &hex_sha256(request.body),
    );
    let date = &amz_date[..8];
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let signature = signature(
        keys.secret_access_key.expose(),
        date,
        scope,
        &string_to_sign(&amz_date, &credential_scope, &canonical),
    )?;
    let mut signed = vec![("X-Amz-Date", amz_date)];
    if let Some(token) = &keys.session_token {
        signed.push(("X-Amz-Security-Token", token.expose().to_owned()));
    }
    signed.push((
        "Authorization",
        format!(
            "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
            keys.access_key_id.expose()
        ),
    ));
    Ok(signed)
}

/// The `Host` header HTTP clients send: the port only when it is not
/// the scheme's default.
pub(super) fn host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// A header value as signed: trimmed, inner runs of spaces as one.
pub(super) fn header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request and its signed-header list. `headers` are
/// lower-case names with canonical values, each signed.
pub(super) fn canonical_request(
    method: &str,
    url: &url::Url,
    headers: &BTreeMap<String, String>,
    payload_hash: &str,
) -> (String, String) {
    let path = match url.path() {
        "" => "/".to_owned(),
        // The path as sent, encoded once more: the rule for every
        // service but S3.
        path => uri_encode(path, false),
    };
    let mut parameters: Vec<(String, String)> =
        url::form_urlencoded::parse(url.query().unwrap_or_default().as_bytes())
            .map(|(key, value)| (uri_encode(&key, true), uri_encode(&value, true)))
            .collect();
    parameters.sort();
    let query = parameters
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    (
        format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"),
        signed_headers,
    )
}

pub(super) fn string_to_sign(amz_date: &str, credential_scope: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex_sha256(canonical.as_bytes())
    )
}

/// The signature of `string_to_sign`, under a key derived from the
/// secret for the day, region and service.
pub(super) fn signature(
    secret_access_key: &str,
    date: &str,
    scope: &Scope<'_>,
    string_to_sign: &str,
) -> Result<String, SigningError> {
    let key = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    )?;
    let key = hmac_sha256(&key, scope.region.as_bytes())?;
    let key = hmac_sha256(&key, scope.service.as_bytes())?;
    let key = hmac_sha256(&key, b"aws4_request")?;
    Ok(hex(&hmac_sha256(&key, string_to_sign.as_bytes())?))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; 32], SigningError> {
    // HMAC takes keys of any length, so this never fails; RustCrypto's
    // API is shared with MACs whose keys have a fixed length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SigningError)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

pub(super) fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// RFC 3986 percent-encoding of all but the unreserved characters;
/// `/` is kept in paths.
fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte));
            }
            b'/' if !encode_slash => encoded.push('/'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}
