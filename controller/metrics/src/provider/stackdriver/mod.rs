//! Google Cloud Monitoring (formerly Stackdriver): MQL queries through
//! `timeSeries:query`, authenticated with a service-account key or
//! Application Default Credentials.
//!
//! ```text
//!   query(mql, window)
//!    │
//!    ├─ project ─── Secret `project`
//!    │              └ else the key file's `project_id` (GOOGLE_APPLICATION_CREDENTIALS)
//!    │              └ else GET <metadata>/computeMetadata/v1/project/project-id   (kept)
//!    │
//!    ├─ token ───── cached until 5 min before it expires, shared by every provider
//!    │              built with the same credentials
//!    │   Secret `serviceAccountKey` ┐
//!    │   GOOGLE_APPLICATION_CREDENTIALS ┴▶ JWT RS256 {iss, scope, aud, iat = window.now, exp}
//!    │                                     ── POST <token_uri> (jwt-bearer grant) ──▶ access_token
//!    │   neither ── GET <metadata>/computeMetadata/v1/instance/service-accounts/default/token
//!    │              (Metadata-Flavor: Google) ──▶ access_token
//!    │
//!    └─ POST <address | https://monitoring.googleapis.com>/v3/projects/<project>/timeSeries:query
//!         {"query": "<mql>"}, Authorization: Bearer <token>
//!         ──▶ timeSeriesData[0].pointData[0].values[0]  (doubleValue | int64Value)
//! ```
//!
//! As in Flagger, the Secret's `project` is required when `secretRef` is set
//! and `serviceAccountKey` (the JSON key file) is optional; without a key the
//! token comes from Application Default Credentials. No series, no points or
//! no value is "no values"; Google's error statuses are quoted
//! (`INVALID_ARGUMENT: <message>`). The availability check sends an empty
//! query: Google refusing it as `INVALID_ARGUMENT` proves the API answers and
//! the credentials are accepted.
//!
//! Where weir differs from Flagger:
//! * `spec.provider.address` replaces the API endpoint (Flagger ignores it);
//! * `int64Value`s are read (Flagger reads them as `0`), NaN is "no values",
//!   and booleans, strings and distributions are errors rather than `0`;
//! * without a `secretRef` the project comes from the credentials (the key
//!   file's `project_id` or the metadata server); Flagger sends an empty
//!   project name, which Google refuses;
//! * the REST API instead of gRPC, and only the first page of results: a
//!   first page without series is "no values" even if it names a next page;
//! * every request (metadata server, token endpoint, query) has the provider
//!   timeout (5 s); Flagger's has none;
//! * access tokens are cached across providers: weir, like Flagger, builds
//!   a provider for every check, and Flagger's new client fetches a new
//!   token every time; a token Google answers 401 to is dropped;
//! * Application Default Credentials cover `service_account` key files and
//!   the GKE/GCE metadata server, not gcloud user credentials, workload
//!   identity federation or impersonation;
//! * JWTs are dated by the engine's clock (`QueryWindow::now`); the
//!   availability check, which has no window, uses the wall clock.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::jiff::Timestamp;
use reqwest::Client;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;
use weir_http::HttpError;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow,
    address_or, decode, join, parse_base_url, plain_error, send, unix_seconds,
};

const NAME: &str = "stackdriver";
/// How errors name the OAuth token endpoint, apart from the API.
const TOKEN_ENDPOINT: &str = "stackdriver token endpoint";
/// How errors name the GKE/GCE metadata server, apart from the API.
const METADATA_SERVER: &str = "stackdriver metadata server";

const DEFAULT_API: &str = "https://monitoring.googleapis.com";
/// Where Google's libraries find the metadata server (a link-local name
/// resolved inside GKE and GCE).
const DEFAULT_METADATA_SERVER: &str = "http://metadata.google.internal";
/// Google's own override of the metadata server's `host[:port]` (for
/// emulators and unusual networks), honoured as its libraries do.
const METADATA_HOST_VARIABLE: &str = "GCE_METADATA_HOST";
/// The Application Default Credentials key file.
const CREDENTIALS_VARIABLE: &str = "GOOGLE_APPLICATION_CREDENTIALS";
const METADATA_TOKEN_PATH: &str = "computeMetadata/v1/instance/service-accounts/default/token";
const METADATA_PROJECT_PATH: &str = "computeMetadata/v1/project/project-id";
/// The metadata server answers only requests carrying this header, so that
/// requests forged through other services (SSRF) cannot read its tokens.
const METADATA_FLAVOR: (&str, &str) = ("Metadata-Flavor", "Google");

const PROJECT_KEY: &str = "project";
const SERVICE_ACCOUNT_KEY: &str = "serviceAccountKey";

/// Read-only access to Cloud Monitoring: all a query needs.
const SCOPE: &str = "https://www.googleapis.com/auth/monitoring.read";
/// The OAuth grant that trades a signed JWT for an access token (RFC 7523).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, for key files that do not name one.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Google accepts JWT assertions valid for at most an hour.
const ASSERTION_LIFETIME_SECONDS: i64 = 3600;
/// Tokens are renewed this long before they expire: far more than a request
/// takes or clocks drift, far less than the hour a token lasts.
const REFRESH_MARGIN_SECONDS: i64 = 300;

/// Where Google's credentials and endpoints are found: the process
/// environment in production, fakes in tests.
#[derive(Clone, Debug)]
pub(crate) struct GoogleSettings {
    /// A service-account key file for Application Default Credentials
    /// (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub(crate) application_credentials: Option<PathBuf>,
    /// The GKE/GCE metadata server's base URL.
    pub(crate) metadata_server: String,
    /// Tokens and projects, shared by every provider built with these
    /// settings.
    pub(crate) cache: Arc<GoogleCache>,
}

/// One cache for the whole process: providers are built for every query.
static SHARED_CACHE: LazyLock<Arc<GoogleCache>> = LazyLock::new(Arc::default);

impl GoogleSettings {
    /// The settings Google's client libraries would use in this process.
    pub(crate) fn from_env() -> GoogleSettings {
        let variable = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        GoogleSettings {
            application_credentials: variable(CREDENTIALS_VARIABLE).map(PathBuf::from),
            metadata_server: variable(METADATA_HOST_VARIABLE)
                .map(|host| format!("http://{}", host.to_string_lossy()))
                .unwrap_or_else(|| DEFAULT_METADATA_SERVER.to_owned()),
            cache: SHARED_CACHE.clone(),
        }
    }
}

/// Access tokens and metadata-server projects, by where they came from.
#[derive(Default)]
pub(crate) struct GoogleCache {
    tokens: Slots<AccessToken>,
    projects: Slots<String>,
}

/// Tokens never appear in debug output, not even how many there are.
impl fmt::Debug for GoogleCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleCache").finish_non_exhaustive()
    }
}

/// A value behind an async lock, so that concurrent queries wait for one
/// fetch instead of each making their own.
type Slot<T> = Arc<tokio::sync::Mutex<Option<T>>>;

struct Slots<T>(std::sync::Mutex<HashMap<String, Slot<T>>>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<T> Slots<T> {
    fn slot(&self, key: &str) -> Slot<T> {
        // A panic elsewhere cannot leave a map of handles half-updated.
        let mut slots = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(key.to_owned()).or_default().clone()
    }
}

/// An access token and the times (Unix seconds) it is good for.
#[derive(Clone, Debug)]
struct AccessToken {
    value: SecretString,
    issued_at: i64,
    expires_at: i64,
}

impl AccessToken {
    /// Whether the token can still be sent at `now`. A `now` before the
    /// token was issued means clocks were mixed (the simulator's against
    /// the wall clock): fetch a fresh one rather than trust either.
    fn usable_at(&self, now: i64) -> bool {
        self.issued_at <= now && now < self.expires_at.saturating_sub(REFRESH_MARGIN_SECONDS)
    }
}

/// Google Cloud Monitoring in one project.
#[derive(Clone, Debug)]
pub struct Stackdriver {
    api: url::Url,
    project: Project,
    tokens: TokenSource,
    cache: Arc<GoogleCache>,
    /// For the API: honours `insecureSkipVerify`.
    client: Client,
    /// For Google's token endpoint and the metadata server.
    auth_client: Client,
    timeout: Duration,
}

#[derive(Clone, Debug)]
enum Project {
    Named(String),
    FromMetadata(url::Url),
}

#[derive(Clone, Debug)]
enum TokenSource {
    ServiceAccount(Arc<ServiceAccountKey>),
    Metadata(url::Url),
}

impl TokenSource {
    /// Whose token this is: providers with the same credentials share it.
    fn cache_key(&self) -> String {
        match self {
            TokenSource::ServiceAccount(key) => key.cache_key.clone(),
            TokenSource::Metadata(server) => format!("metadata {server}"),
        }
    }
}

impl Stackdriver {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Stackdriver, ProviderError> {
        Stackdriver::with_settings(spec, credentials, context, &GoogleSettings::from_env())
    }

    /// [`Stackdriver::new`] with Google's endpoints and environment given
    /// rather than read from the process.
    pub(crate) fn with_settings(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
        settings: &GoogleSettings,
    ) -> Result<Stackdriver, ProviderError> {
        let api = parse_base_url(NAME, address_or(spec, DEFAULT_API))?;
        // Flagger reads the Secret only when `secretRef` is set.
        let (project, key) = match (&spec.secret_ref, credentials) {
            (None, _) => (None, None),
            (Some(_), None) => {
                return Err(ProviderError::MissingSecret {
                    provider: NAME,
                    keys: vec![PROJECT_KEY],
                });
            }
            (Some(_), Some(credentials)) => {
                let project = credentials.required(
                    NAME,
                    PROJECT_KEY,
                    Some("name the Google Cloud project the queries run in"),
                )?;
                let key = match credentials.data.secret(SERVICE_ACCOUNT_KEY) {
                    Some(json) => Some(ServiceAccountKey::parse(json.expose()).map_err(
                        |error| invalid(format!(
                            "`{SERVICE_ACCOUNT_KEY}` in Secret {}: the service account key {error}",
                            credentials.secret
                        )),
                    )?),
                    None => None,
                };
                (Some(project.expose().to_owned()), key)
            }
        };
        let key = match key {
            Some(key) => Some(key),
            None => application_default_key(settings)?,
        };
        let metadata_server = || parse_base_url(METADATA_SERVER, &settings.metadata_server);
        let project = match project.or_else(|| key.as_ref()?.project_id.clone()) {
            Some(project) => Project::Named(checked_project(&project).map_err(invalid)?),
            None => Project::FromMetadata(metadata_server()?),
        };
        let tokens = match key {
            Some(key) => TokenSource::ServiceAccount(Arc::new(key)),
            None => TokenSource::Metadata(metadata_server()?),
        };
        Ok(Stackdriver {
            api,
            project,
            tokens,
            cache: settings.cache.clone(),
            client: context.client(spec.insecure_skip_verify),
            auth_client: context.client(false),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let body = self
            .query_time_series(query, unix_seconds(window.now))
            .await?;
        value_of(decode(NAME, &body)?)
    }

    /// Sends an empty query, which Google refuses as `INVALID_ARGUMENT`
    /// once the project exists and the credentials may read it (anything
    /// else, such as `PERMISSION_DENIED`, is a problem to report).
    pub async fn check_online(&self) -> Result<(), QueryError> {
        // The check has no query window: date the token request by the
        // wall clock, which is what Google compares it with.
        let now = unix_seconds(Timestamp::now());
        match self.query_time_series("", now).await {
            Ok(_) => Ok(()),
            Err(QueryError::Status {
                status: 400,
                message,
                ..
            }) if message.split(':').next() == Some(INVALID_ARGUMENT) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The body of a successful `timeSeries:query` for `query`.
    async fn query_time_series(&self, query: &str, now: i64) -> Result<bytes::Bytes, QueryError> {
        let project = self.project().await?;
        let token = self.access_token(now).await?;
        let url = join(
            &self.api,
            &format!("v3/projects/{project}/timeSeries:query"),
        );
        let request = self
            .client
            .post(url)
            .bearer_auth(token.expose())
            .json(&serde_json::json!({ "query": query }));
        let result = send(NAME, request, self.timeout, google_error).await;
        if let Err(QueryError::Status { status: 401, .. }) = &result {
            // Revoked or otherwise refused: the next query fetches another.
            self.forget_token(&token).await;
        }
        result
    }

    async fn project(&self) -> Result<String, QueryError> {
        let server = match &self.project {
            Project::Named(project) => return Ok(project.clone()),
            Project::FromMetadata(server) => server,
        };
        let slot = self.cache.projects.slot(server.as_str());
        let mut project = slot.lock().await;
        if let Some(project) = project.as_ref() {
            return Ok(project.clone());
        }
        let request = self
            .auth_client
            .get(join(server, METADATA_PROJECT_PATH))
            .header(METADATA_FLAVOR.0, METADATA_FLAVOR.1);
        let body = send(METADATA_SERVER, request, self.timeout, plain_error).await?;
        let found = checked_project(String::from_utf8_lossy(&body).trim()).map_err(|reason| {
            QueryError::Decode {
                provider: METADATA_SERVER,
                reason,
            }
        })?;
        *project = Some(found.clone());
        Ok(found)
    }

    /// A token usable at `now`, from the cache or freshly fetched.
    async fn access_token(&self, now: i64) -> Result<SecretString, QueryError> {
        let slot = self.cache.tokens.slot(&self.tokens.cache_key());
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|token| token.usable_at(now)) {
            return Ok(token.value.clone());
        }
        let token = match &self.tokens {
            TokenSource::ServiceAccount(key) => self.exchange_assertion(key, now).await?,
            TokenSource::Metadata(server) => self.metadata_token(server, now).await?,
        };
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    async fn forget_token(&self, refused: &SecretString) {
        let slot = self.cache.tokens.slot(&self.tokens.cache_key());
        let mut cached = slot.lock().await;
        // Another query may have replaced it already.
        if cached.as_ref().is_some_and(|token| &token.value == refused) {
            *cached = None;
        }
    }

    /// Trades a JWT signed with the service account's key for a token.
    async fn exchange_assertion(
        &self,
        key: &ServiceAccountKey,
        now: i64,
    ) -> Result<AccessToken, QueryError> {
        let assertion = key.assertion(now)?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", assertion.expose())
            .finish();
        let request = self
            .auth_client
            .post(key.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let body = send(TOKEN_ENDPOINT, request, self.timeout, oauth_error).await?;
        token_of(TOKEN_ENDPOINT, &body, now)
    }

    async fn metadata_token(&self, server: &url::Url, now: i64) -> Result<AccessToken, QueryError> {
        let request = self
            .auth_client
            .get(join(server, METADATA_TOKEN_PATH))
            .header(METADATA_FLAVOR.0, METADATA_FLAVOR.1);
        let body = send(METADATA_SERVER, request, self.timeout, plain_error).await?;
        token_of(METADATA_SERVER, &body, now)
    }
}

fn invalid(reason: String) -> ProviderError {
    ProviderError::Invalid {
        provider: NAME,
        reason,
    }
}

/// The key file `GOOGLE_APPLICATION_CREDENTIALS` names, if it names one.
fn application_default_key(
    settings: &GoogleSettings,
) -> Result<Option<ServiceAccountKey>, ProviderError> {
    let Some(path) = &settings.application_credentials else {
        return Ok(None);
    };
    let origin = format!("{CREDENTIALS_VARIABLE} file {}", path.display());
    let json = std::fs::read_to_string(path)
        .map_err(|error| invalid(format!("{origin} cannot be read: {error}")))?;
    ServiceAccountKey::parse(&json)
        .map(Some)
        .map_err(|error| invalid(format!("{origin}: the service account key {error}")))
}

/// `project` if it can be a project ID or number: it becomes part of the
/// request path, so a `/` or `?` must not reach the URL.
fn checked_project(project: &str) -> Result<String, String> {
    // IDs are lowercase letters, digits and hyphens; older domain-scoped
    // IDs add `.` and `:` (`example.com:project`); numbers are digits.
    let allowed = |character: char| character.is_ascii_alphanumeric() || "-.:_".contains(character);
    if project.is_empty() || !project.chars().all(allowed) {
        return Err(format!(
            "project `{project}` is not a Google Cloud project ID or number"
        ));
    }
    Ok(project.to_owned())
}

/// Why a service-account key cannot be used. Messages never quote the key.
#[derive(Debug, thiserror::Error)]
enum KeyError {
    #[error("is not a JSON key file: {0}")]
    Json(String),
    #[error("is a `{0}` credential; only `service_account` keys are supported")]
    NotServiceAccount(String),
    #[error("has no `{0}`")]
    Missing(&'static str),
    #[error("has a `private_key` that is not a PEM `PRIVATE KEY` (PKCS#8) block")]
    Pem,
    #[error("has a `private_key` that is not an RSA key of 2048 to 8192 bits: {0}")]
    Rejected(String),
    #[error("has a `token_uri` that is not an http(s) URL: `{0}`")]
    TokenUri(String),
}

/// The parts of a service account's JSON key file a token needs.
struct ServiceAccountKey {
    client_email: String,
    /// `kid` in the JWT header: which of the account's keys signed it.
    private_key_id: Option<String>,
    /// The JWT's audience, exactly as the key file writes it.
    token_uri: String,
    token_url: url::Url,
    project_id: Option<String>,
    signer: RsaKeyPair,
    /// The account, endpoint and a digest of the key: tokens are shared
    /// only between providers holding the same key.
    cache_key: String,
}

/// The key itself never appears in debug output.
impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    fn parse(json: &str) -> Result<ServiceAccountKey, KeyError> {
        #[derive(Deserialize)]
        struct KeyFile {
            #[serde(rename = "type")]
            kind: Option<String>,
            project_id: Option<String>,
            private_key_id: Option<String>,
            private_key: Option<String>,
            client_email: Option<String>,
            token_uri: Option<String>,
        }
        let file: KeyFile =
            serde_json::from_str(json).map_err(|error| KeyError::Json(json_problem(&error)))?;
        let present = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
        if let Some(kind) = present(file.kind).filter(|kind| *kind != "service_account") {
            return Err(KeyError::NotServiceAccount(kind));
        }
        let private_key = present(file.private_key).ok_or(KeyError::Missing("private_key"))?;
        let client_email = present(file.client_email).ok_or(KeyError::Missing("client_email"))?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(private_key.as_bytes())
            .map_err(|_| KeyError::Pem)?;
        let signer = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|rejected| KeyError::Rejected(rejected.to_string()))?;
        let token_uri = present(file.token_uri).unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
        let token_url = url::Url::parse(&token_uri)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| KeyError::TokenUri(token_uri.clone()))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, der.secret_pkcs8_der());
        let cache_key = format!(
            "{token_uri} {client_email} {}",
            URL_SAFE_NO_PAD.encode(digest.as_ref())
        );
        Ok(ServiceAccountKey {
            client_email,
            private_key_id: present(file.private_key_id),
            token_uri,
            token_url,
            project_id: present(file.project_id),
            signer,
            cache_key,
        })
    }

    /// A JWT asking `token_uri` for a read-only Cloud Monitoring token, valid
    /// from `now` for the hour Google allows.
    fn assertion(&self, now: i64) -> Result<SecretString, QueryError> {
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(key_id) = &self.private_key_id {
            header["kid"] = key_id.as_str().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now.saturating_add(ASSERTION_LIFETIME_SECONDS),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.signer.public().modulus_len()];
        self.signer
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            // Signing fails only without system randomness (for blinding).
            .map_err(|_| QueryError::Http {
                provider: TOKEN_ENDPOINT,
                source: HttpError::Transport {
                    url: self.token_uri.clone(),
                    message: "the token request could not be signed: no system randomness"
                        .to_owned(),
                },
            })?;
        Ok(SecretString::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The token in a token endpoint's or the metadata server's answer.
fn token_of(provider: &'static str, body: &[u8], now: i64) -> Result<AccessToken, QueryError> {
    #[derive(Deserialize)]
    struct TokenResponse {
        access_token: String,
        expires_in: i64,
    }
    // Not `decode`: its errors quote the body, which holds the token.
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|error| QueryError::Decode {
            provider,
            reason: format!("not an access token: {}", json_problem(&error)),
        })?;
    if response.access_token.is_empty() {
        return Err(QueryError::Decode {
            provider,
            reason: "the access token is empty".to_owned(),
        });
    }
    Ok(AccessToken {
        value: SecretString::new(response.access_token),
        issued_at: now,
        expires_at: now.saturating_add(response.expires_in),
    })
}

/// What is wrong with JSON that may hold a secret, without quoting it:
/// serde's own messages quote unexpected strings (`invalid type: string
/// "<the key>"`), so only missing fields are named.
fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let problem = match error.classify() {
        serde_json::error::Category::Data if message.starts_with("missing field") => message
            .split(" at line")
            .next()
            .unwrap_or("missing field")
            .to_owned(),
        serde_json::error::Category::Data => "unexpected JSON types".to_owned(),
        serde_json::error::Category::Syntax => "malformed JSON".to_owned(),
        serde_json::error::Category::Eof => "truncated JSON".to_owned(),
        serde_json::error::Category::Io => "unreadable JSON".to_owned(),
    };
    format!(
        "{problem} at line {}, column {}",
        error.line(),
        error.column()
    )
}

/// How Google names the status an empty query is refused with.
const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";

/// Google's errors: `{"error": {"code": 400, "status": "INVALID_ARGUMENT",
/// "message": "..."}}`, quoted as `INVALID_ARGUMENT: ...` (the code is the
/// HTTP status, which the error shows already).
fn google_error(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        error: GoogleStatus,
    }
    let Envelope { error } = serde_json::from_slice(body).ok()?;
    Some(error.describe()).filter(|message| !message.is_empty())
}

/// OAuth errors: `{"error": "invalid_grant", "error_description": "..."}`.
fn oauth_error(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    let OAuthError {
        error,
        error_description,
    } = serde_json::from_slice(body).ok()?;
    Some(if error_description.is_empty() {
        error
    } else {
        format!("{error}: {error_description}")
    })
}

/// A `google.rpc.Status`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GoogleStatus {
    status: String,
    message: String,
}

impl GoogleStatus {
    fn describe(&self) -> String {
        match (self.status.is_empty(), self.message.is_empty()) {
            (false, false) => format!("{}: {}", self.status, self.message),
            (false, true) => self.status.clone(),
            _ => self.message.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    #[serde(default)]
    time_series_data: Vec<TimeSeriesData>,
    /// Why the results may be incomplete: told when there are none.
    #[serde(default)]
    partial_errors: Vec<GoogleStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeSeriesData {
    #[serde(default)]
    point_data: Vec<PointData>,
}

#[derive(Debug, Deserialize)]
struct PointData {
    #[serde(default)]
    values: Vec<TypedValue>,
}

/// A `TypedValue`: one of its fields is set. In JSON, 64-bit integers are
/// strings and non-finite doubles are `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedValue {
    double_value: Option<serde_json::Value>,
    int64_value: Option<serde_json::Value>,
    bool_value: Option<bool>,
    string_value: Option<String>,
    distribution_value: Option<serde_json::Value>,
}

fn value_of(response: QueryResponse) -> Result<f64, QueryError> {
    let Some(series) = response.time_series_data.first() else {
        let detail = match response.partial_errors.first() {
            Some(error) => format!("no time series ({})", error.describe()),
            None => "no time series".to_owned(),
        };
        return Err(QueryError::NoValues(detail));
    };
    let value = series
        .point_data
        .first()
        .and_then(|point| point.values.first())
        .ok_or_else(|| QueryError::NoValues("the time series has no points".to_owned()))?;
    let not_a_number = |kind: &str| QueryError::Decode {
        provider: NAME,
        reason: format!(
            "the first value is {kind}, not a number: reduce the query to a double or int64 value"
        ),
    };
    let number = if let Some(double) = &value.double_value {
        json_number(double).ok_or_else(|| QueryError::Decode {
            provider: NAME,
            reason: format!("doubleValue `{double}` is not a number"),
        })?
    } else if let Some(integer) = &value.int64_value {
        json_int64(integer).ok_or_else(|| QueryError::Decode {
            provider: NAME,
            reason: format!("int64Value `{integer}` is not an integer"),
        })?
    } else if value.bool_value.is_some() {
        return Err(not_a_number("a boolean"));
    } else if value.string_value.is_some() {
        return Err(not_a_number("a string"));
    } else if value.distribution_value.is_some() {
        return Err(not_a_number("a distribution (use a percentile or mean)"));
    } else {
        return Err(QueryError::NoValues(
            "the first point has no value".to_owned(),
        ));
    };
    if number.is_nan() {
        return Err(QueryError::NoValues("the query returned NaN".to_owned()));
    }
    Ok(number)
}

/// An int64 as protobuf's JSON writes one: a string, or a number from
/// writers that do not follow the convention.
fn json_int64(value: &serde_json::Value) -> Option<f64> {
    let integer = match value {
        serde_json::Value::Number(number) => number.as_i64()?,
        serde_json::Value::String(text) => text.parse::<i64>().ok()?,
        _ => return None,
    };
    // Beyond 2^53 the nearest double is as close as a threshold can judge.
    Some(integer as f64)
}

/// A double as protobuf's JSON writes one: a number, or a string for the
/// non-finite values.
fn json_number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            text => text.parse().ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests;
