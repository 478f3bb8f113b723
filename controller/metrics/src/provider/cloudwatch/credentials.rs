//! AWS credentials: the Secret extension and the default chain
//! (environment, web identity, container, EC2 metadata), cached until
//! shortly before they expire.

use super::*;
/// An access key, and the session token and expiry of temporary ones.
#[derive(Clone, Debug)]
pub(super) struct AwsKeys {
    pub(super) access_key_id: SecretString,
    pub(super) secret_access_key: SecretString,
    pub(super) session_token: Option<SecretString>,
    pub(super) expiration: Option<Timestamp>,
}

/// Temporary keys are renewed this long before they expire, so that a
/// request signed just before never arrives just after, and a slow STS or
/// metadata service has time to answer.
pub(super) const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

impl AwsKeys {
    pub(super) fn fresh_at(&self, now: Timestamp) -> bool {
        self.expiration
            .is_none_or(|expiration| expiration.duration_since(now) > REFRESH_MARGIN)
    }
}

/// Where a provider's keys come from.
#[derive(Clone, Debug)]
pub(super) enum KeySource {
    /// weir's extension: the template's Secret.
    Secret(AwsKeys),
    /// The AWS default chain, as Flagger's SDK resolves it (boxed: it is
    /// several times the size of a key).
    Chain(Box<DefaultChain>),
}

impl KeySource {
    pub(super) async fn resolve(&self) -> Result<AwsKeys, CredentialError> {
        match self {
            KeySource::Secret(keys) => Ok(keys.clone()),
            KeySource::Chain(chain) => chain.resolve().await,
        }
    }
}

/// Why no keys could be had. Messages name sources and endpoints, never
/// a key or token.
#[derive(Debug, thiserror::Error)]
pub(super) enum CredentialError {
    /// A configured source failed. The SDKs stop there rather than fall
    /// back to the next source, and so does weir: keys of another identity
    /// would hide the misconfiguration.
    #[error("{origin}: {reason}")]
    Failed { origin: String, reason: String },
    #[error(
        "none found; tried {}. Configure one of these, or name a Secret with `aws_access_key_id` and `aws_secret_access_key` in spec.provider.secretRef",
        tried.join("; ")
    )]
    NotFound { tried: Vec<String> },
}

/// The endpoint of ECS's container credentials, for a relative URI.
pub(super) const ECS_CREDENTIALS_HOST: &str = "http://169.254.170.2";
/// The EC2 instance metadata service.
pub(super) const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// Off EC2 the metadata address is often a black hole: give up quickly, as
/// the SDKs do, rather than hold every query for the full timeout.
pub(super) const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest session token IMDSv2 grants: one per credential refresh.
pub(super) const IMDS_TOKEN_TTL_SECONDS: &str = "21600";
/// How STS records the assumed role's session in CloudTrail, unless
/// `AWS_ROLE_SESSION_NAME` says otherwise.
pub(super) const DEFAULT_ROLE_SESSION_NAME: &str = "weir-metrics";

/// What the AWS default credential chain reads: the process's environment
/// variables and the endpoints they lead to. Injectable, so that tests
/// never touch the real environment, network, or credential cache.
#[derive(Clone, Debug)]
pub(super) struct AwsEnvironment {
    /// `AWS_ACCESS_KEY_ID` (or `AWS_ACCESS_KEY`).
    pub(super) access_key_id: Option<SecretString>,
    /// `AWS_SECRET_ACCESS_KEY` (or `AWS_SECRET_KEY`).
    pub(super) secret_access_key: Option<SecretString>,
    /// `AWS_SESSION_TOKEN`.
    pub(super) session_token: Option<SecretString>,
    /// `AWS_ROLE_ARN`: the role IRSA assumes.
    pub(super) role_arn: Option<String>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`: the projected service account token.
    pub(super) web_identity_token_file: Option<PathBuf>,
    /// `AWS_ROLE_SESSION_NAME`.
    pub(super) role_session_name: Option<String>,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`: where STS is called (the
    /// template's region otherwise).
    pub(super) region: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`: STS elsewhere than its regional endpoint.
    pub(super) sts_endpoint: Option<String>,
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS).
    pub(super) container_relative_uri: Option<String>,
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity).
    pub(super) container_full_uri: Option<String>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub(super) container_token: Option<SecretString>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read at every refresh
    /// (the token rotates); it wins over the variable.
    pub(super) container_token_file: Option<PathBuf>,
    /// Where a relative container URI points.
    pub(super) container_host: String,
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub(super) imds_endpoint: String,
    /// `AWS_EC2_METADATA_DISABLED=true`.
    pub(super) imds_disabled: bool,
    pub(super) clock: Clock,
    pub(super) cache: CredentialCache,
}

/// The process's credential cache: providers are built afresh for every
/// measurement, and STS or the metadata service must not be asked each
/// time.
pub(super) static PROCESS_CACHE: LazyLock<CredentialCache> =
    LazyLock::new(CredentialCache::default);

impl AwsEnvironment {
    /// The process's environment, the real endpoints, and the process's
    /// credential cache.
    pub(super) fn from_env() -> AwsEnvironment {
        AwsEnvironment {
            cache: PROCESS_CACHE.clone(),
            ..AwsEnvironment::from_lookup(|name| std::env::var(name).ok())
        }
    }

    /// The environment `lookup` describes, with a cache of its own. Blank
    /// variables count as unset, as in the SDKs.
    pub(super) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AwsEnvironment {
        let read = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        AwsEnvironment {
            access_key_id: read("AWS_ACCESS_KEY_ID")
                .or_else(|| read("AWS_ACCESS_KEY"))
                .map(SecretString::new),
            secret_access_key: read("AWS_SECRET_ACCESS_KEY")
                .or_else(|| read("AWS_SECRET_KEY"))
                .map(SecretString::new),
            session_token: read("AWS_SESSION_TOKEN").map(SecretString::new),
            role_arn: read("AWS_ROLE_ARN"),
            web_identity_token_file: read("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from),
            role_session_name: read("AWS_ROLE_SESSION_NAME"),
            region: read("AWS_REGION").or_else(|| read("AWS_DEFAULT_REGION")),
            sts_endpoint: read("AWS_ENDPOINT_URL_STS"),
            container_relative_uri: read("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            container_full_uri: read("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            container_token: read("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(SecretString::new),
            container_token_file: read("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(PathBuf::from),
            container_host: ECS_CREDENTIALS_HOST.to_owned(),
            imds_endpoint: read("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .unwrap_or_else(|| IMDS_ENDPOINT.to_owned()),
            imds_disabled: read("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|value| value.eq_ignore_ascii_case("true")),
            clock: Clock::system(),
            cache: CredentialCache::default(),
        }
    }
}

/// The wall clock: for signatures and credential expiry, never for query
/// windows.
#[derive(Clone)]
pub(super) struct Clock(pub(super) Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    pub(super) fn system() -> Clock {
        Clock(Arc::new(Timestamp::now))
    }

    pub(super) fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// Temporary keys by source (the source's kind and endpoints).
#[derive(Clone, Default)]
pub(super) struct CredentialCache(pub(super) Arc<Mutex<HashMap<String, AwsKeys>>>);

impl CredentialCache {
    pub(super) fn fresh(&self, source: &str, now: Timestamp) -> Option<AwsKeys> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(source)
            .filter(|keys| keys.fresh_at(now))
            .cloned()
    }

    pub(super) fn store(&self, source: String, keys: AwsKeys) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries.insert(source, keys);
    }
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.0.lock().map_or(0, |entries| entries.len());
        f.debug_struct("CredentialCache")
            .field("entries", &entries)
            .finish()
    }
}

/// The AWS default credential chain.
#[derive(Clone, Debug)]
pub(super) struct DefaultChain {
    pub(super) environment: AwsEnvironment,
    /// Where STS is called.
    pub(super) sts_region: String,
    pub(super) client: Client,
    pub(super) timeout: Duration,
}

impl DefaultChain {
    /// The first configured source's keys.
    pub(super) async fn resolve(&self) -> Result<AwsKeys, CredentialError> {
        let environment = &self.environment;
        let mut tried = Vec::new();

        match (&environment.access_key_id, &environment.secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => {
                return Ok(AwsKeys {
                    access_key_id: access_key_id.clone(),
                    secret_access_key: secret_access_key.clone(),
                    session_token: environment.session_token.clone(),
                    expiration: None,
                });
            }
            (Some(_), None) => tried.push(
                "environment (AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not)"
                    .to_owned(),
            ),
            (None, Some(_)) => tried.push(
                "environment (AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not)"
                    .to_owned(),
            ),
            (None, None) => tried.push("environment (AWS_ACCESS_KEY_ID is not set)".to_owned()),
        }

        match (&environment.role_arn, &environment.web_identity_token_file) {
            (Some(role_arn), Some(token_file)) => {
                let sts = self
                    .sts_endpoint()
                    .map_err(|reason| failed("web identity", reason))?;
                let source = format!(
                    "web identity {sts} {role_arn} {} {}",
                    token_file.display(),
                    self.role_session_name()
                );
                return self
                    .cached(source, || self.web_identity(&sts, role_arn, token_file))
                    .await
                    .map_err(|reason| failed(&format!("web identity (role {role_arn})"), reason));
            }
            (Some(_), None) => tried.push(
                "web identity (AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not)"
                    .to_owned(),
            ),
            (None, Some(_)) => tried.push(
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not)"
                    .to_owned(),
            ),
            (None, None) => tried.push("web identity (AWS_ROLE_ARN is not set)".to_owned()),
        }

        if environment.container_relative_uri.is_some() || environment.container_full_uri.is_some()
        {
            let uri = self
                .container_uri()
                .map_err(|reason| failed("container credentials", reason))?;
            let token_source = environment
                .container_token_file
                .as_ref()
                .map(|file| file.display().to_string())
                .unwrap_or_default();
            return self
                .cached(format!("container {uri} {token_source}"), || {
                    self.container(&uri)
                })
                .await
                .map_err(|reason| failed("container credentials", reason));
        }
        tried.push(
            "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set)"
                .to_owned(),
        );

        if environment.imds_disabled {
            tried.push("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)".to_owned());
            return Err(CredentialError::NotFound { tried });
        }
        let endpoint = &environment.imds_endpoint;
        match self
            .cached(format!("imds {endpoint}"), || self.instance_metadata())
            .await
        {
            Ok(keys) => Ok(keys),
            Err(reason) => {
                tried.push(format!("EC2 instance metadata ({reason})"));
                Err(CredentialError::NotFound { tried })
            }
        }
    }

    /// `source`'s keys from the cache while fresh, else from `fetch`.
    pub(super) async fn cached<F, Fut>(&self, source: String, fetch: F) -> Result<AwsKeys, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AwsKeys, String>>,
    {
        let cache = &self.environment.cache;
        if let Some(keys) = cache.fresh(&source, self.environment.clock.now()) {
            return Ok(keys);
        }
        let keys = fetch().await?;
        cache.store(source, keys.clone());
        Ok(keys)
    }

    pub(super) fn role_session_name(&self) -> &str {
        self.environment
            .role_session_name
            .as_deref()
            .unwrap_or(DEFAULT_ROLE_SESSION_NAME)
    }

    pub(super) fn sts_endpoint(&self) -> Result<url::Url, String> {
        let address = match &self.environment.sts_endpoint {
            Some(address) => address.clone(),
            None => regional_endpoint("sts", &self.sts_region),
        };
        endpoint_url(&address, "AWS_ENDPOINT_URL_STS").map(|url| join(&url, "/"))
    }

    /// IRSA: the service account's token, exchanged for the role's keys.
    pub(super) async fn web_identity(
        &self,
        sts: &url::Url,
        role_arn: &str,
        token_file: &Path,
    ) -> Result<AwsKeys, String> {
        let token = read_token_file(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE").await?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRoleWithWebIdentity")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", role_arn)
            .append_pair("RoleSessionName", self.role_session_name())
            .append_pair("WebIdentityToken", token.expose())
            .finish();
        // Unsigned: the token is the credential. It travels in the body,
        // so that no URL (and no error quoting one) carries it.
        let request = self
            .client
            .post(sts.clone())
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(form);
        let body = send("aws sts", request, self.timeout, sts_error_message)
            .await
            .map_err(|error| error.to_string())?;
        sts_credentials(&String::from_utf8_lossy(&body))
    }

    /// The container credentials URI: ECS's relative one wins, as in the
    /// SDKs; a full one must be HTTPS or a local or AWS link-local host,
    /// since the authorization token is sent to it.
    pub(super) fn container_uri(&self) -> Result<url::Url, String> {
        let environment = &self.environment;
        if let Some(relative) = &environment.container_relative_uri {
            let address = format!(
                "{}/{}",
                environment.container_host.trim_end_matches('/'),
                relative.trim_start_matches('/')
            );
            return endpoint_url(&address, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        }
        let full = environment
            .container_full_uri
            .as_deref()
            .unwrap_or_default();
        let url = endpoint_url(full, "AWS_CONTAINER_CREDENTIALS_FULL_URI")?;
        if url.scheme() == "https" || is_trusted_container_host(&url) {
            Ok(url)
        } else {
            Err(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI `{}` must use https, or a loopback or ECS/EKS link-local address over http",
                super::super::redact(url.as_str())
            ))
        }
    }

    /// EKS Pod Identity and ECS: a GET with the authorization token.
    pub(super) async fn container(&self, uri: &url::Url) -> Result<AwsKeys, String> {
        let environment = &self.environment;
        let token = match (
            &environment.container_token_file,
            &environment.container_token,
        ) {
            (Some(file), _) => {
                Some(read_token_file(file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").await?)
            }
            (None, token) => token.clone(),
        };
        let mut request = self.client.get(uri.clone());
        if let Some(token) = &token {
            request = request.header(AUTHORIZATION, token.expose());
        }
        let body = send(
            "aws container credentials",
            request,
            self.timeout,
            plain_error,
        )
        .await
        .map_err(|error| error.to_string())?;
        let document: CredentialDocument = serde_json::from_slice(&body)
            .map_err(|error| format!("unreadable answer: {}", json_problem(&error)))?;
        document.into_keys()
    }

    /// IMDSv2: a session token, the instance role's name, then its keys.
    pub(super) async fn instance_metadata(&self) -> Result<AwsKeys, String> {
        const SERVICE: &str = "aws instance metadata";
        let base = endpoint_url(
            &self.environment.imds_endpoint,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        )?;
        let timeout = IMDS_TIMEOUT.min(self.timeout);
        let request = self.client.put(join(&base, "latest/api/token")).header(
            "X-aws-ec2-metadata-token-ttl-seconds",
            IMDS_TOKEN_TTL_SECONDS,
        );
        let token = send(SERVICE, request, timeout, plain_error)
            .await
            .map_err(|error| error.to_string())?;
        let token = SecretString::new(String::from_utf8_lossy(&token).trim());
        let get = |path: &str| {
            self.client
                .get(join(&base, path))
                .header("X-aws-ec2-metadata-token", token.expose())
        };
        let roles = match send(
            SERVICE,
            get("latest/meta-data/iam/security-credentials/"),
            timeout,
            plain_error,
        )
        .await
        {
            Ok(roles) => roles,
            Err(QueryError::Status { status: 404, .. }) => {
                return Err("no IAM role is attached to this instance".to_owned());
            }
            Err(error) => return Err(error.to_string()),
        };
        let roles = String::from_utf8_lossy(&roles);
        let role = roles
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .ok_or_else(|| "no IAM role is attached to this instance".to_owned())?;
        let body = send(
            SERVICE,
            get(&format!("latest/meta-data/iam/security-credentials/{role}")),
            timeout,
            plain_error,
        )
        .await
        .map_err(|error| error.to_string())?;
        let document: CredentialDocument = serde_json::from_slice(&body).map_err(|error| {
            format!(
                "unreadable answer for role {role}: {}",
                json_problem(&error)
            )
        })?;
        if let Some(code) = document.code.as_deref().filter(|code| *code != "Success") {
            return Err(format!(
                "the credentials of role {role} are unavailable: {code}"
            ));
        }
        document.into_keys()
    }
}

pub(super) fn failed(origin: &str, reason: String) -> CredentialError {
    CredentialError::Failed {
        origin: origin.to_owned(),
        reason,
    }
}

/// `address`, from the variable `variable`, as an http(s) URL.
pub(super) fn endpoint_url(address: &str, variable: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(address).map_err(|error| format!("{variable}: `{address}`: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{variable}: `{address}` is not an http(s) URL"));
    }
    Ok(url)
}

/// Loopback, and the link-local addresses of ECS (169.254.170.2) and EKS
/// Pod Identity (169.254.170.23, fd00:ec2::23).
pub(super) fn is_trusted_container_host(url: &url::Url) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match url.host() {
        Some(url::Host::Ipv4(address)) => {
            address.is_loopback()
                || address == Ipv4Addr::new(169, 254, 170, 2)
                || address == Ipv4Addr::new(169, 254, 170, 23)
        }
        Some(url::Host::Ipv6(address)) => {
            address.is_loopback() || address == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)
        }
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A token file's content, read at every refresh since the kubelet
/// rotates it.
pub(super) async fn read_token_file(path: &Path, variable: &str) -> Result<SecretString, String> {
    let token = tokio::fs::read_to_string(path)
        .await
        .map_err(|error| format!("cannot read {variable} {}: {error}", path.display()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(format!("{variable} {} is empty", path.display()));
    }
    Ok(SecretString::new(token))
}

/// The JSON that container credentials and instance metadata answer.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CredentialDocument {
    /// Instance metadata's `Success`.
    #[serde(default)]
    pub(super) code: Option<String>,
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    #[serde(default)]
    pub(super) token: Option<String>,
    #[serde(default)]
    pub(super) expiration: Option<String>,
}

impl CredentialDocument {
    pub(super) fn into_keys(self) -> Result<AwsKeys, String> {
        Ok(AwsKeys {
            access_key_id: SecretString::new(self.access_key_id),
            secret_access_key: SecretString::new(self.secret_access_key),
            session_token: self
                .token
                .filter(|token| !token.is_empty())
                .map(SecretString::new),
            expiration: self
                .expiration
                .as_deref()
                .map(parse_expiration)
                .transpose()?,
        })
    }
}

pub(super) fn parse_expiration(text: &str) -> Result<Timestamp, String> {
    text.trim()
        .parse()
        .map_err(|error| format!("expiration `{text}` is not an RFC 3339 time: {error}"))
}

/// What is wrong with a credentials document, without quoting it: it
/// holds secrets, and serde's messages may quote values.
pub(super) fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if text.starts_with("missing field") {
        return text;
    }
    match error.classify() {
        serde_json::error::Category::Data => format!(
            "a field has an unexpected type (line {}, column {})",
            error.line(),
            error.column()
        ),
        _ => format!(
            "not JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    }
}

/// The keys in STS's `AssumeRoleWithWebIdentityResponse`.
pub(super) fn sts_credentials(xml: &str) -> Result<AwsKeys, String> {
    let credentials = xml_element(xml, "Credentials")
        .ok_or_else(|| "the STS answer has no Credentials".to_owned())?;
    let field = |name: &str| {
        xml_element(credentials, name)
            .map(unescape_xml)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| format!("the STS answer has no Credentials.{name}"))
    };
    Ok(AwsKeys {
        access_key_id: SecretString::new(field("AccessKeyId")?),
        secret_access_key: SecretString::new(field("SecretAccessKey")?),
        session_token: Some(SecretString::new(field("SessionToken")?)),
        expiration: Some(parse_expiration(&field("Expiration")?)?),
    })
}

/// STS errors: `<ErrorResponse><Error><Code>..</Code><Message>..</Message>`.
pub(super) fn sts_error_message(body: &[u8]) -> Option<String> {
    let xml = String::from_utf8_lossy(body);
    let error = xml_element(&xml, "Error")?;
    let code = xml_element(error, "Code").map(unescape_xml);
    let message = xml_element(error, "Message").map(unescape_xml);
    match (code, message) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(text), None) | (None, Some(text)) => Some(text),
        (None, None) => None,
    }
}

/// The text inside the first `<name>…</name>` of `xml`. STS's answers are
/// small, flat and attribute-free below the root, which this reads; it is
/// not a general XML parser.
pub(super) fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let length = xml[start..].find(&close)?;
    Some(xml[start..start + length].trim())
}

/// XML's predefined entities; `&amp;` last, so that `&amp;lt;` stays `&lt;`.
pub(super) fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
