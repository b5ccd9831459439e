//! The hostile-input table (`tests/data/hostile/README.md`): every file through `analyze` (no
//! database) and `import orders` into SQLite and PostgreSQL — the exit code of the table and only
//! ever 0 or 1, a message naming the file (and the line, column and value where there is one),
//! peak memory under 1 GiB, a refused import leaving the store as it was, and after every command
//! the SQLite file alone holding the data.

mod common;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Peak memory allowed to one command.
const MAX_RSS_KB: i64 = 1 << 20;
/// The largest peak memory of any command run, KB.
static PEAK_KB: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
/// A command that runs longer is killed (and the case fails).
const TIMEOUT: Duration = Duration::from_secs(60);

struct Case {
    file: String,
    analyze: i32,
    import: i32,
    message: String,
}

/// The rows of the README's table.
fn cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cols: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cols.len(), 5, "a row of five columns: {line}");
        let unquote = |s: &str| s.trim_matches('`').to_string();
        out.push(Case {
            file: unquote(cols[0]),
            analyze: cols[2].parse().expect("analyze exit"),
            import: cols[3].parse().expect("import exit"),
            message: unquote(cols[4]),
        });
    }
    out
}

/// Writes the cases made at run time into `tmp`, streaming (the test's own memory stays small:
/// Linux counts it in a child's peak, see [`run`]).
fn make(tmp: &Path, name: &str) -> Option<PathBuf> {
    use std::io::Write;
    let p = tmp.join(name);
    let header = "customer_id,date,amount,order_id,status\nC1,2024-01-05,10.00,1,completed\n";
    let chunk = |c: u8, n: usize| vec![c; n];
    let mut f = match name {
        "a_directory" => {
            std::fs::create_dir_all(&p).expect("dir");
            return Some(p);
        }
        "missing.csv" => return Some(p),
        "huge_field.csv" | "huge_quoted_field.csv" | "no_newline.csv" | "many_columns.csv" | "long.csv" => {
            std::io::BufWriter::new(std::fs::File::create(&p).expect("create"))
        }
        _ => return None,
    };
    let mut w = |b: &[u8]| f.write_all(b).expect("write");
    match name {
        "huge_field.csv" => {
            w(header.as_bytes());
            for _ in 0..10 {
                w(&chunk(b'x', 1 << 20));
            }
            w(b",2024-01-07,20.00,2,completed\n");
        }
        "huge_quoted_field.csv" => {
            w(header.as_bytes());
            w(b"\"");
            let mut line = chunk(b'y', 99);
            line.push(b'\n');
            for _ in 0..100_000 {
                w(&line);
            }
            w(b"\",2024-01-07,20.00,2,completed\n");
        }
        "no_newline.csv" => {
            w(b"customer_id,date,amount\n");
            for _ in 0..30 {
                w(&chunk(b'z', 1 << 20));
            }
        }
        "many_columns.csv" => {
            w(b"customer_id,date,amount");
            for i in 0..20_000 {
                w(format!(",c{i}").as_bytes());
            }
            let blanks = chunk(b',', 20_000);
            for row in ["\nC1,2024-01-05,10", "\nC2,2024-01-06,11", "\nC1,2024-02-05,12"] {
                w(row.as_bytes());
                w(&blanks);
            }
            w(b"\n");
        }
        _ => {
            w(b"order_id,customer_id,date,amount\n");
            for i in 0..100_000u32 {
                w(format!("{i},C{},2024-{:02}-{:02},{}.{:02}\n", i % 20_000, 1 + i % 12, 1 + i % 28, 5 + i % 300, i % 100).as_bytes());
            }
        }
    }
    drop(w);
    f.flush().expect("flush");
    Some(p)
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    max_rss_kb: i64,
}

/// Runs the binary and waits for it with `wait4`, which gives that one process's peak memory
/// (Linux counts in it the memory of this test process at the moment of the spawn, so the figure
/// bounds the command's own peak from above).
fn run(args: &[OsString]) -> Run {
    let t0 = Instant::now();
    let r = run_inner(args);
    PEAK_KB.fetch_max(r.max_rss_kb, Ordering::SeqCst);
    // HOLDFAST_HOSTILE_TIMING=1 prints each command's time and peak memory.
    if std::env::var_os("HOLDFAST_HOSTILE_TIMING").is_some() {
        eprintln!("{:>7.3} s {:>7} KB  {}", t0.elapsed().as_secs_f64(), r.max_rss_kb, args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    }
    r
}

fn run_inner(args: &[OsString]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run holdfast");
    let pid = child.id() as libc::pid_t;
    let (mut out, mut err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let done = Arc::new(AtomicBool::new(false));
    let watch = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > TIMEOUT {
                    // SAFETY: signals the child we spawned and have not reaped yet.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; std's `Child` is not waited on afterwards.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    let _ = watch.join();
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    Run {
        code,
        stdout: t_out.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
        max_rss_kb: usage.ru_maxrss,
    }
}

fn args(db: &str, rest: &[&str], file: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = ["--db", db, "--quiet"].iter().map(OsString::from).collect();
    v.extend(rest.iter().map(OsString::from));
    v.push(file.as_os_str().to_owned());
    v
}

/// The rows of a store: its orders and customers as `export` writes them.
fn export(db: &str) -> Vec<u8> {
    let mut all = Vec::new();
    for entity in ["orders", "customers"] {
        let r = run(&["--db", db, "--quiet", "export", entity].map(OsString::from));
        assert_eq!(r.code, 0, "export {entity}: {}", r.stderr);
        all.extend(r.stdout);
    }
    all
}

/// Checks one command's outcome against the table; returns a failure or None.
fn check(what: &str, c: &Case, want: i32, r: &Run) -> Option<String> {
    let name = Path::new(&c.file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut bad = Vec::new();
    if r.code != 0 && r.code != 1 {
        bad.push(format!("exit {} (only 0 or 1 are allowed)", r.code));
    } else if r.code != want {
        bad.push(format!("exit {} (the table says {want})", r.code));
    }
    if r.code == 1 && !r.stderr.contains(&name) {
        bad.push("the message does not name the file".into());
    }
    if !c.message.is_empty() && !r.stderr.contains(&c.message) {
        bad.push(format!("the message lacks {:?}", c.message));
    }
    if r.stderr.contains("panicked") || r.stderr.contains("internal error") {
        bad.push("a panic".into());
    }
    if r.max_rss_kb > MAX_RSS_KB {
        bad.push(format!("peak memory {} MB", r.max_rss_kb / 1024));
    }
    (!bad.is_empty()).then(|| format!("{}: {what}: {}\n  stderr: {}", c.file, bad.join("; "), r.stderr.trim().replace('\n', "\n          ")))
}

/// No write-ahead log left beside the SQLite file: the `.db` file alone holds the data.
fn wal_is_empty(db_file: &Path) -> bool {
    let wal = PathBuf::from(format!("{}-wal", db_file.display()));
    std::fs::metadata(wal).map(|m| m.len() == 0).unwrap_or(true)
}

#[test]
fn hostile_inputs_on_both_backends() {
    let started = Instant::now();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile");
    let cases = cases(&dir);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let tmp = tempfile::tempdir().expect("tmp");
    // Every file of the directory is in the table, and every row names a file.
    let listed: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    for e in std::fs::read_dir(&dir).expect("dir").flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(n == "README.md" || listed.contains(n.as_str()), "{n} is not in the table");
    }
    let paths: Vec<PathBuf> = cases
        .iter()
        .map(|c| {
            let committed = dir.join(&c.file);
            if committed.exists() {
                committed
            } else {
                make(tmp.path(), &c.file).unwrap_or_else(|| panic!("{} is neither a file nor made by the test", c.file))
            }
        })
        .collect();
    let sqlite_file = tmp.path().join("hostile.db");
    let sqlite = format!("sqlite://{}", sqlite_file.display());
    let pg = common::Db::new(true);
    let nodb = "sqlite:///nonexistent/never.db".to_string();

    // SQLite (and analyze) on one thread, PostgreSQL on another.
    let sqlite_side = {
        let (cases, paths) = (&cases, &paths);
        let (sqlite, sqlite_file, nodb) = (&sqlite, &sqlite_file, &nodb);
        move || {
            let mut fails = Vec::new();
            // A store that exists, holding the baseline.
            assert_eq!(run(&args(sqlite, &["import", "orders"], &paths[0])).code, 0);
            let mut before = export(sqlite);
            for (c, p) in cases.iter().zip(paths) {
                let a = run(&args(nodb, &["analyze", "--json"], p));
                fails.extend(check("analyze", c, c.analyze, &a));
                let bytes_before = std::fs::read(sqlite_file).ok();
                let i = run(&args(sqlite, &["import", "orders"], p));
                fails.extend(check("import (SQLite)", c, c.import, &i));
                if !wal_is_empty(sqlite_file) {
                    fails.push(format!("{}: import (SQLite): a write-ahead log is left beside the database file", c.file));
                }
                if i.code != 0 {
                    // Unchanged: the same bytes, or at least the same rows.
                    if std::fs::read(sqlite_file).ok() != bytes_before && export(sqlite) != before {
                        fails.push(format!("{}: import (SQLite) was refused but the store changed", c.file));
                    }
                } else {
                    before = export(sqlite);
                }
            }
            // The database file alone, copied as a person would back it up, holds every row.
            let copy = sqlite_file.with_file_name("copy.db");
            std::fs::copy(sqlite_file, &copy).expect("copy");
            if export(&format!("sqlite://{}", copy.display())) != before {
                fails.push("a copy of the SQLite file alone does not hold the store's rows".into());
            }
            fails
        }
    };
    let pg_side = {
        let (cases, paths, url) = (&cases, &paths, &pg.url);
        move || {
            let mut fails = Vec::new();
            assert_eq!(run(&args(url, &["import", "orders"], &paths[0])).code, 0);
            // The rows are read in this process, through one open store (a process per export
            // would spend most of the test connecting).
            let rt = holdfast_store::runtime().expect("runtime");
            let store = rt.block_on(holdfast_store::Store::open(url)).expect("open");
            let ws = rt.block_on(store.workspace("default")).expect("workspace");
            let rows = || {
                let mut v = Vec::new();
                for e in [holdfast_store::Entity::Orders, holdfast_store::Entity::Customers] {
                    rt.block_on(store.export_csv(ws.id, e, &mut v)).expect("export");
                }
                v
            };
            let mut before = rows();
            for (c, p) in cases.iter().zip(paths) {
                let i = run(&args(url, &["import", "orders"], p));
                fails.extend(check("import (PostgreSQL)", c, c.import, &i));
                let after = rows();
                if i.code != 0 && after != before {
                    fails.push(format!("{}: import (PostgreSQL) was refused but the store changed", c.file));
                }
                before = after;
            }
            rt.block_on(store.clone().close()).expect("close");
            fails
        }
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(sqlite_side);
        let b = s.spawn(pg_side);
        (a.join().expect("sqlite side"), b.join().expect("postgres side"))
    });
    drop(pg);
    let fails: Vec<String> = a.into_iter().chain(b).collect();
    eprintln!(
        "hostile inputs: {} files × analyze, import (SQLite), import (PostgreSQL) in {:.1} s; peak memory of any command {} MB",
        cases.len(),
        started.elapsed().as_secs_f64(),
        PEAK_KB.load(Ordering::SeqCst) / 1024
    );
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}
