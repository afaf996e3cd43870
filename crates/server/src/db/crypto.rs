//! Encryption of stored secrets (app passwords, Login Flow poll tokens) with AES-256-GCM.
//!
//! Each ciphertext is `v1:<key id>:<base64(nonce ‖ ciphertext+tag)>`. The key id lets the
//! server keep decrypting rows written under an older key (`TOKEN_ENCRYPTION_OLD_KEYS`) while
//! encrypting new ones under the current key, and `nextcloud-mcp rotate-keys` re-encrypts old
//! rows. The associated data binds a ciphertext to its row (purpose and user id), so a value
//! copied into another user's row does not decrypt.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A key that failed to parse; the message never contains the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "stored secret was encrypted with key `{0}`, which is not configured (add it to TOKEN_ENCRYPTION_OLD_KEYS)"
    )]
    UnknownKey(String),
    #[error("stored secret is malformed or was tampered with")]
    Corrupt,
}

/// One AES-256 key and its id.
#[derive(Clone)]
pub struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// Parses 32 bytes given as base64 (standard or URL-safe, padded or not) or 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KeyError("not hexadecimal".into()))?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| {
                    KeyError("is neither base64 nor 64 hex digits (generate one with `openssl rand -base64 32`)".into())
                })?
        };
        if bytes.len() != 32 {
            return Err(KeyError(format!(
                "must be 32 bytes, got {} (generate one with `openssl rand -base64 32`)",
                bytes.len()
            )));
        }
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"nextcloud-mcp key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        let cipher = Aes256Gcm::new_from_slice(bytes).expect("32-byte key");
        Self { id, cipher }
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current key plus older ones still accepted for decryption.
#[derive(Clone, Debug)]
pub struct KeyRing {
    current: Key,
    old: Vec<Key>,
}

impl KeyRing {
    pub fn new(current: Key, old: Vec<Key>) -> Self {
        Self { current, old }
    }

    /// Encrypts `plaintext` for the row identified by `context` (e.g. `app_password:alice`).
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("v1:{}:{}", self.current.id, STANDARD.encode(blob))
    }

    /// Decrypts a value written by [`KeyRing::encrypt`] with the same `context`.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<String, CryptoError> {
        let mut parts = stored.splitn(3, ':');
        let (Some("v1"), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Corrupt);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.to_string()))?;
        let blob = STANDARD.decode(data).map_err(|_| CryptoError::Corrupt)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, sealed) = blob.split_at(12);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Corrupt)
    }

    /// Whether a stored value was written under an older key.
    pub fn is_stale(&self, stored: &str) -> bool {
        stored
            .split(':')
            .nth(1)
            .is_some_and(|kid| kid != self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const K2: &str = "6b6579322d6b6579322d6b6579322d6b6579322d6b6579322d6b6579322d6b65";

    #[test]
    fn round_trip_and_binding() {
        let ring = KeyRing::new(Key::parse(K1).unwrap(), vec![]);
        let c = ring.encrypt("secret-app-password", "app_password:alice");
        assert!(!c.contains("secret"));
        assert_eq!(
            ring.decrypt(&c, "app_password:alice").unwrap(),
            "secret-app-password"
        );
        assert!(matches!(
            ring.decrypt(&c, "app_password:bob"),
            Err(CryptoError::Corrupt)
        ));
        assert_ne!(c, ring.encrypt("secret-app-password", "app_password:alice"));
    }

    #[test]
    fn rotation_keeps_old_rows_readable() {
        let old = KeyRing::new(Key::parse(K1).unwrap(), vec![]);
        let c = old.encrypt("pw", "x");
        let new = KeyRing::new(Key::parse(K2).unwrap(), vec![Key::parse(K1).unwrap()]);
        assert!(new.is_stale(&c));
        assert_eq!(new.decrypt(&c, "x").unwrap(), "pw");
        let without = KeyRing::new(Key::parse(K2).unwrap(), vec![]);
        assert!(matches!(
            without.decrypt(&c, "x"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_keys_are_explained() {
        assert!(Key::parse("short").unwrap_err().0.contains("base64"));
        assert!(Key::parse("AAAA").unwrap_err().0.contains("32 bytes"));
    }
}
