//! What the browser tests need to drive headless Chromium and to talk to `holdfast serve`, over
//! plain HTTP on loopback and nothing else: a minimal HTTP/1.1 client (`http`), a base64 decoder
//! for screenshots, a W3C WebDriver client for `chromedriver` (`Driver`), and processes that are
//! stopped when dropped (`Proc`), so a failing test leaves no server, driver or browser behind.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on now (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local addr").port()
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` on its own connection (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    // Read what the answer says it holds: chromedriver keeps the connection open after it.
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(r) = complete_reply(&raw) {
            return Ok(r);
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return complete_reply(&raw)
                .or_else(|| parse_reply(&raw, true))
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not an HTTP answer: {:?}", String::from_utf8_lossy(&raw))));
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

/// The answer in `raw` once all of it has arrived.
fn complete_reply(raw: &[u8]) -> Option<Reply> {
    parse_reply(raw, false)
}

/// Parses an answer; `eof`: the connection is closed, so a body without a length ends here.
fn parse_reply(raw: &[u8], eof: bool) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()) {
        rest.get(..n)?.to_vec()
    } else if eof || status == 204 || status == 304 || (100..200).contains(&status) {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Reply { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).ok()?.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Standard base64 (with or without padding) to bytes.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `holdfast serve` on `db` on a free port, its output appended to `log`, once `/healthz` answers
/// 200 (at most `wait`); panics with the log when the server exits first.
pub fn serve(db: &str, log: &Path, wait: Duration) -> (Proc, u16) {
    let port = free_port();
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("server log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    cmd.args(["--db", db, "serve", "--addr", &format!("127.0.0.1:{port}")]).stdin(Stdio::null()).stdout(out.try_clone().expect("log")).stderr(out);
    let mut p = Proc::spawn("holdfast serve", cmd);
    wait_for("holdfast serve to answer /healthz", wait, || {
        if let Some(s) = p.exited() {
            panic!("holdfast serve exited at start ({s}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        http(port, "GET", "/healthz", &[], b"").ok().filter(|r| r.status == 200)
    });
    (p, port)
}

/// A child process stopped when dropped: SIGTERM to its process group (the browser chromedriver
/// started goes with it), a moment to finish, then SIGKILL.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
}

impl Proc {
    /// Starts `cmd` in a process group of its own.
    pub fn spawn(name: &'static str, mut cmd: Command) -> Proc {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
        Proc { name, child }
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then up to `grace` for it to exit; SIGKILL after that. Returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if let Some(s) = self.exited() {
            return Some(s);
        }
        let pid = self.child.id() as i32;
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Some(s) = self.exited() {
                // The group may still hold the browser's helpers.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        self.child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Makes this process the reaper of the processes it starts and of their orphans (the browser's
/// crash handler and helpers detach from chromedriver; where PID 1 does not reap, they would stay
/// as zombies). When dropped: kills whatever of them still runs, by pid, and reaps them all.
pub struct Reaper;

impl Reaper {
    pub fn new() -> Reaper {
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        Reaper
    }

    /// The pids whose parent is this process.
    fn children() -> Vec<i32> {
        let me = std::process::id().to_string();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid == Some(me.as_str()) {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let children = Reaper::children();
            if children.is_empty() || Instant::now() > until {
                break;
            }
            for pid in children {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Polls `f` until it gives `Some`, at most `timeout`; panics with `what` after that.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The key of an element reference in W3C WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session of headless Chromium, ended when dropped.
pub struct Driver {
    port: u16,
    session: String,
}

/// An element of the current page.
#[derive(Clone, Debug)]
pub struct El(String);

impl Driver {
    /// Opens a session on the chromedriver at `port`: headless Chromium from `/usr/bin/chromium`,
    /// a fresh profile in `profile`.
    pub fn new(port: u16, profile: &Path) -> Driver {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars",
                         "--window-size=1400,1000", "--lang=en-US", format!("--user-data-dir={}", profile.display())],
                "prefs": {"intl.accept_languages": "en-US,en"}
            }
        }}});
        let r = wd(port, "POST", "/session", Some(&caps)).unwrap_or_else(|e| panic!("chromedriver did not start a browser: {e}"));
        let session = r["sessionId"].as_str().unwrap_or_else(|| panic!("no session id in {r}")).to_owned();
        let d = Driver { port, session };
        d.call("POST", "/timeouts", json!({"pageLoad": 30_000, "script": 30_000, "implicit": 0}));
        d
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let body = if method == "GET" || method == "DELETE" { None } else { Some(&body) };
        wd(self.port, method, &full, body).unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", Value::Null).as_str().unwrap_or_default().to_owned()
    }

    /// The path (and query) of the current page.
    pub fn path(&self) -> String {
        let u = self.url();
        let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
        rest.find('/').map_or("/".to_owned(), |i| rest[i..].to_owned())
    }

    pub fn find_all(&self, css: &str) -> Vec<El> {
        let v = self.call("POST", "/elements", json!({"using": "css selector", "value": css}));
        v.as_array().map(|a| a.iter().filter_map(|e| e[ELEMENT].as_str().map(|s| El(s.to_owned()))).collect()).unwrap_or_default()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> El {
        wait_for(&format!("{css:?} on {}", self.url()), Duration::from_secs(10), || self.find_all(css).into_iter().next())
    }

    pub fn click(&self, e: &El) {
        self.call("POST", &format!("/element/{}/click", e.0), json!({}));
    }

    pub fn type_into(&self, e: &El, text: &str) {
        self.call("POST", &format!("/element/{}/value", e.0), json!({ "text": text }));
    }

    pub fn clear(&self, e: &El) {
        self.call("POST", &format!("/element/{}/clear", e.0), json!({}));
    }

    pub fn text(&self, e: &El) -> String {
        self.call("GET", &format!("/element/{}/text", e.0), Value::Null).as_str().unwrap_or_default().to_owned()
    }

    pub fn attr(&self, e: &El, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{}/property/{name}", e.0), Value::Null).as_str().map(str::to_owned)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": script, "args": args }))
    }

    /// The value of a cookie of the current site (HttpOnly ones included).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let v = self.call("GET", "/cookie", Value::Null);
        v.as_array()?.iter().find(|c| c["name"] == name).and_then(|c| c["value"].as_str()).map(str::to_owned)
    }

    pub fn delete_cookies(&self) {
        self.call("DELETE", "/cookie", Value::Null);
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call("POST", "/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
    }

    /// A PNG of the whole page as a `width` px wide screen shows it (a phone's when `mobile`),
    /// at most `max_height` px tall.
    pub fn screenshot(&self, width: u32, mobile: bool, max_height: u32) -> Vec<u8> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": if mobile { 844 } else { 900 }, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        let h = self.js("return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)", json!([]));
        let h = (h.as_u64().unwrap_or(900) as u32).clamp(200, max_height);
        let shot = self.cdp(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true, "clip": {"x": 0, "y": 0, "width": width, "height": h, "scale": 1}}),
        );
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        base64_decode(shot["data"].as_str().expect("a screenshot"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = wd(self.port, "DELETE", &format!("/session/{}", self.session), None);
    }
}

/// One WebDriver command: its `value`, or the driver's error as text.
fn wd(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let headers: &[(&str, &str)] = if body.is_some() { &[("Content-Type", "application/json; charset=utf-8")] } else { &[] };
    let r = http(port, method, path, headers, &bytes).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&r.body).map_err(|e| format!("{e}: {}", r.text()))?;
    if r.status != 200 {
        let e = &v["value"];
        return Err(format!("{} {}: {}", r.status, e["error"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or(&r.text())));
    }
    Ok(v["value"].clone())
}

/// Starts `/usr/bin/chromedriver` on a free port and waits until it answers.
pub fn chromedriver(log: &Path) -> (Proc, u16) {
    let exe = Path::new("/usr/bin/chromedriver");
    assert!(
        exe.exists() && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Debian's chromium and chromium-driver: run scripts/test (it installs them), or \
         apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core"
    );
    let port = free_port();
    let mut cmd = Command::new(exe);
    cmd.arg(format!("--port={port}")).arg(format!("--log-path={}", log.display())).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut p = Proc::spawn("chromedriver", cmd);
    wait_for("chromedriver to answer /status", Duration::from_secs(15), || {
        if let Some(s) = p.exited() {
            panic!("chromedriver exited at start: {s}");
        }
        http(port, "GET", "/status", &[], b"").ok().filter(|r| r.status == 200)
    });
    (p, port)
}
