//! Test doubles that speak the real protocols (feature `testing`): an SMTP sink that records
//! every message and can be told to fail, and a webhook receiver that checks signatures and
//! answers from a plan of statuses. Both listen on `127.0.0.1` on a free port and stop when
//! dropped.
//!
//! - [`SmtpSink::start`] (inside a tokio runtime) or [`SmtpSink::start_background`] (its own
//!   thread, for tests that drive the `holdfast` binary): [`SmtpSink::url`] is the
//!   `HOLDFAST_SMTP_URL`; [`SmtpSink::received`] the messages accepted so far, in order;
//!   [`SmtpSink::fail_next`] injects SMTP errors; [`SmtpSink::drop_connection_after_data`]
//!   simulates a server that took the message but was cut off before it could say so (the sender
//!   sees a broken connection and will retry: the message arrives twice, with one Message-ID).
//! - [`SmtpSink::start_tls`] / [`SmtpSink::start_tls_background`] with a [`SinkTls`]: the same
//!   sink behind TLS, from the first byte (`smtps://`) or after `STARTTLS` (`smtp://…?tls=required`),
//!   offering `AUTH PLAIN` once the connection is secret ([`SmtpSink::authenticated`] lists who
//!   logged in).
//! - [`WebhookReceiver::start`]: [`WebhookReceiver::url`] to post to; each request is answered
//!   with the next status of the plan (then 200) and recorded with whether its Standard Webhooks
//!   signature is right ([`ReceivedWebhook::signature_ok`]).

use crate::webhook::verify;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message the sink accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The `Message-ID` header, angle brackets included (empty when absent).
    pub message_id: String,
    /// The `Subject` header, RFC 2047 encoded words decoded.
    pub subject: String,
    /// Every header in order, folded lines joined (values as sent, not decoded).
    pub headers: Vec<(String, String)>,
    /// The message as received, dot-stuffing removed.
    pub raw: String,
    pub at: SystemTime,
}

impl ReceivedMail {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct SinkState {
    received: Vec<ReceivedMail>,
    /// Replies to inject, in order: 550/551/553 answer a `RCPT`, any other code the end of `DATA`.
    failures: VecDeque<u16>,
    drop_after_data: u32,
    connections: u64,
    /// Users who authenticated (`AUTH PLAIN`), in order.
    authenticated: Vec<String>,
}

/// TLS for a sink: its certificate chain and key (PEM), and whether TLS starts with the first
/// byte (`smtps`) or after `STARTTLS`.
#[derive(Clone)]
pub struct SinkTls {
    acceptor: tokio_rustls::TlsAcceptor,
    /// `smtps`: TLS from the first byte; else `STARTTLS` is offered.
    pub wrapper: bool,
}

impl SinkTls {
    /// A TLS set-up from a certificate chain and its private key, both PEM.
    pub fn new(cert_pem: &[u8], key_pem: &[u8], wrapper: bool) -> Result<SinkTls, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| e.to_string())?;
        #[allow(deprecated)]
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())?;
        Ok(SinkTls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), wrapper })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An SMTP server for tests (see the module docs). Stops accepting when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<SinkState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// `smtp` or `smtps`.
    scheme: &'static str,
}

fn scheme_of(tls: &Option<SinkTls>) -> &'static str {
    match tls {
        Some(t) if t.wrapper => "smtps",
        _ => "smtp",
    }
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> std::io::Result<SmtpSink> {
        SmtpSink::start_with(None).await
    }

    /// Starts a sink speaking TLS ([`SinkTls`]) in the current tokio runtime.
    pub async fn start_tls(tls: SinkTls) -> std::io::Result<SmtpSink> {
        SmtpSink::start_with(Some(tls)).await
    }

    async fn start_with(tls: Option<SinkTls>) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(SinkState::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let scheme = scheme_of(&tls);
        tokio::spawn(accept_smtp(listener, state.clone(), stopped, tls));
        Ok(SmtpSink { addr, state, stop: Some(stop), scheme })
    }

    /// Starts a sink on its own thread with its own runtime, for tests that are not async.
    pub fn start_background() -> std::io::Result<SmtpSink> {
        SmtpSink::start_background_with(None)
    }

    /// [`SmtpSink::start_background`] speaking TLS ([`SinkTls`]).
    pub fn start_tls_background(tls: SinkTls) -> std::io::Result<SmtpSink> {
        SmtpSink::start_background_with(Some(tls))
    }

    fn start_background_with(tls: Option<SinkTls>) -> std::io::Result<SmtpSink> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(Mutex::new(SinkState::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let st = state.clone();
        let scheme = scheme_of(&tls);
        std::thread::spawn(move || {
            rt.block_on(async move {
                if let Ok(listener) = TcpListener::from_std(std_listener) {
                    accept_smtp(listener, st, stopped, tls).await;
                }
            })
        });
        Ok(SmtpSink { addr, state, stop: Some(stop), scheme })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT` (`smtps://` for a sink with TLS from the first byte).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Users who authenticated so far (`AUTH PLAIN`, offered only over TLS), in order.
    pub fn authenticated(&self) -> Vec<String> {
        lock(&self.state).authenticated.clone()
    }

    /// Every message accepted so far, in the order their `DATA` ended.
    pub fn received(&self) -> Vec<ReceivedMail> {
        lock(&self.state).received.clone()
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        lock(&self.state).received.len()
    }

    /// How many connections were opened to the sink so far (a pooled sender opens few).
    pub fn connections(&self) -> u64 {
        lock(&self.state).connections
    }

    /// Answers the next `n` messages with `code`: 550, 551 or 553 refuse the recipient at `RCPT`
    /// (a hard bounce, `5.1.1 no such user`); any other code (451, 452, 554, …) refuses the
    /// message at the end of `DATA`. A refused message is not recorded.
    pub fn fail_next(&self, n: u32, code: u16) {
        lock(&self.state).failures.extend(std::iter::repeat_n(code, n as usize));
    }

    /// The next `n` messages are recorded, then the connection is closed before the reply.
    pub fn drop_connection_after_data(&self, n: u32) {
        lock(&self.state).drop_after_data += n;
    }

    /// Waits until at least `n` messages arrived or `timeout` passed; whether they did.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let until = tokio::time::Instant::now() + timeout;
        while self.count() < n {
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn accept_smtp(listener: TcpListener, state: Arc<Mutex<SinkState>>, mut stopped: tokio::sync::oneshot::Receiver<()>, tls: Option<SinkTls>) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            r = listener.accept() => {
                if let Ok((stream, _)) = r {
                    lock(&state).connections += 1;
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, state.clone(), tls.clone()));
                }
            }
        }
    }
}

/// One connection: plain, TLS from the first byte, or plain until `STARTTLS`.
async fn connection(stream: TcpStream, state: Arc<Mutex<SinkState>>, tls: Option<SinkTls>) -> std::io::Result<()> {
    match tls {
        None => smtp_session(BufReader::new(stream), state, false, false, true).await.map(|_| ()),
        Some(t) if t.wrapper => {
            let s = t.acceptor.accept(stream).await?;
            smtp_session(BufReader::new(s), state, false, true, true).await.map(|_| ())
        }
        Some(t) => match smtp_session(BufReader::new(stream), state.clone(), true, false, true).await? {
            Some(plain) => {
                let s = t.acceptor.accept(plain).await?;
                smtp_session(BufReader::new(s), state, false, true, false).await.map(|_| ())
            }
            None => Ok(()),
        },
    }
}

/// The address inside `FROM:<a@b> …` / `TO:<a@b>`.
fn path_of(arg: &str) -> String {
    let s = arg.split_once(':').map_or(arg, |(_, v)| v).trim();
    let s = s.split_whitespace().next().unwrap_or("");
    s.trim_start_matches('<').trim_end_matches('>').to_owned()
}

/// Acknowledges the next segments at once instead of after the 40 ms delayed-ACK timer: lettre
/// writes the end of a message (`\r\n.\r\n`) right after its body, and the client's Nagle
/// algorithm holds that second small write until the body is acknowledged — without this every
/// message would wait ~40 ms and the sink, not the sender, would set the pace.
trait QuickAck {
    fn tcp(&self) -> &TcpStream;
}

impl QuickAck for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl QuickAck for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

fn quickack<S: AsyncRead + QuickAck>(r: &BufReader<S>) {
    #[cfg(target_os = "linux")]
    if r.buffer().is_empty() {
        let _ = socket2::SockRef::from(r.get_ref().tcp()).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = r;
}

/// An SMTP session over `stream` until `QUIT` or the end of the connection; with `offer_tls`,
/// `STARTTLS` is offered and the plain stream returned when the client asks for it. `secret`:
/// the connection is TLS (`AUTH PLAIN` is offered).
async fn smtp_session<S: AsyncRead + AsyncWrite + Unpin + QuickAck>(
    mut r: BufReader<S>,
    state: Arc<Mutex<SinkState>>,
    offer_tls: bool,
    secret: bool,
    greet: bool,
) -> std::io::Result<Option<S>> {
    if greet {
        r.write_all(b"220 holdfast-sink ESMTP\r\n").await?;
    }
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = Vec::new();
    loop {
        line.clear();
        quickack(&r);
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_owned();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                let mut v = String::from("250-holdfast-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n");
                if offer_tls {
                    v.push_str("250-STARTTLS\r\n");
                }
                if secret {
                    v.push_str("250-AUTH PLAIN\r\n");
                }
                v.push_str("250 SIZE 52428800\r\n");
                v
            }
            "STARTTLS" if offer_tls => {
                r.write_all(b"220 2.0.0 ready to start TLS\r\n").await?;
                r.flush().await?;
                return Ok(Some(r.into_inner()));
            }
            "AUTH" if secret => {
                // AUTH PLAIN base64(authzid \0 user \0 password)
                let arg = cmd.split_whitespace().nth(2).unwrap_or("");
                let decoded = BASE64.decode(arg).unwrap_or_default();
                let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
                match (cmd.split_whitespace().nth(1).map(str::to_ascii_uppercase).as_deref(), parts.as_slice()) {
                    (Some("PLAIN"), [_, user, password]) if !user.is_empty() && !password.is_empty() => {
                        lock(&state).authenticated.push(String::from_utf8_lossy(user).into_owned());
                        "235 2.7.0 authentication succeeded\r\n".into()
                    }
                    _ => "535 5.7.8 authentication credentials invalid\r\n".into(),
                }
            }
            "HELO" => "250 holdfast-sink\r\n".into(),
            "MAIL" => {
                from = path_of(&cmd[4..]);
                to.clear();
                "250 2.1.0 ok\r\n".into()
            }
            "RCPT" => {
                let rcpt = path_of(&cmd[4..]);
                let refused = {
                    let mut st = lock(&state);
                    match st.failures.front() {
                        Some(&c @ (550 | 551 | 553)) => {
                            st.failures.pop_front();
                            Some(c)
                        }
                        _ => None,
                    }
                };
                match refused {
                    Some(c) => format!("{c} 5.1.1 <{rcpt}>: no such user here\r\n"),
                    None => {
                        to.push(rcpt);
                        "250 2.1.5 ok\r\n".into()
                    }
                }
            }
            "DATA" if to.is_empty() => "503 5.5.1 no valid recipients\r\n".into(),
            "DATA" => {
                r.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    quickack(&r);
                    if r.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(None);
                    }
                    let l = String::from_utf8_lossy(&line);
                    if l.trim_end_matches(['\r', '\n']) == "." {
                        break;
                    }
                    raw.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                let (reply, cut) = {
                    let mut st = lock(&state);
                    match st.failures.front() {
                        Some(&c) if !matches!(c, 550 | 551 | 553) => {
                            st.failures.pop_front();
                            let class = c / 100;
                            (format!("{c} {class}.3.0 injected failure, try {}\r\n", if class == 4 { "again later" } else { "no more" }), false)
                        }
                        _ => {
                            let mail = parse_mail(std::mem::take(&mut from), std::mem::take(&mut to), raw);
                            st.received.push(mail);
                            let cut = st.drop_after_data > 0;
                            st.drop_after_data = st.drop_after_data.saturating_sub(1);
                            (format!("250 2.0.0 queued as {}\r\n", st.received.len()), cut)
                        }
                    }
                };
                if cut {
                    return r.shutdown().await.map(|_| None);
                }
                reply
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 2.0.0 ok\r\n".into()
            }
            "NOOP" => "250 2.0.0 ok\r\n".into(),
            "QUIT" => {
                r.write_all(b"221 2.0.0 bye\r\n").await?;
                return r.shutdown().await.map(|_| None);
            }
            _ => "502 5.5.2 command not recognized\r\n".into(),
        };
        r.write_all(reply.as_bytes()).await?;
    }
}

fn parse_mail(from: String, to: Vec<String>, raw: String) -> ReceivedMail {
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in raw.split('\n').map(|l| l.trim_end_matches('\r')) {
        if l.is_empty() {
            break;
        }
        if l.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(l.trim());
            }
        } else if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone()).unwrap_or_default();
    let message_id = get("Message-ID");
    let subject = decode_words(&get("Subject"));
    ReceivedMail { from, to, message_id, subject, headers, raw, at: SystemTime::now() }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value; white
/// space between two encoded words is dropped, as the RFC says.
pub fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, tail) = rest.split_at(start);
        let decoded = tail[2..].splitn(3, '?').collect::<Vec<_>>();
        let word = if decoded.len() == 3 {
            decoded[2].find("?=").map(|end| (decoded[0], decoded[1], &decoded[2][..end], 2 + decoded[0].len() + 1 + decoded[1].len() + 1 + end + 2))
        } else {
            None
        };
        let Some((_charset, enc, text, len)) = word else {
            out.push_str(before);
            out.push_str("=?");
            rest = &tail[2..];
            after_word = false;
            continue;
        };
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let bytes = match enc {
            "b" | "B" => BASE64.decode(text).unwrap_or_else(|_| text.as_bytes().to_vec()),
            _ => {
                let mut b = Vec::new();
                let t = text.as_bytes();
                let mut i = 0;
                while i < t.len() {
                    match t[i] {
                        b'_' => b.push(b' '),
                        b'=' if i + 2 < t.len() => {
                            let hex = std::str::from_utf8(&t[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                            match hex {
                                Some(x) => {
                                    b.push(x);
                                    i += 2;
                                }
                                None => b.push(b'='),
                            }
                        }
                        c => b.push(c),
                    }
                    i += 1;
                }
                b
            }
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = &tail[len..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// One webhook request the receiver got.
#[derive(Clone, Debug)]
pub struct ReceivedWebhook {
    /// `webhook-id` (empty when absent).
    pub id: String,
    /// `webhook-timestamp` (0 when absent or not a number).
    pub timestamp: i64,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the Standard Webhooks signature is right for the receiver's secret (the timestamp
    /// is checked against itself: tests run on clocks of their own).
    pub signature_ok: bool,
    /// What the receiver answered.
    pub status: u16,
    pub at: SystemTime,
}

struct ReceiverState {
    secret: String,
    plan: VecDeque<u16>,
    received: Vec<ReceivedWebhook>,
}

/// An HTTP server that records webhooks (see the module docs). Stops accepting when dropped.
pub struct WebhookReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WebhookReceiver {
    /// Starts a receiver on `127.0.0.1:0` checking signatures with `secret` (`whsec_…`); the
    /// n-th request is answered with `status_plan[n]`, and with 200 once the plan is used up.
    pub async fn start(secret: &str, status_plan: Vec<u16>) -> std::io::Result<WebhookReceiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(ReceiverState { secret: secret.to_owned(), plan: status_plan.into(), received: Vec::new() }));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    r = listener.accept() => {
                        if let Ok((stream, _)) = r {
                            let st = st.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req| handle_webhook(req, st.clone()));
                                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                            });
                        }
                    }
                }
            }
        });
        Ok(WebhookReceiver { addr, state, stop: Some(stop) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        lock(&self.state).received.clone()
    }

    /// Appends statuses to the plan.
    pub fn plan(&self, statuses: &[u16]) {
        lock(&self.state).plan.extend(statuses.iter().copied());
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn handle_webhook(req: hyper::Request<hyper::body::Incoming>, state: Arc<Mutex<ReceiverState>>) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String)> =
        req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = req.into_body().collect().await?.to_bytes().to_vec();
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone()).unwrap_or_default();
    let id = get("webhook-id");
    let timestamp = get("webhook-timestamp").parse().unwrap_or(0);
    let mut st = lock(&state);
    let signature_ok = verify(&st.secret, &headers, &body, timestamp, 0);
    let status = st.plan.pop_front().unwrap_or(200);
    st.received.push(ReceivedWebhook { id, timestamp, path, headers, body, signature_ok, status, at: SystemTime::now() });
    drop(st);
    let mut resp = hyper::Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::decode_words;

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_words("=?utf-8?b?0J/RgNC40LLQtdGC?= =?utf-8?b?LCDQkNC90L3QsA==?="), "Привет, Анна");
        assert_eq!(decode_words("Hi =?utf-8?q?Anna=2C_you?= there"), "Hi Anna, you there");
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }
}
