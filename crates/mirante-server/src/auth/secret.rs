//! Secrets: random values from the operating system, their SHA-256 fingerprints (what is
//! stored for sessions, API tokens and reset tokens), and Argon2id password hashes.
//! Hashing is CPU work: callers run it on the blocking pool, never on an async thread.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Prefix of API tokens, so that a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "mrt_";

/// 256 random bits from the operating system, as 64 hex characters.
pub fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(hex(&bytes))
}

/// The stored fingerprint of a secret: SHA-256, hex.
pub fn fingerprint(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// An Argon2id hash (PHC string, random salt, the crate's recommended parameters).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing a password: {e}"))
}

/// Whether `password` matches `hash`. With `hash = None` (no such account, or no password
/// set yet) a dummy hash is verified anyway, so the answer takes the same time whether or
/// not the account exists; the result is then always `false`.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    match hash {
        Some(hash) => Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok(),
        None => {
            if let Some(dummy) = dummy_hash() {
                let _ = Argon2::default().verify_password(password.as_bytes(), dummy);
            }
            false
        }
    }
}

fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password("mirante-dummy-password").ok())
        .as_deref()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn secrets_are_random_and_fingerprints_stable() {
        let a = random_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret().unwrap());
        assert_eq!(fingerprint("abc"), fingerprint("abc"));
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong horse!", Some(&h)));
        assert!(!verify_password("correct horse", None));
    }
}
