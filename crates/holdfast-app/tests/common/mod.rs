//! Fresh test databases for the application layer: a SQLite file in a temp dir, or a PostgreSQL
//! database on the server of `HOLDFAST_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped after. An unreachable PostgreSQL fails
//! the test, never skips it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(pg: bool) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        if !pg {
            return TestDb { url: format!("sqlite://{}", dir.path().join("h.db").display()), pg: None, _dir: dir };
        }
        let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("holdfast_app_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let url = holdfast_store::admin::create_database(&admin, &name)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is unreachable or refused a new database ({e}); start it or set HOLDFAST_TEST_PG"));
        TestDb { url, pg: Some((admin, name)), _dir: dir }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = holdfast_store::runtime() {
                    let _ = rt.block_on(holdfast_store::admin::drop_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

/// `both!(name)` runs `async fn name(pg: bool)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(false).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(true).await
            }
        }
    };
}
