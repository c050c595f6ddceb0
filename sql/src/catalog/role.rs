//! Users and roles, and their passwords kept as PostgreSQL keeps them: a SCRAM-SHA-256
//! verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), from which
//! neither the password nor anything a client could log in with can be read back.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramSecret};
use serde::{Deserialize, Serialize};

/// A role made with CREATE ROLE / CREATE USER.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRole {
    pub superuser: bool,
    /// Whether the role may connect (CREATE USER implies it, CREATE ROLE does not).
    pub login: bool,
    /// The password's verifier, in PostgreSQL's text form.
    pub password: Option<String>,
}

/// PostgreSQL's default (`scram_iterations`).
const ITERATIONS: usize = 4096;
const SALT_LEN: usize = 16;
const PREFIX: &str = "SCRAM-SHA-256$";

/// A SCRAM-SHA-256 verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    iterations: usize,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl Verifier {
    /// The verifier of `password` under a fresh random salt.
    pub fn new(password: &str) -> Verifier {
        let salt: [u8; SALT_LEN] = rand::random();
        Self::with_salt(password, &salt, ITERATIONS)
    }

    fn with_salt(password: &str, salt: &[u8], iterations: usize) -> Verifier {
        let salted = gen_salted_password(password, salt, iterations);
        match ScramSecret::verifier_from_salted_password(salt.to_vec(), salted, iterations) {
            ScramSecret::Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            } => Verifier {
                iterations,
                salt,
                stored_key,
                server_key,
            },
            // verifier_from_salted_password makes nothing else.
            ScramSecret::SaltedPassword { salt, .. } => Verifier {
                iterations,
                salt,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    /// A password as CREATE USER or the configuration gives it: a verifier is taken as
    /// it is (PostgreSQL does the same, so verifiers can be copied from one server to
    /// another), anything else is a password in clear.
    pub fn from_password_or_verifier(text: &str) -> Verifier {
        Self::parse(text).unwrap_or_else(|| Self::new(text))
    }

    /// Parses PostgreSQL's text form.
    pub fn parse(text: &str) -> Option<Verifier> {
        let rest = text.strip_prefix(PREFIX)?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let verifier = Verifier {
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored_key).ok()?,
            server_key: STANDARD.decode(server_key).ok()?,
        };
        (verifier.stored_key.len() == 32 && verifier.server_key.len() == 32).then_some(verifier)
    }

    /// Whether `password` is the one this verifier was made from.
    pub fn verify(&self, password: &str) -> bool {
        let candidate = Self::with_salt(password, &self.salt, self.iterations);
        // Compared without stopping at the first difference.
        candidate.stored_key.len() == self.stored_key.len()
            && candidate
                .stored_key
                .iter()
                .zip(&self.stored_key)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// What pgwire's SCRAM exchange checks a client against.
    pub fn secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }

    /// A verifier no password matches, with a salt that stays the same for a user name
    /// within a process: an unknown user goes through the whole exchange and fails as a
    /// wrong password does, so a client cannot tell which users exist (PostgreSQL's mock
    /// authentication).
    pub fn mock(user: &str, process_nonce: &[u8]) -> Verifier {
        let salt = gen_salted_password(user, process_nonce, 1);
        let key: [u8; 32] = rand::random();
        Verifier {
            iterations: ITERATIONS,
            salt: salt[..SALT_LEN.min(salt.len())].to_vec(),
            stored_key: key.to_vec(),
            server_key: key.to_vec(),
        }
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_password_only() {
        let v = Verifier::new("s3cret");
        assert!(v.verify("s3cret"));
        assert!(!v.verify("s3cret "));
        assert!(!v.verify(""));
        let text = v.to_string();
        assert!(!text.contains("s3cret"));
        assert_eq!(Verifier::parse(&text), Some(v.clone()));
        assert_eq!(Verifier::from_password_or_verifier(&text), v);
    }

    #[test]
    fn reads_a_verifier_postgresql_made() {
        // PostgreSQL 15.18: CREATE ROLE r PASSWORD 'pencil';
        // SELECT rolpassword FROM pg_authid WHERE rolname = 'r';
        let pg = "SCRAM-SHA-256$4096:WNnCmERWN/N2fp/vVzdd7A==$ZPtqGo7DEkOwfWPvpWMhB9I2fzqV0bInAQilwZyxYH4=:23Ev31tHO9Hvl4xMCt6YQwQt27ZC6F032zu8OfvEGmY=";
        let v = Verifier::parse(pg).expect("parses");
        assert_eq!(v.to_string(), pg);
        assert!(v.verify("pencil"));
        assert!(!v.verify("pencil2"));
        // Made here under the same salt, the verifier is PostgreSQL's, byte for byte.
        assert_eq!(Verifier::with_salt("pencil", &v.salt, 4096), v);
    }

    #[test]
    fn refuses_malformed_verifiers() {
        for bad in [
            "SCRAM-SHA-256$",
            "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
            "SCRAM-SHA-256$4096:!!$AAAA:AAAA",
            "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA",
            "md5abc",
        ] {
            assert_eq!(Verifier::parse(bad), None, "{bad}");
        }
    }
}
