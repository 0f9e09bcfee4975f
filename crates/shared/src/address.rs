//! From a catalog address to a connection's settings, with libpq's
//! conventions where the `postgres` crate lacks them.
//!
//! The crate parses a `postgres://` (or `postgresql://`) URL, or a
//! `key=value` connection string, with libpq's parameter names. libpq also
//! fills what the address leaves out from the environment and from a
//! password file; the crate does not, so [`Address::resolve`] does, for:
//!
//! | setting  | environment  | default when unset everywhere |
//! |----------|--------------|-------------------------------|
//! | host     | `PGHOST` (a name, an address, or a socket folder starting with `/`) | the socket folder `/var/run/postgresql` if it exists, else `localhost` |
//! | port     | `PGPORT`     | 5432 |
//! | user     | `PGUSER`     | the name of the user running hark |
//! | database | `PGDATABASE` | the user's name |
//! | password | `PGPASSWORD`, then the password file (`PGPASSFILE`, else `~/.pgpass`) | none |
//! | sslmode  | `PGSSLMODE` (`disable`, `prefer`, `require`; see the `tls` module) | `prefer` |
//! | connect_timeout | `PGCONNECT_TIMEOUT` (seconds) | 5 s |
//! | application_name | `PGAPPNAME` | `hark` |
//!
//! Values in the address win over the environment. The password file is
//! libpq's: lines `host:port:database:user:password`, `*` matching
//! anything, `\:` and `\\` escapes, `#` comments; the first line matching
//! the first host wins; the file is ignored, as libpq does, when group or
//! others can read it. A parameter the crate does not know (`service`,
//! `sslrootcert`, ...) is refused with the crate's message rather than
//! ignored.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::Config;

use crate::error::{Error, Result};
use crate::RedactedUrl;

/// Debian's socket folder, libpq's default there.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// How long a connection attempt waits when neither the address nor
/// `PGCONNECT_TIMEOUT` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolved catalog address: the crate's [`Config`] with the environment
/// and password file applied, and the address as it may be shown.
#[derive(Clone)]
pub struct Address {
    config: Config,
    shown: RedactedUrl,
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The crate's own Debug omits the password too; this is shorter.
        write!(f, "Address({})", self.shown)
    }
}

impl Address {
    /// Resolves `url` with the process's environment and home folder.
    ///
    /// # Errors
    ///
    /// [`Error::BadAddress`] if the address does not parse or a setting is
    /// invalid; the message shows the address redacted.
    pub fn resolve(url: &str) -> Result<Address> {
        Address::resolve_with(url, &|key| std::env::var(key).ok(), dirs::home_dir())
    }

    /// Resolves `url` with `env` for the environment and `home` for the
    /// home folder (for tests).
    ///
    /// # Errors
    ///
    /// As [`Address::resolve`].
    pub fn resolve_with(
        url: &str,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> Result<Address> {
        let shown = RedactedUrl::new(url);
        let bad = |cause: String| Error::BadAddress {
            address: shown.clone(),
            cause,
        };
        let trimmed = url.trim();
        if !(trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://")) {
            return Err(bad(
                "a catalog address is a `postgres://` URL (postgres://user@host:port/database)"
                    .into(),
            ));
        }
        // The crate's message may quote the value it stumbled on, which
        // can be the password: show only a redacted version of it.
        let mut config = Config::from_str(trimmed)
            .map_err(|e| bad(RedactedUrl::mask_in(&e.to_string(), trimmed)))?;
        let var = |key: &str| env(key).filter(|v| !v.is_empty());

        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            match var("PGHOST") {
                Some(hosts) => {
                    for host in hosts.split(',') {
                        if host.starts_with('/') {
                            config.host_path(host);
                        } else {
                            config.host(host);
                        }
                    }
                }
                None if Path::new(DEFAULT_SOCKET_DIR).is_dir() => {
                    config.host_path(DEFAULT_SOCKET_DIR);
                }
                None => {
                    config.host("localhost");
                }
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = var("PGPORT") {
                let port = port
                    .parse()
                    .map_err(|_| bad(format!("PGPORT `{port}` is not a port number")))?;
                config.port(port);
            }
        }
        if config.get_user().is_none() {
            let user = match var("PGUSER") {
                Some(user) => user,
                None => current_user().ok_or_else(|| {
                    bad(
                        "no user in the address or PGUSER, and the user running hark has no name"
                            .into(),
                    )
                })?,
            };
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            if let Some(db) = var("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if !trimmed.contains("sslmode=") {
            if let Some(mode) = var("PGSSLMODE") {
                config.ssl_mode(match mode.as_str() {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    other => {
                        return Err(bad(format!(
                            "PGSSLMODE `{other}` is not supported (disable, prefer or require)"
                        )))
                    }
                });
            }
        }
        if config.get_connect_timeout().is_none() {
            if let Some(secs) = var("PGCONNECT_TIMEOUT") {
                let secs: u64 = secs.parse().map_err(|_| {
                    bad(format!(
                        "PGCONNECT_TIMEOUT `{secs}` is not a number of seconds"
                    ))
                })?;
                config.connect_timeout(Duration::from_secs(secs));
            }
        }
        // A host that is down (not refusing) would otherwise hold a search
        // for the system's TCP timeout, minutes, before the replica answers.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(&var("PGAPPNAME").unwrap_or_else(|| "hark".into()));
        }
        if config.get_password().is_none() {
            if let Some(password) = var("PGPASSWORD") {
                config.password(password);
            } else if let Some(file) = var("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".pgpass")))
            {
                if let Some(password) = password_from_file(&file, &config)? {
                    config.password(password);
                }
            }
        }
        Ok(Address { config, shown })
    }

    /// The address as it may be shown (password masked).
    pub fn shown(&self) -> &RedactedUrl {
        &self.shown
    }

    /// The connection settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the settings insist on TLS (`sslmode=require`).
    pub fn requires_tls(&self) -> bool {
        self.config.get_ssl_mode() == SslMode::Require
    }
}

/// The name of the user running hark, as libpq takes it.
fn current_user() -> Option<String> {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            // SAFETY: getpwuid returns a pointer into static storage or
            // null; the name is copied out at once.
            unsafe {
                let pw = libc::getpwuid(libc::geteuid());
                if pw.is_null() {
                    return None;
                }
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_str()
                    .ok()
                    .map(str::to_owned)
            }
        })
}

/// The password for `config`'s first host, port, database and user in the
/// password file at `path`, if it exists, is private and has a matching
/// line.
fn password_from_file(path: &Path, config: &Config) -> Result<Option<String>> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        // libpq warns and ignores a file others can read.
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    let host = match config.get_hosts().first() {
        // libpq matches a socket connection as `localhost`.
        Some(Host::Unix(_)) | None => "localhost".to_string(),
        Some(Host::Tcp(name)) => name.clone(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let database = config.get_dbname().unwrap_or(&user).to_string();
    let wanted = [host.as_str(), &port, &database, &user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|(field, want)| field == "*" || field == want);
        if matches {
            return Ok(Some(fields[4..].join(":")));
        }
    }
    Ok(None)
}

/// Splits a password file line at unescaped `:`, undoing `\:` and `\\`.
fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn resolve(url: &str, vars: &[(&str, &str)], home: Option<PathBuf>) -> Result<Address> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Address::resolve_with(url, &|k| vars.get(k).cloned(), home)
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let a = resolve(
            "postgres:///sfx",
            &[
                ("PGHOST", "db.studio"),
                ("PGPORT", "6543"),
                ("PGUSER", "ann"),
                ("PGPASSWORD", "s3cret"),
                ("PGDATABASE", "ignored"),
                ("PGAPPNAME", "hark-test"),
            ],
            None,
        )
        .unwrap();
        let c = a.config();
        assert_eq!(c.get_hosts(), &[Host::Tcp("db.studio".into())]);
        assert_eq!(c.get_ports(), &[6543]);
        assert_eq!(c.get_user(), Some("ann"));
        assert_eq!(c.get_dbname(), Some("sfx"));
        assert_eq!(c.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(c.get_application_name(), Some("hark-test"));
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn the_url_wins_over_the_environment() {
        let a = resolve(
            "postgres://bob:pw@here:7000/lib",
            &[
                ("PGHOST", "there"),
                ("PGUSER", "ann"),
                ("PGPASSWORD", "other"),
            ],
            None,
        )
        .unwrap();
        let c = a.config();
        assert_eq!(c.get_hosts(), &[Host::Tcp("here".into())]);
        assert_eq!(c.get_user(), Some("bob"));
        assert_eq!(c.get_password(), Some(&b"pw"[..]));
        assert_eq!(a.shown().as_str(), "postgres://bob:***@here:7000/lib");
    }

    #[test]
    fn a_socket_folder_in_pghost_is_a_unix_host() {
        let a = resolve(
            "postgres://",
            &[("PGHOST", "/tmp/sock"), ("PGUSER", "u")],
            None,
        )
        .unwrap();
        assert_eq!(a.config().get_hosts(), &[Host::Unix("/tmp/sock".into())]);
    }

    #[test]
    fn the_password_file_gives_the_first_matching_line() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join(".pgpass");
        std::fs::write(
            &file,
            "# comment\n\
             other:5432:*:ann:wrong\n\
             db.studio:5432:sfx:ann:pa\\:ss\\\\word\n\
             *:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let get = |url: &str, vars: &[(&str, &str)]| {
            resolve(url, vars, Some(home.path().to_owned()))
                .unwrap()
                .config()
                .get_password()
                .map(|p| String::from_utf8(p.to_vec()).unwrap())
        };
        assert_eq!(
            get("postgres://ann@db.studio/sfx", &[]).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            get("postgres://ann@db.studio:6000/sfx", &[]).as_deref(),
            Some("fallback")
        );
        // PGPASSFILE names another file; PGPASSWORD wins over both.
        let elsewhere = home.path().join("elsewhere");
        std::fs::write(&elsewhere, "*:*:*:*:from-passfile\n").unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
        let passfile = elsewhere.to_str().unwrap();
        assert_eq!(
            get("postgres://ann@db.studio/sfx", &[("PGPASSFILE", passfile)]).as_deref(),
            Some("from-passfile")
        );
        assert_eq!(
            get(
                "postgres://ann@db.studio/sfx",
                &[("PGPASSFILE", passfile), ("PGPASSWORD", "env")]
            )
            .as_deref(),
            Some("env")
        );
        // A file others can read is ignored, as libpq does.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(get("postgres://ann@db.studio/sfx", &[]), None);
    }

    #[test]
    fn a_bad_address_is_refused_without_showing_its_password() {
        for url in [
            "mysql://u:s3cret@h/db",
            "postgres://u:s3cret@h/db?service=x",
            "postgres://u:s3cret@h:notaport/db",
        ] {
            let e = resolve(url, &[], None).expect_err(url);
            let shown = format!("{e} {e:?}");
            assert!(matches!(e, Error::BadAddress { .. }), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        let e = resolve("postgres://u@h/db", &[("PGSSLMODE", "verify-full")], None).unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }
}
