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
