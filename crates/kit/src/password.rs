//! Generated passwords for the system users automatic set-up creates.

use junction_core::{OpError, Secret};

/// The length the platforms use: within every platform's limits (Redshift
/// 8–64, Snowflake 8–256, SQL Server 8–128).
pub const DEFAULT_LEN: usize = 32;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A password of `len` letters and digits from the operating system's
/// CSPRNG, with at least one upper-case letter, one lower-case letter and one
/// digit (what Redshift, Snowflake's default policy and SQL Server's
/// complexity rule ask). Letters and digits only, so it needs no quoting in
/// any dialect or shell.
pub fn generate(len: usize) -> Result<Secret<String>, OpError> {
    if len < 3 {
        return Err(OpError::Failed(format!(
            "a generated password needs at least 3 characters, not {len}"
        )));
    }
    // Bytes at or above this bound are rejected so every character is equally likely.
    let bound = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    loop {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let mut buf = [0u8; 64];
            getrandom::fill(&mut buf)
                .map_err(|e| OpError::Failed(format!("no random numbers for a password: {e}")))?;
            for b in buf.into_iter().filter(|b| *b < bound) {
                if out.len() < len {
                    out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
                }
            }
        }
        let all_classes = out.chars().any(|c| c.is_ascii_uppercase())
            && out.chars().any(|c| c.is_ascii_lowercase())
            && out.chars().any(|c| c.is_ascii_digit());
        if all_classes {
            return Ok(Secret::new(out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_every_class_and_differ() {
        let a = generate(DEFAULT_LEN).expect("password");
        let b = generate(DEFAULT_LEN).expect("password");
        for p in [&a, &b] {
            let p = p.expose();
            assert_eq!(p.len(), DEFAULT_LEN);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn a_too_short_password_is_refused() {
        assert!(generate(2).is_err());
        assert_eq!(generate(3).expect("password").expose().len(), 3);
    }
}
