//! Without PostgreSQL a test that needs it fails, naming what to install.
//! (Its own test binary: it sets an environment variable.)

use hark_pgtest::Cluster;

#[test]
fn a_missing_postgresql_fails_with_the_package_name() {
    let empty = tempfile::tempdir().unwrap();
    std::env::set_var("HARK_PG_BIN", empty.path());
    let panic = std::panic::catch_unwind(Cluster::start).expect_err("no server to start");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("has no `initdb`") && message.contains("apt-get install postgresql"),
        "{message}"
    );
    std::env::remove_var("HARK_PG_BIN");
}
