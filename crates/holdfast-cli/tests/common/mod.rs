//! What the store and parity tests share: running the binary against a database, and fresh
//! SQLite and PostgreSQL databases (`HOLDFAST_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a test fails, never skips, when PostgreSQL is
//! unreachable).
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn holdfast(db: &str, args: &[&str]) -> Output {
    // English tables whatever the machine's locale (`--lang` in `args` still wins).
    Command::new(env!("CARGO_BIN_EXE_holdfast")).env("HOLDFAST_LANG", "en").arg("--db").arg(db).arg("--quiet").args(args).output().expect("run holdfast")
}

pub fn ok(db: &str, args: &[&str]) -> String {
    let o = holdfast(db, args);
    assert!(o.status.success(), "holdfast {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

pub fn json(db: &str, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(db, args)).expect("JSON")
}

/// A fresh database: a SQLite file in a temp dir, or a PostgreSQL database dropped on drop.
pub struct Db {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Db {
    pub fn new(pg: bool) -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        if !pg {
            return Db { url: format!("sqlite://{}", dir.path().join("h.db").display()), pg: None, _dir: dir };
        }
        let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("holdfast_cli_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let rt = holdfast_store::runtime().expect("runtime");
        let url = rt
            .block_on(holdfast_store::admin::create_database(&admin, &name))
            .unwrap_or_else(|e| panic!("PostgreSQL is unreachable or refused a new database ({e}); start it or set HOLDFAST_TEST_PG"));
        Db { url, pg: Some((admin, name)), _dir: dir }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            if let Ok(rt) = holdfast_store::runtime() {
                let _ = rt.block_on(holdfast_store::admin::drop_database(&admin, &name));
            }
        }
    }
}

#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(false)
            }
            #[test]
            fn postgres() {
                super::$name(true)
            }
        }
    };
}
