//! Test support: a throwaway PostgreSQL cluster of its own for each test
//! that needs one, so that no test depends on a server left running.
//!
//! [`Cluster::start`] finds Debian's PostgreSQL server binaries
//! (`/usr/lib/postgresql/<major>/bin`, the newest major; `HARK_PG_BIN`
//! names another folder), runs `initdb` into a temporary directory (trust
//! authentication, superuser `hark`, no fsync) and starts the server with
//! `pg_ctl` on a free loopback port, its socket in the same directory. The
//! server stops (`pg_ctl stop -m immediate`) and the directory is removed
//! when the [`Cluster`] is dropped, which a failing test's panic does too;
//! a watchdog process stops it as well if the test process dies without
//! unwinding (killed, or `panic = abort`).
//!
//! PostgreSQL refuses to run as root, and CI runs the tests as root: then
//! every server binary runs as the unprivileged user `nobody` through
//! `runuser`, with the data directory given to that user. Run as any other
//! user, the binaries run directly.
//!
//! A machine without PostgreSQL fails the test with a message naming the
//! package to install (`postgresql`); nothing is skipped.

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The superuser of every test cluster (trust authentication: no password).
pub const SUPERUSER: &str = "hark";

/// The user the server binaries run as when the tests run as root.
const UNPRIVILEGED: &str = "nobody";

/// A running PostgreSQL server in a temporary directory, stopped and
/// removed on drop.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Whether the binaries run as [`UNPRIVILEGED`] through `runuser`.
    as_nobody: bool,
    running: bool,
    /// Whether the server syncs its writes to disk (`fsync`).
    fsync: bool,
    watchdog: Option<std::process::Child>,
}

impl Cluster {
    /// Creates and starts a cluster.
    ///
    /// # Panics
    ///
    /// With a message saying what to do when PostgreSQL is not installed, or
    /// with the server's log when `initdb` or the start fails: a test that
    /// needs a server fails rather than skips.
    pub fn start() -> Cluster {
        Cluster::start_with_fsync(false)
    }

    /// Creates and starts a cluster whose server syncs its writes to disk
    /// (`fsync=on`, as a production server does) when `fsync` is true:
    /// for benchmarks that compare write costs with a local catalog.
    ///
    /// # Panics
    ///
    /// As [`Cluster::start`].
    pub fn start_with_fsync(fsync: bool) -> Cluster {
        let bin = find_bin().unwrap_or_else(|why| panic!("{why}"));
        let as_nobody = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::Builder::new()
            .prefix("hark-pgtest-")
            .tempdir()
            .expect("create a temporary directory for the test cluster");
        if as_nobody {
            // `nobody` must reach the data directory, socket and log.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .expect("open the test cluster's directory to its server user");
        }
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            as_nobody,
            running: false,
            fsync,
            watchdog: None,
        };
        cluster.run_checked(
            "initdb",
            &[
                "-D",
                &cluster.data_dir().to_string_lossy(),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ],
        );
        // A free port can be taken by another test between the probe and
        // the server's bind: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    cluster.running = true;
                    cluster.watchdog = Some(cluster.spawn_watchdog());
                    return cluster;
                }
                Err(log) => last = log,
            }
        }
        panic!("the test PostgreSQL server would not start:\n{last}");
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `postgres://` URL for `database` as the superuser, over TCP on
    /// loopback.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A `postgres://` URL for `database` as `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Creates a database owned by the superuser; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// Runs SQL through `psql` as the superuser (stopping at the first
    /// error); returns what it printed (unaligned, tuples only).
    ///
    /// # Panics
    ///
    /// If psql fails, with its output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let out = Command::new(&psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", database, "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("run `{}`: {e}", psql.display()));
        if !out.status.success() {
            panic!(
                "psql failed on {sql:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops the server at once (as a crash would: `-m immediate`).
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data_dir().to_string_lossy().into_owned();
            let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
            self.running = false;
        }
    }

    /// Starts a stopped server again on the same port.
    ///
    /// # Panics
    ///
    /// If it will not start, with its log.
    pub fn restart(&mut self) {
        self.stop();
        self.pg_ctl_start()
            .unwrap_or_else(|log| panic!("the test server would not restart:\n{log}"));
        self.running = true;
    }

    /// Turns TLS on: a self-signed certificate for `localhost` made with
    /// `openssl` (as the server's user), then a configuration reload.
    /// Connections may then use TLS; plain ones are still accepted.
    ///
    /// # Panics
    ///
    /// If `openssl` is missing or fails, or the reload does.
    pub fn enable_tls(&self) {
        let data = self.data_dir();
        let mut command = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", UNPRIVILEGED, "--", "openssl"]);
            c
        } else {
            Command::new("openssl")
        };
        let out = command
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(data.join("server.key"))
            .arg("-out")
            .arg(data.join("server.crt"))
            .output()
            .unwrap_or_else(|e| panic!("run `openssl` (Debian's `openssl` package): {e}"));
        assert!(
            out.status.success(),
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.psql("postgres", "ALTER SYSTEM SET ssl = on");
        self.psql("postgres", "SELECT pg_reload_conf()");
        // The reload is asynchronous: wait until new sessions see it.
        for _ in 0..100 {
            if self.psql("postgres", "SHOW ssl").trim() == "on" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the test server did not turn TLS on:\n{}", self.log());
    }

    /// Makes every role but the superuser give its password over TCP
    /// (`scram-sha-256`), as a real server does; the superuser (the
    /// harness's own `psql`) stays trusted.
    ///
    /// # Panics
    ///
    /// If `pg_hba.conf` cannot be written or the reload fails.
    pub fn require_passwords(&self) {
        let hba = format!(
            "local all all trust\n\
             host all {SUPERUSER} 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n"
        );
        std::fs::write(self.data_dir().join("pg_hba.conf"), hba)
            .expect("write the test cluster's pg_hba.conf");
        self.psql("postgres", "SELECT pg_reload_conf()");
        // The reload is asynchronous; new sessions read pg_hba.conf.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={}",
            self.port,
            self.dir.path().display(),
            if self.fsync { "on" } else { "off" }
        );
        let data = self.data_dir().to_string_lossy().into_owned();
        let log = self.log_file().to_string_lossy().into_owned();
        let out = self.run(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ))
        }
    }

    /// A shell that outlives the test process only long enough to stop the
    /// server and remove its directory if the process dies without
    /// dropping the cluster. SIGQUIT is PostgreSQL's immediate shutdown.
    fn spawn_watchdog(&self) -> std::process::Child {
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
             pid=$(head -n1 '{data}/postmaster.pid' 2>/dev/null) && kill -QUIT \"$pid\" 2>/dev/null; \
             sleep 1; rm -rf '{dir}'",
            parent = std::process::id(),
            data = self.data_dir().display(),
            dir = self.dir.path().display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start the test cluster's watchdog")
    }

    /// Runs a server binary, as `nobody` when the tests run as root.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut command = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", UNPRIVILEGED, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        command
            .args(args)
            .stdin(Stdio::null())
            // The server inherits the tool's stdout: a pipe kept open would
            // keep `output()` waiting for the server's exit.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if tool == "pg_ctl" {
            command.stdout(Stdio::null());
        }
        command.output().unwrap_or_else(|e| {
            panic!(
                "run `{}`{}: {e}",
                exe.display(),
                if self.as_nobody {
                    " through `runuser` (util-linux)"
                } else {
                    ""
                }
            )
        })
    }

    fn run_checked(&self, tool: &str, args: &[&str]) {
        let out = self.run(tool, args);
        if !out.status.success() {
            panic!(
                "`{tool}` failed for the test cluster: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // Files the server wrote belong to `nobody`; root removes them all
        // the same, and TempDir's own drop follows.
    }
}

/// The folder of the newest installed PostgreSQL's server binaries.
fn find_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("HARK_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "HARK_PG_BIN is `{}`, which has no `initdb`\n{INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "PostgreSQL is not installed: the shared-catalog tests start their own server \
         from /usr/lib/postgresql/<version>/bin\n\
         {INSTALL_HINT}"
        )
    })
}

const INSTALL_HINT: &str = "hint: `apt-get install postgresql` (Debian's package; `.ci/run` \
     installs it), or set HARK_PG_BIN to a folder holding initdb, pg_ctl and psql";

/// A loopback port nothing listens on at the moment.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}
