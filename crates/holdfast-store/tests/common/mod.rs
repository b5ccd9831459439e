//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database created on the server named
//! by `HOLDFAST_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped after.
//! An unreachable PostgreSQL server fails the test with a message: never skipped silently.
#![allow(dead_code)]

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn admin_url() -> String {
    std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("holdfast.db").display());
        TestDb { url, pg: None, _dir: Some(dir) }
    }

    pub async fn postgres() -> TestDb {
        let admin = admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => panic!(
                "PostgreSQL is unreachable at {admin} ({e}). The store tests need it: start PostgreSQL or point HOLDFAST_TEST_PG at a server where they may create databases."
            ),
        };
        let name = format!("holdfast_test_{}_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst), chrono::Utc::now().timestamp_subsec_nanos());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create the test database");
        conn.close().await.ok();
        let base = match admin.rfind('/') {
            Some(k) if admin[..k].contains("://") && k > admin.find("://").unwrap_or(0) + 2 => &admin[..k],
            _ => admin.as_str(),
        };
        let (base, query) = match admin.split_once('?') {
            Some((_, q)) => (base.split('?').next().unwrap_or(base), format!("?{q}")),
            None => (base, String::new()),
        };
        TestDb { url: format!("{base}/{name}{query}"), pg: Some((admin.clone(), name)), _dir: None }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any async context we can borrow: use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs an async test body `async fn NAME(url: String)` against SQLite and PostgreSQL:
/// `both!(name);` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::TestDb::sqlite();
                super::$name(db.url.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::common::TestDb::postgres().await;
                super::$name(db.url.clone()).await;
            }
        }
    };
}
