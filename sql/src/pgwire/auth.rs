//! Who may connect: PostgreSQL's `trust`, `password` and `scram-sha-256` methods over the
//! users of the configuration file and of CREATE USER, and TLS with the server's
//! certificate. The exchanges themselves are pgwire's; Eddy supplies the users, their
//! verifiers and PostgreSQL's answers on failure.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eddy_runtime::config::{endpoint, Configuration};
use pgwire::api::auth::cleartext::CleartextPasswordAuth;
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::tokio::tokio_rustls::rustls;
use pgwire::tokio::TlsAcceptor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::catalog::Verifier;
use crate::engine::Engine;
use crate::error::{Result, SqlError};

/// How clients prove who they are (`sql-gateway.endpoint.pg.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Trust,
    Password,
    Scram,
}

/// The PostgreSQL endpoint's settings, read once at start.
pub struct EndpointOptions {
    pub max_connections: usize,
    pub startup_timeout: Duration,
    pub(super) method: Method,
    pub(super) config_users: HashMap<String, Verifier>,
    pub(super) tls: Option<TlsAcceptor>,
    /// The certificate in PEM, for SCRAM channel binding over TLS.
    pub(super) cert_pem: Option<Vec<u8>>,
    pub(super) ssl_required: bool,
}

impl EndpointOptions {
    /// Reads the endpoint's keys; a certificate or key that cannot be used stops the start
    /// with an error naming the file.
    pub fn from_config(conf: &Configuration) -> Result<EndpointOptions> {
        let method = match conf
            .get_string(&endpoint::PG_AUTH)
            .to_ascii_lowercase()
            .as_str()
        {
            "trust" => Method::Trust,
            "password" => Method::Password,
            "scram-sha-256" => Method::Scram,
            other => {
                return Err(SqlError::InvalidParameter(format!(
                    "unknown '{}' method '{other}'",
                    endpoint::PG_AUTH.key
                )))
            }
        };
        let mut config_users = HashMap::new();
        for (user, password) in conf.user_passwords() {
            if password.is_empty() {
                return Err(SqlError::InvalidParameter(format!(
                    "the password of user '{user}' is empty: an empty password would let anyone log in as '{user}'"
                )));
            }
            config_users.insert(user, Verifier::from_password_or_verifier(&password));
        }
        let cert = conf.get_string(&endpoint::PG_SSL_CERT);
        let key = conf.get_string(&endpoint::PG_SSL_KEY);
        let (tls, cert_pem) = match (cert.is_empty(), key.is_empty()) {
            (true, true) => (None, None),
            (false, false) => {
                let (acceptor, pem) = tls_acceptor(&cert, &key)?;
                (Some(acceptor), Some(pem))
            }
            _ => {
                return Err(SqlError::InvalidParameter(format!(
                    "TLS needs both '{}' and '{}'",
                    endpoint::PG_SSL_CERT.key,
                    endpoint::PG_SSL_KEY.key
                )))
            }
        };
        let ssl_required = conf.get_bool(&endpoint::PG_SSL_REQUIRED);
        if ssl_required && tls.is_none() {
            return Err(SqlError::InvalidParameter(format!(
                "'{}' is true but no certificate is set ('{}')",
                endpoint::PG_SSL_REQUIRED.key,
                endpoint::PG_SSL_CERT.key
            )));
        }
        Ok(EndpointOptions {
            max_connections: conf.get_int(&endpoint::PG_MAX_CONNECTIONS).max(1) as usize,
            startup_timeout: conf.get_duration(&endpoint::PG_STARTUP_TIMEOUT),
            method,
            config_users,
            tls,
            cert_pem,
            ssl_required,
        })
    }

    /// The users of the configuration file.
    pub fn config_user_names(&self) -> impl Iterator<Item = String> + '_ {
        self.config_users.keys().cloned()
    }

    /// Checks that someone can log in when clients must authenticate.
    pub async fn check_users(&self, engine: &Engine) -> Result<()> {
        if self.method == Method::Trust || !self.config_users.is_empty() {
            return Ok(());
        }
        let catalog = engine.catalog.read().await;
        if catalog
            .roles
            .values()
            .any(|r| r.login && r.password.is_some())
        {
            return Ok(());
        }
        Err(SqlError::InvalidParameter(format!(
            "'{}' asks clients for a password, but no user has one: set '{}' in the configuration file",
            endpoint::PG_AUTH.key,
            endpoint::PG_USER_PASSWORD.key
        )))
    }
}

fn tls_acceptor(cert: &str, key: &str) -> Result<(TlsAcceptor, Vec<u8>)> {
    let unusable = |file: &str, why: String| {
        SqlError::InvalidParameter(format!("cannot use {file} for TLS: {why}"))
    };
    let pem = std::fs::read(cert).map_err(|e| unusable(cert, e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unusable(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(unusable(cert, "no certificate in it".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| unusable(key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| unusable(cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| unusable(cert, e.to_string()))?;
    // PostgreSQL 17 clients may open TLS directly (sslnegotiation=direct) with this ALPN.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), pem))
}

/// Users and their verifiers, for pgwire's password and SCRAM exchanges.
pub(super) struct Users {
    engine: Arc<Engine>,
    config: HashMap<String, Verifier>,
    /// Salts the mock verifiers of unknown users.
    nonce: [u8; 16],
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: verifiers are secrets too.
        f.debug_struct("Users")
            .field("config", &self.config.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Users {
    /// The verifier `user` logs in with, if the user exists, may log in and has a password.
    async fn verifier(&self, user: &str) -> Option<Verifier> {
        if let Some(v) = self.config.get(user) {
            return Some(v.clone());
        }
        let catalog = self.engine.catalog.read().await;
        let role = catalog.roles.get(user).filter(|r| r.login)?;
        Verifier::parse(role.password.as_deref()?)
    }
}

/// PostgreSQL's answer to any failed login: the same for a wrong password, an unknown user
/// and a user without a password, so that none can be told apart.
pub(super) fn login_failed(user: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "28P01".into(),
        format!("password authentication failed for user \"{user}\""),
    )))
}

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // Never asked: both exchanges go through the verifier methods below.
        Err(login_failed(login.user().unwrap_or_default()))
    }

    async fn verify_password(
        &self,
        login: &LoginInfo,
        presented: &[u8],
    ) -> PgWireResult<Option<()>> {
        let user = login.user().unwrap_or_default().to_string();
        let presented = String::from_utf8(presented.to_vec()).map_err(|_| login_failed(&user))?;
        // An unknown user costs what a known one costs, so timing tells them apart no more
        // than the answer does; the hashing runs off the connection threads.
        let (known, verifier) = match self.verifier(&user).await {
            Some(v) => (true, v),
            None => (false, Verifier::mock(&user, &self.nonce)),
        };
        // PostgreSQL refuses an empty password whatever the verifier says.
        let empty = presented.is_empty();
        let matches = tokio::task::spawn_blocking(move || verifier.verify(&presented))
            .await
            .unwrap_or(false);
        if known && matches && !empty {
            Ok(None)
        } else {
            Err(login_failed(&user))
        }
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        let verifier = match self.verifier(user).await {
            Some(v) => v,
            None => Verifier::mock(user, &self.nonce),
        };
        Ok((verifier.secret(), None))
    }
}

/// The mechanisms a connection authenticates with.
pub(super) struct Authenticator {
    pub(super) method: Method,
    pub(super) ssl_required: bool,
    pub(super) cleartext: CleartextPasswordAuth<Users>,
    pub(super) scram: ScramAuth,
    /// SCRAM with channel binding offered too, for connections over TLS only (a client
    /// offered SCRAM-SHA-256-PLUS without TLS refuses the server).
    pub(super) scram_tls: Option<ScramAuth>,
}

impl Authenticator {
    pub(super) fn new(options: &EndpointOptions, engine: Arc<Engine>) -> Authenticator {
        let users = Arc::new(Users {
            engine,
            config: options.config_users.clone(),
            nonce: rand::random(),
        });
        let scram = ScramAuth::new(users.clone());
        let scram_tls = options.cert_pem.as_ref().and_then(|pem| {
            let mut auth = ScramAuth::new(users.clone());
            match auth.configure_certificate(pem) {
                Ok(()) => Some(auth),
                Err(e) => {
                    tracing::warn!(error = %e, "SCRAM channel binding is off: the certificate's signature algorithm is not supported");
                    None
                }
            }
        });
        Authenticator {
            method: options.method,
            ssl_required: options.ssl_required,
            cleartext: CleartextPasswordAuth::new(users),
            scram,
            scram_tls,
        }
    }

    /// The mechanism for a new connection; `None` under trust.
    pub(super) fn mechanism(
        &self,
        secure: bool,
    ) -> Option<Box<dyn pgwire::api::auth::mechanism::AuthMechanism>> {
        match self.method {
            Method::Trust => None,
            Method::Password => Some(self.cleartext.create()),
            Method::Scram => Some(match (&self.scram_tls, secure) {
                (Some(plus), true) => plus.create(),
                _ => self.scram.create(),
            }),
        }
    }
}
