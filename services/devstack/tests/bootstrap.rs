//! `scripts/bootstrap --stack`, what `cargo run -p devstack` runs on a new
//! machine, installs everything the stack uses: the database server and the
//! card-payment provider, so "Add €10 by card" works out of the box.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_stacks_bootstrap_installs_the_database_and_the_card_provider() {
    let tools = tempfile::tempdir().unwrap();
    let status = Command::new(testkit::repo_root().join("scripts/bootstrap"))
        .arg("--stack")
        .env("SHUTTER_TOOLS_DIR", tools.path())
        .status()
        .unwrap();
    assert!(status.success(), "scripts/bootstrap --stack failed");
    // The database server starts and says where it listens.
    let jongodb = tools.path().join("jongodb/bin/jongodb");
    let (_uri, server) = testkit::mongo::start_jongodb_at(&jongodb).unwrap();
    server.stop();
    let localstripe = tools.path().join("localstripe/bin/localstripe");
    let help = Command::new(&localstripe).arg("--help").output().unwrap();
    assert!(help.status.success(), "{} does not run: {help:?}", localstripe.display());
}
