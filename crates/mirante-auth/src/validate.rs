//! Input validation with stable codes: e-mail addresses, names and the password policy.
//! Each function returns the normalized value (trimmed; e-mails lower-cased) or the
//! [`AuthError`] naming the field.

use crate::AuthError;

/// Longest e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest name, nickname or label.
pub const MAX_NAME_CHARS: usize = mirante_core::command::MAX_NAME_CHARS;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (bounds the hashing work an anonymous caller can ask for).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A login e-mail: trimmed, lower-cased, `local@domain.tld`, no spaces or control
/// characters, at most [`MAX_EMAIL_CHARS`].
pub fn email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(AuthError::EmptyField("email"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(AuthError::FieldTooLong {
            field: "email",
            max: MAX_EMAIL_CHARS,
        });
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(AuthError::InvalidEmail);
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c);
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty() || local.chars().any(bad_char) || !domain_ok {
        return Err(AuthError::InvalidEmail);
    }
    Ok(email)
}

/// A required name-like field: trimmed, not empty, at most `max` characters.
pub fn name(field: &'static str, raw: &str, max: usize) -> Result<String, AuthError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(AuthError::EmptyField(field));
    }
    if value.chars().count() > max {
        return Err(AuthError::FieldTooLong { field, max });
    }
    if value.chars().any(char::is_control) {
        return Err(AuthError::EmptyField(field));
    }
    Ok(value.to_owned())
}

/// The password policy: at least [`MIN_PASSWORD_CHARS`], at most [`MAX_PASSWORD_CHARS`].
pub fn password(raw: &str) -> Result<(), AuthError> {
    let chars = raw.chars().count();
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::FieldTooLong {
            field: "password",
            max: MAX_PASSWORD_CHARS,
        });
    }
    if chars < MIN_PASSWORD_CHARS || raw.trim().is_empty() {
        return Err(AuthError::WeakPassword(MIN_PASSWORD_CHARS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  Ana@Example.COM ").unwrap(), "ana@example.com");
        assert_eq!(
            email("a.b+c@sub.example.com.br").unwrap(),
            "a.b+c@sub.example.com.br"
        );
        for bad in [
            "ana",
            "ana@",
            "@x.com",
            "ana@x",
            "a b@x.com",
            "ana@x..com",
            "a@b@c.com",
            "ana@.x.com",
        ] {
            assert_eq!(email(bad), Err(AuthError::InvalidEmail), "{bad}");
        }
        assert_eq!(email("  "), Err(AuthError::EmptyField("email")));
        let long = format!("{}@x.com", "a".repeat(250));
        assert_eq!(email(&long).unwrap_err().code(), "field_too_long");
    }

    #[test]
    fn names_and_passwords() {
        assert_eq!(name("name", "  Ana ", 10).unwrap(), "Ana");
        assert_eq!(name("name", " ", 10), Err(AuthError::EmptyField("name")));
        assert_eq!(
            name("name", "abcdefghijk", 10).unwrap_err().code(),
            "field_too_long"
        );
        assert!(password("0123456789").is_ok());
        assert_eq!(password("short"), Err(AuthError::WeakPassword(10)));
        assert_eq!(
            password(&"x".repeat(300)).unwrap_err().code(),
            "field_too_long"
        );
    }
}
