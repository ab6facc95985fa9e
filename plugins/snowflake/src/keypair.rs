//! Key-pair authentication: the RS256 JWT Snowflake's log-in takes with
//! `AUTHENTICATOR: SNOWFLAKE_JWT`, signed with aws-lc-rs (already linked for TLS).
//!
//! Claims, as Snowflake documents them: `iss` =
//! `ACCOUNT.USER.SHA256:<base64 of the SHA-256 of the public key's DER (SubjectPublicKeyInfo)>`,
//! `sub` = `ACCOUNT.USER`, `iat` and `exp` (at most an hour later), account and
//! user in upper case.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use junction_core::Secret;
use junction_kit::jwt;

/// How long a JWT is valid: Snowflake accepts at most one hour.
pub const JWT_LIFETIME_SECONDS: u64 = 59 * 60;

/// Why a key could not be used. Never holds any part of the key or passphrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the private key is not a PKCS#8 PEM block (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)"
    )]
    NotPem,
    #[error("the private key is encrypted: give its passphrase in privateKeyPassword")]
    NeedsPassphrase,
    #[error("the private key could not be decrypted: wrong privateKeyPassword, or a damaged key")]
    Decrypt,
    #[error(
        "the encrypted private key uses {0}, which is not supported (use PBES2 with PBKDF2 and AES-CBC, OpenSSL's default: openssl pkcs8 -topk8 -v2 aes-256-cbc)"
    )]
    Unsupported(String),
    #[error("the private key is not an RSA key in PKCS#8 form: {0}")]
    Rejected(String),
    #[error("the JWT could not be signed")]
    Sign,
}

const BEGIN_ENCRYPTED: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/// Whether a PEM holds an encrypted PKCS#8 key.
pub fn is_encrypted(pem: &str) -> bool {
    pem.contains(BEGIN_ENCRYPTED)
}

/// The (decrypted) PKCS#8 DER inside a PEM block.
pub fn pem_to_der(pem: &str, passphrase: Option<&Secret<String>>) -> Result<Vec<u8>, KeyError> {
    if is_encrypted(pem) {
        let der = jwt::pem_body(pem, "ENCRYPTED PRIVATE KEY").map_err(|_| KeyError::NotPem)?;
        let pass = passphrase.ok_or(KeyError::NeedsPassphrase)?;
        decrypt_pkcs8(&der, pass.expose().as_bytes())
    } else {
        jwt::pem_body(pem, "PRIVATE KEY").map_err(|_| KeyError::NotPem)
    }
}

/// The key pair of a PKCS#8 PEM, encrypted or not.
pub fn load(
    pem: &Secret<String>,
    passphrase: Option<&Secret<String>>,
) -> Result<RsaKeyPair, KeyError> {
    let der = pem_to_der(pem.expose(), passphrase)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| {
        if passphrase.is_some() && is_encrypted(pem.expose()) {
            // Garbage that happened to unpad: a wrong passphrase, most likely.
            KeyError::Decrypt
        } else {
            KeyError::Rejected(e.to_string())
        }
    })
}

/// A minimal DER reader: enough for an `EncryptedPrivateKeyInfo`.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element's tag and content.
    fn next(&mut self) -> Result<(u8, &'a [u8]), KeyError> {
        let bad = || KeyError::Unsupported("a malformed DER structure".into());
        let (&tag, rest) = self.0.split_first().ok_or_else(bad)?;
        let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(bad());
        }
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Ok((tag, content))
    }

    fn take(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
        match self.next()? {
            (t, c) if t == tag => Ok(c),
            _ => Err(KeyError::Unsupported("an unexpected DER structure".into())),
        }
    }
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const OCTETS: u8 = 0x04;
const INTEGER: u8 = 0x02;
const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const OID_PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
const OID_HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
const OID_HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
const OID_HMAC_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
const OID_HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
const OID_AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
const OID_AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
const OID_AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
/// More PBKDF2 rounds than any sane key uses: refuse rather than spin for minutes.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Decrypts an `EncryptedPrivateKeyInfo` protected with PBES2 (PBKDF2 with
/// HMAC-SHA1/256/384/512, AES-128/192/256-CBC): what `openssl pkcs8 -topk8`
/// and Snowflake's documentation produce.
pub fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, KeyError> {
    use aws_lc_rs::cipher::{
        AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
    };
    use aws_lc_rs::iv::FixedLength;
    let mut top = Der(Der(der).take(SEQUENCE)?);
    let mut alg = Der(top.take(SEQUENCE)?);
    let encrypted = top.take(OCTETS)?;
    if alg.take(OID)? != OID_PBES2 {
        return Err(KeyError::Unsupported(
            "an encryption scheme other than PBES2".into(),
        ));
    }
    let mut params = Der(alg.take(SEQUENCE)?);
    let mut kdf = Der(params.take(SEQUENCE)?);
    let mut scheme = Der(params.take(SEQUENCE)?);
    if kdf.take(OID)? != OID_PBKDF2 {
        return Err(KeyError::Unsupported(
            "a key derivation other than PBKDF2 (scrypt?)".into(),
        ));
    }
    let mut kdf_params = Der(kdf.take(SEQUENCE)?);
    let salt = kdf_params.take(OCTETS)?;
    let iterations = kdf_params
        .take(INTEGER)?
        .iter()
        .try_fold(0u32, |a, b| a.checked_mul(256).map(|a| a | u32::from(*b)))
        .filter(|n| (1..=MAX_ITERATIONS).contains(n))
        .and_then(std::num::NonZeroU32::new)
        .ok_or_else(|| KeyError::Unsupported("an out-of-range PBKDF2 iteration count".into()))?;
    let mut prf = aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA1;
    while !kdf_params.0.is_empty() {
        match kdf_params.next()? {
            // keyLength: implied by the cipher.
            (INTEGER, _) => {}
            (SEQUENCE, content) => {
                prf = match Der(content).take(OID)? {
                    o if o == OID_HMAC_SHA1 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA1,
                    o if o == OID_HMAC_SHA256 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
                    o if o == OID_HMAC_SHA384 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA384,
                    o if o == OID_HMAC_SHA512 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
                    _ => return Err(KeyError::Unsupported("an unknown PBKDF2 PRF".into())),
                };
            }
            _ => return Err(KeyError::Unsupported("unexpected PBKDF2 parameters".into())),
        }
    }
    let (cipher, key_len) = match scheme.take(OID)? {
        o if o == OID_AES128_CBC => (&AES_128, 16),
        o if o == OID_AES192_CBC => (&AES_192, 24),
        o if o == OID_AES256_CBC => (&AES_256, 32),
        _ => return Err(KeyError::Unsupported("a cipher other than AES-CBC".into())),
    };
    let iv: [u8; 16] = scheme
        .take(OCTETS)?
        .try_into()
        .map_err(|_| KeyError::Unsupported("an IV that is not 16 bytes".into()))?;
    let mut key = vec![0u8; key_len];
    aws_lc_rs::pbkdf2::derive(prf, iterations, salt, passphrase, &mut key);
    let unbound = UnboundCipherKey::new(cipher, &key).map_err(|_| KeyError::Decrypt)?;
    let decrypting = PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(|_| KeyError::Decrypt)?;
    let mut buf = encrypted.to_vec();
    let plain = decrypting
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| KeyError::Decrypt)?;
    Ok(plain.to_vec())
}

/// `SHA256:<base64>` of the public key's SubjectPublicKeyInfo DER: the
/// fingerprint Snowflake shows as `RSA_PUBLIC_KEY_FP`.
pub fn fingerprint(key: &RsaKeyPair) -> Result<String, KeyError> {
    let der: PublicKeyX509Der<'_> = key.public_key().as_der().map_err(|_| KeyError::Sign)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref());
    Ok(format!("SHA256:{}", STANDARD.encode(digest.as_ref())))
}

/// The signed JWT for `account` and `user`, issued at `now` (seconds since the epoch).
pub fn jwt(
    account: &str,
    user: &str,
    pem: &Secret<String>,
    passphrase: Option<&Secret<String>>,
    now: u64,
) -> Result<Secret<String>, KeyError> {
    let key = load(pem, passphrase)?;
    let qualified = format!(
        "{}.{}",
        account.to_ascii_uppercase(),
        user.to_ascii_uppercase()
    );
    let claims = serde_json::json!({
        "iss": format!("{qualified}.{}", fingerprint(&key)?),
        "sub": qualified,
        "iat": now,
        "exp": now + JWT_LIFETIME_SECONDS,
    });
    jwt::sign_rs256(&key, None, &claims).map_err(|_| KeyError::Sign)
}
