//! Input validation: constrained values are parsed once, at the edge, into these types;
//! a failure names the field and a stable machine code.

use serde::Serialize;

/// One problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name in the request (`subject`, `cc_ids[2]`, …).
    pub field: String,
    /// A stable machine code (`required`, `too_long`, `invalid_email`, …).
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Collects the problems of one input so that all are reported at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    /// Records the error of `r`, if any, and gives back its value.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Whether nothing was reported yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records a problem.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Trims `value` and checks it is between `min` and `max` characters long.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        return Err(FieldError::new(
            field,
            if min == 1 { "required" } else { "too_short" },
            if min == 1 {
                format!("{field} must not be empty")
            } else {
                format!("{field} must be at least {min} characters")
            },
        ));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(v.to_owned())
}

/// A single-line name: 1 to `max` characters, no line breaks.
pub fn name(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = text(field, value, 1, max)?;
    if v.contains(['\n', '\r', '\t']) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} must be a single line"),
        ));
    }
    Ok(v)
}

/// An email address, lowercased: one `@`, a non-empty local part, a dotted domain.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    use unicode_normalization::UnicodeNormalization;
    // Compatibility forms (fullwidth ａ, ligatures) become the plain letters they stand for.
    let v: String = value.trim().nfkc().collect::<String>().to_lowercase();
    let bad = || {
        FieldError::new(
            field,
            "invalid_email",
            format!("{field} must be an email address like name@example.com"),
        )
    };
    if v.len() > 254 {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most 254 characters"),
        ));
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains(['@', '<', '>', '"', ',', ';']);
    if !(domain_ok && local_ok) {
        return Err(bad());
    }
    // One script per part: `аlice` with a Cyrillic а is someone pretending to be alice.
    use unicode_security::MixedScript;
    if !local.is_single_script() || domain.split('.').any(|label| !label.is_single_script()) {
        return Err(FieldError::new(
            field,
            "mixed_scripts",
            format!("{field} mixes letters of different alphabets, as look-alike addresses do"),
        ));
    }
    Ok(v)
}

/// The look-alike skeleton of an (already normalised) email address (Unicode TS #39): two
/// addresses with the same skeleton look the same to a person, such as `alice@` in Latin letters
/// and `аlісе@` in Cyrillic ones.
pub fn email_skeleton(email: &str) -> String {
    unicode_security::skeleton(email).collect()
}

/// A domain name, lowercased.
pub fn domain(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().trim_start_matches('@').to_lowercase();
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.contains('.')
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            "invalid_domain",
            format!("{field} must be a domain name like example.com"),
        ))
    }
}

/// A tag: lowercased, 1 to 64 characters of letters, digits, `_`, `-`, `:` or `.`.
pub fn tag(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    let ok = !v.is_empty()
        && v.chars().count() <= 64
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'));
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            "invalid_tag",
            "tags are 1 to 64 letters, digits, '_', '-', ':' or '.', without spaces",
        ))
    }
}

/// A list of tags: each checked, duplicates removed, at most `max`, sorted.
pub fn tags(field: &str, values: &[String], max: usize) -> Result<Vec<String>, FieldError> {
    if values.len() > max {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("{field} may hold at most {max} items"),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        out.push(tag(&format!("{field}[{i}]"), v)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Passwords of 12 characters or more that show up first in leaked-password lists, and the
/// keyboard and counting patterns people build long passwords from. Compared in lower case.
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "123123123123",
    "111111111111",
    "000000000000",
    "123456123456",
    "password1234",
    "password12345",
    "password123456",
    "password123!",
    "passwordpassword",
    "p@ssw0rd1234",
    "p@ssword1234",
    "qwertyuiopas",
    "qwertyuiop123",
    "qwerty123456",
    "qwertyqwerty",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "q1w2e3r4t5y6",
    "asdfghjkl123",
    "zxcvbnm12345",
    "iloveyou1234",
    "abc123456789",
    "abcdefghijkl",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "administrator1",
    "admin1234567",
    "changeme1234",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "starwars1234",
    "trustno11234",
    "monkey123456",
    "dragon123456",
    "master123456",
    "superman1234",
    "michael12345",
    "jennifer1234",
    "computer1234",
    "internet1234",
    "whatever1234",
    "helpdesk1234",
    "support12345",
    "ferrodesk123",
    "ferrodesk1234",
    "correcthorsebatterystaple",
    "correct horse battery staple",
];

/// A password: 12 to 1024 characters, not one of the most common ones, not one character
/// repeated, not a plain run of digits or letters.
pub fn password(field: &str, value: &str) -> Result<String, FieldError> {
    let n = value.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("{field} must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > 1024 {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most 1024 characters"),
        ));
    }
    let lower = value.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let one_char = chars.iter().all(|c| *c == chars[0]);
    let run = chars
        .windows(2)
        .all(|w| (w[1] as u32).wrapping_sub(w[0] as u32) == 1)
        || chars
            .windows(2)
            .all(|w| (w[0] as u32).wrapping_sub(w[1] as u32) == 1);
    if one_char || run || COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(FieldError::new(
            field,
            "too_common",
            format!("{field} is one of the passwords attackers try first; choose another"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_emails_are_normalised_or_refused() {
        assert_eq!(
            email("e", "\u{ff41}lice@example.com").unwrap(),
            "alice@example.com"
        );
        assert_eq!(
            email("e", "\u{430}lice@example.com").unwrap_err().code,
            "mixed_scripts"
        );
        // All Cyrillic: one script, but it looks like ace@example.com.
        let cyrillic = email("e", "\u{430}\u{441}\u{435}@example.com").unwrap();
        assert_ne!(cyrillic, "ace@example.com");
        assert_eq!(email_skeleton(&cyrillic), email_skeleton("ace@example.com"));
        assert_ne!(
            email_skeleton("bob@example.com"),
            email_skeleton("ace@example.com")
        );
    }

    #[test]
    fn passwords_are_long_and_not_common() {
        assert_eq!(password("p", "short-pass1").unwrap_err().code, "too_short");
        for common in [
            "Password1234",
            "123456789012",
            "aaaaaaaaaaaaaa",
            "abcdefghijklmn",
        ] {
            assert_eq!(
                password("p", common).unwrap_err().code,
                "too_common",
                "{common}"
            );
        }
        assert!(password("p", "tangerine kettle drum").is_ok());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            email("email", " Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@exa..mple.com",
        ] {
            assert_eq!(
                email("email", bad).unwrap_err().code,
                "invalid_email",
                "{bad}"
            );
        }
    }

    #[test]
    fn text_names_the_field_and_the_reason() {
        let e = text("subject", "   ", 1, 10).unwrap_err();
        assert_eq!((e.field.as_str(), e.code.as_str()), ("subject", "required"));
        assert_eq!(
            text("subject", "x".repeat(11).as_str(), 1, 10)
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            text("subject", "a\u{0}b", 1, 10).unwrap_err().code,
            "invalid_characters"
        );
    }

    #[test]
    fn tags_are_normalised() {
        let t = tags("tags", &["VIP".into(), "vip".into(), "billing".into()], 10).unwrap();
        assert_eq!(t, vec!["billing", "vip"]);
        assert_eq!(
            tags("tags", &["two words".into()], 10).unwrap_err().field,
            "tags[0]"
        );
    }
}

/// A file name safe to store and to send back in `Content-Disposition`: the last part of any
/// path (`/` or `\`), without control characters or the bidirectional controls that make
/// `evil\u{202E}txt.exe` read as `evilexe.txt`, without leading dots (no hidden or relative
/// names) or trailing dots and spaces, at most 200 characters (the extension kept); `file`
/// when nothing is left.
pub fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let bidi = |c: char| {
        matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !bidi(*c) && *c != '"')
        .collect();
    let clean = clean
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_owned();
    let clean = if clean.chars().count() > 200 {
        match clean.rsplit_once('.') {
            Some((stem, ext)) if ext.chars().count() <= 16 => {
                let keep = 200 - ext.chars().count() - 1;
                format!("{}.{ext}", stem.chars().take(keep).collect::<String>())
            }
            _ => clean.chars().take(200).collect(),
        }
    } else {
        clean
    };
    if clean.is_empty() {
        "file".to_owned()
    } else {
        clean
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::file_name;

    #[test]
    fn paths_controls_and_bidi_overrides_are_removed() {
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("C:\\Users\\ana\\report.pdf"), "report.pdf");
        assert_eq!(file_name("evil\u{202E}txt.exe"), "eviltxt.exe");
        assert_eq!(file_name("a\u{0}b\r\nc.txt"), "abc.txt");
        assert_eq!(file_name("..."), "file");
        assert_eq!(file_name(".htaccess"), "htaccess");
        assert_eq!(file_name("say \"hi\".txt"), "say hi.txt");
        assert_eq!(file_name("Grüße 日本.png"), "Grüße 日本.png");
        let long = format!("{}.tar.gz", "x".repeat(300));
        let short = file_name(&long);
        assert_eq!(short.chars().count(), 200);
        assert!(short.ends_with(".gz"));
    }
}

/// Compares two secrets in time that depends only on their lengths (a guess learns nothing
/// from how long a refusal takes).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Percent-encodes everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`):
/// a URL path segment, an RFC 5987 file name.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
