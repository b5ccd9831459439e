//! The README's "Everyday use" lines, run as written (through `sh`, with the built `holdfast` first
//! on the PATH, as `cargo install --path crates/holdfast-cli` puts it there) in a directory holding
//! the files they name: every line must succeed.

use std::path::Path;
use std::process::Command;

#[test]
fn everyday_use_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme.split("## Everyday use").nth(1).expect("an Everyday use section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let lines: Vec<&str> = section.lines().filter_map(|l| l.strip_prefix("    ")).filter(|l| l.starts_with("holdfast ")).collect();
    assert!(lines.len() >= 10, "{lines:?}");

    // The files the lines name: orders with a customer C042, its workbook, customers.
    let dir = tempfile::tempdir().expect("dir");
    let bin = Path::new(env!("CARGO_BIN_EXE_holdfast"));
    let out = Command::new(bin).args(["generate", "--customers", "400", "--seed", "3", "--out", "gen.csv"]).current_dir(dir.path()).output().expect("generate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let orders = std::fs::read_to_string(dir.path().join("gen.csv")).expect("orders").replace(",C000042,", ",C042,");
    assert!(orders.contains(",C042,"));
    std::fs::write(dir.path().join("orders.csv"), orders).expect("write");
    std::fs::copy(root.join("crates/holdfast-import/tests/data/sheets/orders.xlsx"), dir.path().join("orders.xlsx")).expect("xlsx");
    std::fs::write(dir.path().join("customers.csv"), "customer_id,name,email\nC042,Anna Petrova,anna@example.test\n").expect("customers");

    let path = format!("{}:{}", bin.parent().expect("bin dir").display(), std::env::var("PATH").unwrap_or_default());
    for line in lines {
        let cmd = line.split("  #").next().unwrap_or(line).trim();
        let out = Command::new("sh").args(["-c", cmd]).env("PATH", &path).env_remove("HOLDFAST_DB").current_dir(dir.path()).output().expect("sh");
        assert!(out.status.success(), "`{cmd}` failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(dir.path().join("report.html").exists() && dir.path().join("shop-copy.db").exists());
}
