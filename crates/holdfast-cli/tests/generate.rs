//! `holdfast generate` and `holdfast demo` through the real binary.

use std::process::Command;

fn holdfast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
}

#[test]
fn generate_is_deterministic_by_seed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = |name: &str| dir.path().join(name);
    for (name, seed) in [("a.csv", "4"), ("b.csv", "4"), ("c.csv", "5")] {
        let out = holdfast()
            .args(["generate", "--customers", "1500", "--seed", seed, "--out"])
            .arg(file(name))
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("orders of 1500 customers"), "{text}");
    }
    let read = |name: &str| std::fs::read(file(name)).expect("the file");
    let a = read("a.csv");
    assert_eq!(a, read("b.csv"));
    assert_ne!(a, read("c.csv"));
    let text = String::from_utf8(a).expect("UTF-8");
    assert!(text.starts_with("order_id,customer_id,ordered_at,amount,status,product,category,quantity\n"));
    // About 10 orders per customer.
    let rows = text.lines().count() - 1;
    assert!((12_000..18_000).contains(&rows), "{rows} rows");
}

#[test]
fn a_bad_chain_is_a_user_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = holdfast()
        .args(["generate", "--customers", "10", "--chain", "soap:oil:0.5:30", "--out"])
        .arg(dir.path().join("x.csv"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown product \"soap\""), "{err}");
    let out = holdfast()
        .args(["generate", "--customers", "10", "--chain", "oil:filters:40%:30", "--out"])
        .arg(dir.path().join("x.csv"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHARE is not a number"));
}
