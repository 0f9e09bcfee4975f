//! The harness itself: a cluster starts, answers, restarts, and leaves
//! nothing behind when dropped.

use std::net::TcpStream;

use hark_pgtest::Cluster;

#[test]
fn a_cluster_answers_and_is_gone_after_drop() {
    let started = std::time::Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster up in {:.2?}", started.elapsed());
    assert_eq!(cluster.psql("postgres", "SELECT 40 + 2").trim(), "42");
    let url = cluster.create_database("things");
    assert!(url.ends_with("/things"), "{url}");
    assert_eq!(
        cluster.psql("things", "SELECT current_user").trim(),
        hark_pgtest::SUPERUSER
    );
    let port = cluster.port();
    let dir = cluster.socket_dir().to_owned();
    drop(cluster);
    assert!(
        !dir.exists(),
        "the cluster's directory is left at {}",
        dir.display()
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on port {port}"
    );
}

#[test]
fn a_cluster_restarts_on_its_port_with_its_data() {
    let mut cluster = Cluster::start();
    cluster.psql(
        "postgres",
        "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)",
    );
    let port = cluster.port();
    cluster.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    cluster.restart();
    assert_eq!(cluster.port(), port);
    assert_eq!(cluster.psql("postgres", "SELECT x FROM kept").trim(), "7");
}

#[test]
fn a_panicking_test_takes_its_cluster_down() {
    let seen = std::sync::Mutex::new(None);
    let panicked = std::panic::catch_unwind(|| {
        let cluster = Cluster::start();
        *seen.lock().unwrap() = Some((cluster.port(), cluster.socket_dir().to_owned()));
        panic!("a failing test");
    });
    assert!(panicked.is_err());
    let (port, dir) = seen.into_inner().unwrap().expect("the cluster started");
    assert!(
        !dir.exists(),
        "the cluster's directory is left at {}",
        dir.display()
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on port {port}"
    );
}

/// Set in the child of the kill test.
const CHILD: &str = "HARK_PGTEST_KILLED_CHILD";

#[test]
fn a_killed_test_process_takes_its_cluster_down() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    if std::env::var_os(CHILD).is_some() {
        let cluster = Cluster::start();
        println!(
            "cluster {} {}",
            cluster.port(),
            cluster.socket_dir().display()
        );
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_test_process_takes_its_cluster_down",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once("cluster ") {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
        child.kill().unwrap();
        panic!("the child never started its cluster");
    };
    let (port, dir) = line.split_once(' ').unwrap();
    let (port, dir): (u16, std::path::PathBuf) = (port.parse().unwrap(), dir.into());
    let was_up = TcpStream::connect(("127.0.0.1", port)).is_ok();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(was_up, "the child's cluster did not listen");
    let killed = Instant::now();
    while (dir.exists() || TcpStream::connect(("127.0.0.1", port)).is_ok())
        && killed.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!dir.exists(), "left behind: {}", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
    eprintln!("cluster gone {:.1?} after the kill", killed.elapsed());
}
