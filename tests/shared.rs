//! End-to-end tests of a shared catalog (`--catalog`) on a throwaway
//! PostgreSQL cluster (hark-pgtest: initdb into a temporary directory, a
//! free loopback port, torn down at the end), with the small CLAP
//! checkpoint: two runs splitting a library, a worker killed mid-run, a
//! second host with another mount, a read-only role, the server stopped
//! before a search and restarted mid-index, and no password anywhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hark_pgtest::Cluster;
use serde_json::Value;

mod common;
use common::*;

/// A mono 16-bit WAV of `seconds` of a tone at `freq` Hz with a little
/// noise, distinct per `seed`.
fn tone(seconds: f32, freq: f32, seed: u32) -> Vec<u8> {
    let rate = 16_000u32;
    let frames = (rate as f32 * seconds) as usize;
    let mut out = Vec::with_capacity(44 + frames * 2);
    out.extend(b"RIFF");
    out.extend(((36 + frames * 2) as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend((rate * 2).to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(((frames * 2) as u32).to_le_bytes());
    for i in 0..frames {
        let noise = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) as f32
            / 65536.0
            - 0.5;
        let x = 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin() + 0.1 * noise;
        out.extend(((x * 32767.0) as i16).to_le_bytes());
    }
    out
}

/// A library of `n` distinct sounds of `seconds` each, in two folders.
fn library(dir: &Path, n: usize, seconds: f32) -> PathBuf {
    let lib = dir.join("lib");
    for i in 0..n {
        let folder = lib.join(if i % 2 == 0 { "doors" } else { "steps" });
        fs::create_dir_all(&folder).unwrap();
        let name = format!("sound {i:03} {}.wav", ["creak", "thud", "gravel"][i % 3]);
        fs::write(
            folder.join(name),
            tone(seconds, 80.0 + 37.0 * i as f32, i as u32),
        )
        .unwrap();
    }
    lib
}

/// `hark` with the fixture model, an index directory and a catalog.
fn hark_at(index: &Path, catalog: &str) -> Command {
    let mut cmd = hark();
    cmd.args(["--model", fixture()])
        .arg("--index")
        .arg(index)
        .args(["--catalog", catalog])
        .env_remove("HARK_CATALOG")
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env("HOME", index);
    cmd
}

fn json(out: &Output) -> Value {
    let line = out
        .stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no JSON summary: {}", out.describe()));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
}

fn count(cluster: &Cluster, sql: &str) -> u64 {
    cluster.psql("sfx", sql).trim().parse().unwrap()
}

/// Whole-file vectors in the shared catalog.
fn vectors(cluster: &Cluster) -> u64 {
    // In a run's first instants the schema may not be there yet.
    if cluster
        .psql("sfx", "SELECT to_regclass('hark_vectors') IS NULL")
        .trim()
        == "t"
    {
        return 0;
    }
    count(
        cluster,
        "SELECT count(*) FROM hark_vectors WHERE segment = 0",
    )
}

/// Waits until the catalog holds at least `n` whole-file vectors.
fn wait_for_vectors(cluster: &Cluster, n: u64, child: &mut Child) {
    let start = Instant::now();
    loop {
        if vectors(cluster) >= n {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended ({status}) before {n} vectors were written");
        }
        assert!(start.elapsed() < LIMIT, "no {n} vectors within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `cmd` with its output captured.
fn start(cmd: &mut Command) -> (Child, String) {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, what)
}

/// Waits for a child [`start`]ed, failing the test after [`LIMIT`].
fn finish((mut child, what): (Child, String)) -> Output {
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let (status, stderr) = wait_within(&mut child, LIMIT, &what, stderr);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        what,
    }
}

fn search_paths(index: &Path, catalog: &str) -> (Vec<String>, Output) {
    let out = run(hark_at(index, catalog).args(["search", "sound", "-k", "500", "--paths"]));
    out.assert_code(0);
    (out.stdout.lines().map(str::to_owned).collect(), out)
}

#[test]
fn two_concurrent_runs_split_a_library_and_embed_each_file_once() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let n = 120;
    let lib = library(dir.path(), n, 3.0);
    let spawn = |index: &str| {
        start(
            hark_at(&dir.path().join(index), &url)
                .args([
                    "index", "--json", "--quiet", "--batch", "2", "--name", "sfx",
                ])
                .arg(&lib),
        )
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let a = finish(a);
    let b = finish(b);
    a.assert_success();
    b.assert_success();
    let (ja, jb) = (json(&a), json(&b));
    let (ea, eb) = (
        ja["embedded"].as_u64().unwrap(),
        jb["embedded"].as_u64().unwrap(),
    );
    assert_eq!(ea + eb, n as u64, "each file embedded once: {ja} {jb}");
    assert!(
        ea > 0 && eb > 0,
        "both runs did some of the work: {ja} {jb}"
    );
    assert_eq!(vectors(&cluster), n as u64);
    assert_eq!(count(&cluster, "SELECT count(*) FROM hark_work"), 0);
    assert_eq!(count(&cluster, "SELECT count(*) FROM hark_files"), n as u64);
    // Both replicas hold every file, at this host's paths.
    for index in ["a", "b"] {
        let (paths, out) = search_paths(&dir.path().join(index), &url);
        assert_eq!(paths.len(), n, "{}", out.describe());
        assert!(
            paths.iter().all(|p| Path::new(p).starts_with(&lib)),
            "{paths:?}"
        );
    }
}

#[test]
fn a_worker_killed_mid_run_loses_nothing_and_another_takes_its_files() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let n = 80;
    let lib = library(dir.path(), n, 4.0);
    let mut a = hark_at(&dir.path().join("a"), &url)
        .args(["index", "--quiet", "--batch", "1", "--name", "sfx"])
        .arg(&lib)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_vectors(&cluster, 5, &mut a);
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    let committed = vectors(&cluster);
    assert!(committed < n as u64, "the run was killed before the end");
    // Its claims died with it: the other worker takes every file left at once.
    let b = run(hark_at(&dir.path().join("b"), &url)
        .args(["index", "--json", "--quiet", "--name", "sfx"])
        .arg(&lib));
    b.assert_success();
    assert_eq!(
        json(&b)["embedded"].as_u64().unwrap(),
        n as u64 - committed,
        "the second worker embedded exactly what the first had not committed"
    );
    assert_eq!(vectors(&cluster), n as u64);
    assert_eq!(count(&cluster, "SELECT count(*) FROM hark_work"), 0);
}

#[test]
fn a_second_host_with_another_mount_embeds_nothing_and_prints_its_own_paths() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let n = 12;
    let lib = library(dir.path(), n, 2.0);
    let first = run(hark_at(&dir.path().join("a"), &url)
        .args(["index", "--json", "--quiet", "--name", "sfx"])
        .arg(&lib));
    first.assert_success();
    assert_eq!(json(&first)["embedded"].as_u64(), Some(n as u64));

    // The same library at another path: a copy keeping the times, one file
    // of which reports another time (as some network mounts round them).
    let other = dir.path().join("elsewhere").join("SFX");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&lib)
        .arg(&other)
        .status()
        .unwrap();
    assert!(cp.success());
    let touched = other.join("doors").join("sound 000 creak.wav");
    let f = fs::File::options().write(true).open(&touched).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    let second = run(hark_at(&dir.path().join("b"), &url)
        .args(["index", "--json", "--quiet", "--name", "sfx"])
        .arg(&other));
    second.assert_success();
    let s = json(&second);
    assert_eq!(s["embedded"].as_u64(), Some(0), "{s}");
    assert_eq!(s["added"].as_u64(), Some(0), "{s}");
    assert_eq!(s["updated"].as_u64(), Some(0), "{s}");
    assert_eq!(s["unchanged"].as_u64(), Some(n as u64), "{s}");

    let (paths_b, out) = search_paths(&dir.path().join("b"), &url);
    assert_eq!(paths_b.len(), n, "{}", out.describe());
    assert!(
        paths_b.iter().all(|p| Path::new(p).starts_with(&other)),
        "{paths_b:?}"
    );
    let (paths_a, _) = search_paths(&dir.path().join("a"), &url);
    assert!(
        paths_a.iter().all(|p| Path::new(p).starts_with(&lib)),
        "{paths_a:?}"
    );
    // Similar by a file of this host's mount.
    let similar = run(hark_at(&dir.path().join("b"), &url)
        .args(["similar", "--paths", "-k", "3"])
        .arg(&touched));
    similar.assert_success();
    assert!(
        similar
            .stdout
            .lines()
            .all(|p| Path::new(p).starts_with(&other)),
        "{}",
        similar.describe()
    );
}

/// The administrator's SQL from README.md, "A shared library for a team".
fn readme_setup(cluster: &Cluster) {
    cluster.psql(
        "postgres",
        "CREATE ROLE hark_indexer LOGIN PASSWORD 'change-me';
         CREATE ROLE hark_reader LOGIN PASSWORD 'change-me-too';",
    );
    cluster.psql("postgres", "CREATE DATABASE hark_sfx OWNER hark_indexer");
    cluster.psql(
        "hark_sfx",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         GRANT CREATE, USAGE ON SCHEMA public TO hark_indexer;
         GRANT USAGE ON SCHEMA public TO hark_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE hark_indexer IN SCHEMA public
             GRANT SELECT ON TABLES TO hark_reader;",
    );
}

#[test]
fn the_readme_roles_index_with_one_and_search_read_only_with_the_other() {
    let cluster = Cluster::start();
    cluster.require_passwords();
    readme_setup(&cluster);
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    for line in [
        "GRANT SELECT ON TABLES TO hark_reader;",
        "CREATE DATABASE hark_sfx OWNER hark_indexer;",
    ] {
        assert!(
            readme.contains(line),
            "README.md no longer shows {line:?}: keep this test in step"
        );
    }
    let writer = cluster.url_as("hark_indexer", "change-me", "hark_sfx");
    let reader = cluster.url_as("hark_reader", "change-me-too", "hark_sfx");
    let dir = empty_dir();
    let lib = library(dir.path(), 6, 2.0);
    run(hark_at(&dir.path().join("server"), &writer)
        .args(["index", "--quiet", "--name", "sfx"])
        .arg(&lib))
    .assert_success();
    let index = dir.path().join("workstation");
    let refused = run(hark_at(&index, &reader)
        .args(["index", "--name", "sfx"])
        .arg(&lib));
    refused.assert_code(2);
    refused.assert_stderr_contains("`hark_reader` cannot write");
    refused.assert_stderr_contains("the mount was recorded");
    let (paths, out) = search_paths(&index, &reader);
    assert_eq!(paths.len(), 6, "{}", out.describe());
    assert!(out.stderr.is_empty(), "{}", out.describe());
    for out in [&refused, &out] {
        for secret in ["change-me", "change-me-too"] {
            assert!(!out.stderr.contains(secret) && !out.stdout.contains(secret));
        }
    }
}

/// A replica update cut short (here: the role may read files but not
/// vectors, so the read fails after the files were applied) leaves the
/// replica as it was.
#[test]
fn a_failed_replica_update_leaves_the_replica_as_it_was() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    cluster.require_passwords();
    let dir = empty_dir();
    let lib = library(dir.path(), 4, 2.0);
    let index = dir.path().join("ws");
    cluster.psql("sfx", "CREATE ROLE ws LOGIN PASSWORD 'ws-pw'");
    run(hark_at(&dir.path().join("server"), &url)
        .args(["index", "--quiet", "--name", "sfx"])
        .arg(&lib))
    .assert_success();
    cluster.psql("sfx", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO ws");
    let ws = cluster.url_as("ws", "ws-pw", "sfx");
    run(hark_at(&index, &ws)
        .args(["index", "--name", "sfx"])
        .arg(&lib))
    .assert_code(2);
    let (before, _) = search_paths(&index, &ws);
    assert_eq!(before.len(), 4);
    // Two more files; the reader loses the vectors table.
    for i in 0..2 {
        fs::write(
            lib.join(format!("new {i}.wav")),
            tone(2.0, 900.0 + 50.0 * i as f32, 99 + i),
        )
        .unwrap();
    }
    run(hark_at(&dir.path().join("server"), &url).args(["index", "--quiet"])).assert_success();
    cluster.psql("sfx", "REVOKE SELECT ON hark_vectors FROM ws");
    let failed = run(hark_at(&index, &ws).args(["search", "sound", "--paths", "-k", "500"]));
    failed.assert_code(2);
    failed.assert_stderr_contains("read changed vectors");
    let catalog = rusqlite::Connection::open(index.join("catalog.sqlite3")).unwrap();
    let files: i64 = catalog
        .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        files, 4,
        "the new files read before the failure were rolled back"
    );
    // Readable again: the next update brings both.
    cluster.psql("sfx", "GRANT SELECT ON hark_vectors TO ws");
    let (after, _) = search_paths(&index, &ws);
    assert_eq!(after.len(), 6);
}

#[test]
fn with_the_server_stopped_search_answers_from_the_replica_and_says_so() {
    let mut cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let lib = library(dir.path(), 6, 2.0);
    let index = dir.path().join("a");
    run(hark_at(&index, &url)
        .args(["index", "--quiet", "--name", "sfx"])
        .arg(&lib))
    .assert_success();
    let (before, _) = search_paths(&index, &url);
    assert_eq!(before.len(), 6);
    cluster.stop();
    let (after, out) = search_paths(&index, &url);
    assert_eq!(after, before, "the replica answers as before");
    out.assert_stderr_contains("answering from the local replica, last brought up to date");
    assert_eq!(
        out.stderr.matches("warning").count(),
        1,
        "said once: {}",
        out.describe()
    );
    // A host with no replica yet cannot answer: an error, not an empty list.
    let none = run(hark_at(&dir.path().join("new"), &url).args(["search", "sound"]));
    none.assert_code(2);
    none.assert_stderr_contains("no local replica");
}

#[test]
fn the_server_restarted_mid_index_the_run_reconnects_and_finishes() {
    let mut cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let n = 80;
    let lib = library(dir.path(), n, 4.0);
    let mut run_a = start(
        hark_at(&dir.path().join("a"), &url)
            .args(["index", "--json", "--batch", "1", "--name", "sfx"])
            .arg(&lib),
    );
    wait_for_vectors(&cluster, 3, &mut run_a.0);
    cluster.restart();
    let out = finish(run_a);
    out.assert_code(0);
    out.assert_stderr_contains("reconnecting");
    assert_eq!(vectors(&cluster), n as u64, "{}", out.describe());
    assert_eq!(count(&cluster, "SELECT count(*) FROM hark_work"), 0);
}

#[test]
fn no_password_appears_in_any_output_or_file() {
    const SECRET: &str = "Pa55-w0rd-in-url";
    let cluster = Cluster::start();
    cluster.create_database("sfx");
    cluster.require_passwords();
    cluster.psql(
        "sfx",
        &format!(
            "CREATE ROLE writer LOGIN PASSWORD '{SECRET}';
             GRANT ALL ON SCHEMA public TO writer;
             ALTER DATABASE sfx OWNER TO writer;"
        ),
    );
    let url = cluster.url_as("writer", SECRET, "sfx");
    let dir = empty_dir();
    let lib = library(dir.path(), 4, 2.0);
    let index = dir.path().join("a");
    let mut outputs = vec![
        run(hark_at(&index, &url)
            .args(["index", "--json", "--name", "sfx"])
            .arg(&lib)),
        run(hark_at(&index, &url).args(["search", "sound", "--json"])),
        run(hark_at(&index, &url).args(["status"])),
        run(hark_at(&index, &url).args(["status", "--json"])),
    ];
    for out in &outputs {
        out.assert_code(0);
    }
    // Failures name the catalog too: a wrong database, a wrong password.
    let wrong_db = url.replace("/sfx", "/nope");
    outputs.push(run(hark_at(&index, &wrong_db).args(["index"])));
    let wrong_pw = cluster.url_as("writer", "not-the-Pa55-w0rd", "sfx");
    outputs.push(run(hark_at(&index, &wrong_pw).args(["index"])));
    outputs.push(run(hark_at(&index, &url)
        .env("HARK_CATALOG", &url)
        .args(["index", "--help"])));
    for out in &outputs[4..6] {
        out.assert_code(2);
        out.assert_stderr_contains("127.0.0.1");
    }
    for out in &outputs {
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains(SECRET), "password shown: {}", out.describe());
            assert!(
                !text.contains("not-the-Pa55"),
                "password shown: {}",
                out.describe()
            );
        }
    }
    // Nor in any file of the index directory.
    let mut files = vec![index.clone()];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            seen += 1;
            let bytes = fs::read(&path).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "password in {}",
                path.display()
            );
        }
    }
    assert!(
        seen >= 3,
        "the index directory holds the replica and its files"
    );
}

#[test]
fn a_damaged_replica_is_made_again_from_the_shared_catalog() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let dir = empty_dir();
    let lib = library(dir.path(), 12, 2.0);
    let index = dir.path().join("a");
    run(hark_at(&index, &url)
        .args(["index", "--quiet", "--name", "sfx"])
        .arg(&lib))
    .assert_success();
    // Fold the WAL into the file, then overwrite pages in its middle.
    let db = index.join("catalog.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let mut bytes = fs::read(&db).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages >= 6, "a catalog of {pages} pages");
    for b in &mut bytes[2 * 4096..(pages - 2) * 4096] {
        *b = 0x5a;
    }
    fs::write(&db, &bytes).unwrap();
    let again = run(hark_at(&index, &url).args(["index", "--json", "--quiet"]));
    again.assert_code(0);
    assert_eq!(
        json(&again)["embedded"].as_u64(),
        Some(0),
        "nothing embedded again"
    );
    let (paths, out) = search_paths(&index, &url);
    assert_eq!(paths.len(), 12, "{}", out.describe());
}
