//! Keeping passwords out of everything hark shows or writes: a catalog URL
//! is only ever displayed, logged, stored or put in an error as a
//! [`RedactedUrl`], whose password is replaced by `***`.

use std::fmt;

/// What a password is shown as.
pub const MASK: &str = "***";

/// A catalog address with any password masked. It is built from the
/// address once, and holds only the masked text: neither `Display` nor
/// `Debug` can show the password, because it is not there.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Masks the password of `url`: the one after `user:` in a
    /// `postgres://user:password@host/db` URL, a `password=` query
    /// parameter, and a `password=` item of a `key=value` connection
    /// string (quoted or not).
    pub fn new(url: &str) -> RedactedUrl {
        let url = url.trim();
        if let Some(scheme_end) = url.find("://") {
            RedactedUrl(redact_uri(url, scheme_end + 3))
        } else {
            RedactedUrl(redact_key_values(url))
        }
    }

    /// `message` with every password of `url` in it masked: for a message
    /// from elsewhere (a parser's) that may quote a part of the address.
    pub fn mask_in(message: &str, url: &str) -> String {
        let mut out = message.to_string();
        for secret in secrets(url.trim()) {
            if !secret.is_empty() {
                out = out.replace(&secret, MASK);
            }
        }
        out
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({:?})", self.0)
    }
}

/// The passwords in `url`, as written and percent-decoded.
fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let query_at = rest.find('?').unwrap_or(rest.len());
        let (authority_and_path, query) = rest.split_at(query_at);
        if let Some(at) = authority_and_path.rfind('@') {
            if let Some((_, password)) = authority_and_path[..at].split_once(':') {
                found.push(password.to_string());
            }
        }
        for pair in query.trim_start_matches('?').split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if is_password_key(key) {
                    found.push(value.to_string());
                }
            }
        }
    } else {
        let mut rest = url;
        while let Some(eq) = rest.find('=') {
            let value = &rest[eq + 1..];
            let len = value_length(value);
            if is_password_key(key_before(&rest[..eq])) {
                found.push(value[..len].trim().trim_matches('\'').to_string());
            }
            rest = &value[len..];
        }
    }
    let decoded: Vec<String> = found.iter().map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    // Longest first, so a password containing another is masked whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// `%XX` escapes decoded (lossily, for matching only).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && s.is_char_boundary(i + 3) {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `scheme://[user[:password]@]host.../db?k=v&password=...`
fn redact_uri(url: &str, authority_start: usize) -> String {
    let (head, rest) = url.split_at(authority_start);
    // The user info ends at the last `@` before the path or query (a
    // password may itself hold an unescaped `@` or `/`, so take the last
    // `@` of the whole address when there is no `?`).
    let query_at = rest.find('?').unwrap_or(rest.len());
    let (authority_and_path, query) = rest.split_at(query_at);
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    match authority_and_path.rfind('@') {
        Some(at) => {
            let userinfo = &authority_and_path[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon + 1]);
                    out.push_str(MASK);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority_and_path[at..]);
        }
        None => out.push_str(authority_and_path),
    }
    if let Some(params) = query.strip_prefix('?') {
        out.push('?');
        let masked: Vec<String> = params
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if is_password_key(key) => format!("{key}={MASK}"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&masked.join("&"));
    }
    out
}

/// `host=a password='x y' dbname=b`
fn redact_key_values(conninfo: &str) -> String {
    let mut out = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(eq) = rest.find('=') {
        let key = key_before(&rest[..eq]);
        out.push_str(&rest[..=eq]);
        let value = &rest[eq + 1..];
        let value_len = value_length(value);
        if is_password_key(key) {
            out.push_str(MASK);
        } else {
            out.push_str(&value[..value_len]);
        }
        rest = &value[value_len..];
    }
    out.push_str(rest);
    out
}

/// The length of a `key=value` item's value: quoted (with `\'` and `\\`
/// escapes) or up to the next white space.
/// White space after the `=` is part of the span (libpq allows it).
fn value_length(value: &str) -> usize {
    let blank = value.len() - value.trim_start().len();
    let bytes = &value.as_bytes()[blank..];
    blank
        + if bytes.first() == Some(&b'\'') {
            let mut i = 1;
            loop {
                match bytes.get(i) {
                    Some(b'\\') => i += 2,
                    Some(b'\'') => break i + 1,
                    Some(_) => i += 1,
                    None => break bytes.len(),
                }
            }
        } else {
            bytes
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(bytes.len())
        }
}

/// The key of a `key = value` item, from the text before its `=`.
fn key_before(text: &str) -> &str {
    let text = text.trim_end();
    let start = text.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    &text[start..]
}

fn is_password_key(key: &str) -> bool {
    key.trim().eq_ignore_ascii_case("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_quoting_the_password_is_masked() {
        let url = "postgres://u:s%33cret@h/db?password=other";
        let masked = RedactedUrl::mask_in("bad value `s3cret` near `other`", url);
        assert_eq!(masked, "bad value `***` near `***`");
    }

    fn shown(url: &str) -> (String, String) {
        let r = RedactedUrl::new(url);
        (format!("{r}"), format!("{r:?}"))
    }

    #[test]
    fn the_password_of_a_url_is_masked_in_display_and_debug() {
        for (url, expected) in [
            (
                "postgres://hark:s3cret@db.studio:5432/sfx",
                "postgres://hark:***@db.studio:5432/sfx",
            ),
            (
                "postgresql://hark:p@ss/w0rd@db/sfx?sslmode=require",
                "postgresql://hark:***@db/sfx?sslmode=require",
            ),
            (
                "postgres://db/sfx?user=hark&password=s3cret&sslmode=require",
                "postgres://db/sfx?user=hark&password=***&sslmode=require",
            ),
            (
                "postgres://hark:s3cret@db/sfx?PASSWORD=s3cret",
                "postgres://hark:***@db/sfx?PASSWORD=***",
            ),
            ("postgres://hark@db/sfx", "postgres://hark@db/sfx"),
            ("postgres://db", "postgres://db"),
            (
                "host=db password=s3cret dbname=sfx",
                "host=db password=*** dbname=sfx",
            ),
            (
                "host=db password='s3 cr\\'et' dbname=sfx",
                "host=db password=*** dbname=sfx",
            ),
            ("password = s3cret", "password =***"),
        ] {
            let (display, debug) = shown(url);
            assert_eq!(display, expected, "{url}");
            assert!(!display.contains("s3cret") && !display.contains("p@ss"));
            assert!(
                !debug.contains("s3cret") && !debug.contains("p@ss"),
                "{debug}"
            );
        }
    }
}
