//! E-mail over SMTP: lettre's SMTP client on tokio, over connections this module opens (with
//! `TCP_NODELAY`) and keeps in a pool, TLS by rustls.
//!
//! The URL says how to reach the server (`HOLDFAST_SMTP_URL`):
//! - `smtp://host:port` — no TLS, for a sink on this machine;
//! - `smtps://user:password@host:465` — TLS from the first byte;
//! - `smtp://user:password@host:587?tls=required` — STARTTLS, refusing to go on without it.
//!
//! The server's certificate is checked against the public certificate authorities (the Mozilla
//! list); a relay whose certificate a company's own authority signed is trusted by giving that
//! authority's certificate ([`Smtp::with_ca`], `HOLDFAST_SMTP_CA`: a PEM file) — never by turning
//! the check off.
//!
//! Every message is multipart (text and HTML), carries a `Message-ID` derived from its outbox key
//! ([`message_id`]: a retry of the same message has the same id, so a receiver can drop the
//! duplicate), and — when it has an unsubscribe link — `List-Unsubscribe` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so a mail client's unsubscribe
//! button posts to the link without opening it.

use crate::error::{redact, ConfigError};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// One e-mail to send. `key` is the outbox key: the same on every attempt at the same message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub key: String,
    /// `news@shop.example` or `Shop <news@shop.example>`.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link (`https://…/u/{token}`), if the message carries one.
    pub unsubscribe_url: Option<String>,
}

/// How an attempt to deliver a message went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the server (SMTP 2xx, HTTP 2xx).
    Sent,
    /// Try again later: SMTP 4xx, HTTP 429 or 5xx, a timeout, a connection that failed or broke.
    Transient(String),
    /// Do not try this message again. `suppress`: the recipient's address itself was refused
    /// (a hard bounce: 550/551/553 for the mailbox), so nothing more should be sent to it.
    Permanent { error: String, suppress: bool },
    /// The endpoint is gone (HTTP 410): stop sending to it at all.
    Disabled(String),
}

/// The `Message-ID` of the message with outbox key `key`: `<` the first 32 hex digits of
/// SHA-256(`key`) `@` the domain of `from` `>` — identical on every retry.
pub fn message_id(key: &str, from: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let addr = from.rsplit_once('<').map_or(from, |(_, a)| a).trim().trim_end_matches('>');
    let domain = addr.rsplit_once('@').map(|(_, d)| d.trim()).filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    format!("<{}@{}>", &hex[..32], domain.unwrap_or("holdfast.invalid"))
}

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Clone, Debug)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone, Debug)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// The MIME message of `e`, or why it cannot be built (a bad address is permanent; a bad
/// recipient address is suppressed).
fn message(e: &Email) -> Result<Message, Delivery> {
    let from: Mailbox =
        e.from.parse().map_err(|err| Delivery::Permanent { error: format!("the from address {:?} is not valid: {err}", e.from), suppress: false })?;
    let to: Mailbox = e.to.parse().map_err(|err| Delivery::Permanent { error: format!("the address {:?} is not valid: {err}", e.to), suppress: true })?;
    let mut b = Message::builder().message_id(Some(message_id(&e.key, &e.from))).from(from).to(to).subject(e.subject.as_str());
    if let Some(url) = e.unsubscribe_url.as_deref().filter(|u| !u.is_empty()) {
        if url.contains(['<', '>', '\r', '\n', ' ']) {
            return Err(Delivery::Permanent { error: format!("the unsubscribe link {url:?} is not a URL"), suppress: false });
        }
        b = b.header(ListUnsubscribe(url.to_owned())).header(ListUnsubscribePost);
    }
    b.multipart(MultiPart::alternative_plain_html(e.text.clone(), e.html.clone()))
        .map_err(|err| Delivery::Permanent { error: format!("the message cannot be built: {err}"), suppress: false })
}

/// Whether a permanent SMTP reply refuses the recipient's mailbox itself (a hard bounce): codes
/// 550, 551 and 553 whose enhanced status, when given, is about the address (5.1.x) or a disabled
/// mailbox (5.2.1) — "550 5.7.1 message refused as spam" is about the message, not the address.
pub(crate) fn is_hard_bounce(code: u16, text: &str) -> bool {
    if !matches!(code, 550 | 551 | 553) {
        return false;
    }
    let enhanced = text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')').find(|w| {
        let p: Vec<&str> = w.split('.').collect();
        p.len() == 3 && p[0] == "5" && p.iter().all(|x| !x.is_empty() && x.len() <= 3 && x.bytes().all(|b| b.is_ascii_digit()))
    });
    match enhanced {
        None => true,
        Some(s) => s.starts_with("5.1.") || s == "5.2.1",
    }
}

/// The [`Delivery`] of an SMTP error.
fn classify(err: &lettre::transport::smtp::Error) -> Delivery {
    let text = err.to_string();
    match err.status() {
        Some(code) if err.is_permanent() => {
            let code = u16::from(code);
            Delivery::Permanent { suppress: is_hard_bounce(code, &text), error: text }
        }
        _ => Delivery::Transient(text),
    }
}

/// How a connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    Plain,
    /// STARTTLS after the greeting; `required`: refuse to go on without it.
    StartTls {
        required: bool,
    },
    /// TLS from the first byte (`smtps`).
    Wrapper,
}

/// Where a URL says to connect, and how (the same reading as lettre's `from_url`, which checks
/// the URL first).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    /// User and password, percent-decoded.
    credentials: Option<(String, String)>,
    /// The name given in `EHLO` (the URL's path), else `localhost`.
    hello: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Server {
    fn parse(url: &str) -> Result<Server, String> {
        let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
        let (rest, query) = rest.split_once('?').map_or((rest, ""), |(r, q)| (r, q));
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
        let (userinfo, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        let (host, port) = match hostport.strip_prefix('[') {
            Some(h) => {
                let (h, after) = h.split_once(']').ok_or("an IPv6 address without its closing bracket")?;
                (h, after.strip_prefix(':'))
            }
            None => hostport.rsplit_once(':').map_or((hostport, None), |(h, p)| (h, Some(p))),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        let port = match port.filter(|p| !p.is_empty()) {
            Some(p) => Some(p.parse::<u16>().map_err(|_| format!("the port {p:?} is not a number"))?),
            None => None,
        };
        let tls = query.split('&').find_map(|kv| kv.strip_prefix("tls="));
        let (security, default_port) = match (scheme, tls) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => (Security::StartTls { required: true }, 587),
            ("smtp", Some("opportunistic")) => (Security::StartTls { required: false }, 587),
            ("smtps", _) => (Security::Wrapper, 465),
            (s, t) => return Err(format!("the scheme {s:?} with tls={t:?} is not known")),
        };
        let credentials = userinfo.and_then(|u| u.split_once(':')).map(|(u, p)| (percent_decode(u), percent_decode(p)));
        let hello = Some(path.trim_matches('/')).filter(|p| !p.is_empty()).map(str::to_owned);
        Ok(Server { host: host.to_owned(), port: port.unwrap_or(default_port), security, credentials, hello })
    }
}

/// A TLS stream (`smtps`) in the shape lettre's connection takes.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The connections of one [`Smtp`]: the server, its TLS settings and the idle connections.
struct Pool {
    server: Server,
    hello: ClientId,
    credentials: Option<Credentials>,
    /// STARTTLS.
    starttls: Option<TlsParameters>,
    /// `smtps`.
    wrapper: Option<tokio_rustls::TlsConnector>,
    /// Idle connections with the moment each was last used; at most `keep` are kept.
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, std::time::Instant)>>,
    keep: usize,
}

/// An idle connection older than this is asked `NOOP` before it is used (the server may have
/// closed it); older than [`Pool::STALE`], it is closed and a new one opened.
const CHECK_AFTER: Duration = Duration::from_secs(5);

impl Pool {
    const STALE: Duration = Duration::from_secs(60);

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, std::time::Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An open connection: an idle one that still answers, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, Delivery> {
        loop {
            let Some((mut c, since)) = self.idle().pop() else { return self.connect().await };
            let idle = since.elapsed();
            if idle < CHECK_AFTER || (idle < Self::STALE && c.test_connected().await) {
                return Ok(c);
            }
            c.abort().await;
        }
    }

    fn checkin(&self, c: AsyncSmtpConnection) {
        if c.has_broken() {
            return;
        }
        let mut idle = self.idle();
        if idle.len() < self.keep {
            idle.push((c, std::time::Instant::now()));
        }
    }

    /// A new connection: TCP with `TCP_NODELAY` — lettre writes the end of a message
    /// (`\r\n.\r\n`) apart from its body, and with Nagle's algorithm that small write waits
    /// for the server to acknowledge the body, ~40 ms of delayed ACK per message on a real
    /// server — then TLS as the URL says, `EHLO`, and `AUTH` when the URL has a user.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Delivery> {
        let s = &self.server;
        let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| Delivery::Transient(format!("cannot connect to {}:{}: {e}", s.host, s.port)))?;
        tcp.set_nodelay(true).map_err(|e| Delivery::Transient(format!("connection to {}:{}: {e}", s.host, s.port)))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.wrapper {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|e| Delivery::Permanent { error: format!("the host {:?} cannot be checked by TLS: {e}", s.host), suppress: false })?;
                Box::new(TlsTcp(tls.connect(name, tcp).await.map_err(|e| Delivery::Transient(format!("TLS with {}:{}: {e}", s.host, s.port)))?))
            }
            None => Box::new(tcp),
        };
        let mut c = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await.map_err(|e| classify(&e))?;
        if let (Security::StartTls { required }, Some(tls)) = (s.security, &self.starttls) {
            if required || c.can_starttls() {
                c.starttls(tls.clone(), &self.hello).await.map_err(|e| classify(&e))?;
            }
        }
        if let Some(cr) = &self.credentials {
            c.auth(DEFAULT_MECHANISMS, cr).await.map_err(|e| classify(&e))?;
        }
        Ok(c)
    }
}

/// A pool of SMTP connections to one server. Cheap to clone (the clones share the pool).
#[derive(Clone)]
pub struct Smtp {
    pool: Arc<Pool>,
    url: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("url", &self.url).finish()
    }
}

impl Smtp {
    /// How long one attempt — connecting when needed, then sending — may take before it counts
    /// as failed (transient).
    pub const TIMEOUT: Duration = Duration::from_secs(30);

    /// A transport for `url` (see the module docs) keeping up to `pool_size` idle connections
    /// open. Call it inside a tokio runtime.
    pub fn from_url(url: &str, pool_size: u32) -> Result<Smtp, ConfigError> {
        Smtp::with_ca(url, pool_size, None)
    }

    /// [`Smtp::from_url`] trusting, besides the public authorities, the certificates in `ca_pem`
    /// (one or more PEM certificates) for the server's TLS certificate, with `smtps` and STARTTLS.
    pub fn with_ca(url: &str, pool_size: u32, ca_pem: Option<&[u8]>) -> Result<Smtp, ConfigError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConfigError::NoRuntime);
        }
        let shown = redact(url);
        let bad = |reason: String| ConfigError::SmtpUrl { url: shown.clone(), reason };
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
        if scheme != "smtp" && scheme != "smtps" {
            return Err(bad(format!("the scheme {scheme:?} is not smtp or smtps")));
        }
        if pool_size == 0 {
            return Err(bad("the pool needs at least one connection".into()));
        }
        // lettre reads the URL first (its errors are the ones users know); the connections are
        // made here, to set TCP_NODELAY, which lettre's transport does not.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| bad(e.to_string()))?;
        let server = Server::parse(url).map_err(bad)?;
        let extra: Vec<rustls::pki_types::CertificateDer<'static>> = match ca_pem {
            Some(pem) => {
                use rustls::pki_types::pem::PemObject;
                let certs =
                    rustls::pki_types::CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| ConfigError::SmtpCa(e.to_string()))?;
                if certs.is_empty() {
                    return Err(ConfigError::SmtpCa("no certificate in it".into()));
                }
                certs
            }
            None => Vec::new(),
        };
        let starttls = match server.security {
            Security::StartTls { .. } => {
                let mut b = TlsParameters::builder(server.host.clone());
                if let Some(pem) = ca_pem {
                    b = b.add_root_certificate(lettre::transport::smtp::client::Certificate::from_pem(pem).map_err(|e| ConfigError::SmtpCa(e.to_string()))?);
                }
                Some(b.build().map_err(|e| bad(e.to_string()))?)
            }
            _ => None,
        };
        let wrapper = match server.security {
            Security::Wrapper => {
                // ring, not aws-lc-rs (no C build); rustls 0.23.48 deprecates ring's provider
                // only because it has no post-quantum key exchange.
                #[allow(deprecated)]
                let b = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| bad(e.to_string()))?;
                let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
                for c in extra {
                    roots.add(c).map_err(|e| ConfigError::SmtpCa(e.to_string()))?;
                }
                Some(tokio_rustls::TlsConnector::from(Arc::new(b.with_root_certificates(roots).with_no_client_auth())))
            }
            _ => None,
        };
        let pool = Pool {
            hello: server.hello.clone().map(ClientId::Domain).unwrap_or_default(),
            credentials: server.credentials.clone().map(|(u, p)| Credentials::new(u, p)),
            server,
            starttls,
            wrapper,
            idle: std::sync::Mutex::new(Vec::new()),
            keep: pool_size as usize,
        };
        Ok(Smtp { pool: Arc::new(pool), url: shown })
    }

    /// The server's URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one message; every outcome is a [`Delivery`] (nothing here panics or returns early).
    pub async fn send(&self, e: &Email) -> Delivery {
        let msg = match message(e) {
            Ok(m) => m,
            Err(d) => return d,
        };
        let attempt = async {
            let mut c = self.pool.checkout().await?;
            let r = c.send(msg.envelope(), &msg.formatted()).await;
            self.pool.checkin(c);
            r.map_err(|err| classify(&err))
        };
        match tokio::time::timeout(Self::TIMEOUT, attempt).await {
            Ok(Ok(_)) => Delivery::Sent,
            Ok(Err(d)) => d,
            Err(_) => Delivery::Transient(format!("the SMTP server did not answer within {} s", Self::TIMEOUT.as_secs())),
        }
    }

    /// The message as it would go on the wire (for previews and tests), or why it cannot be built.
    pub fn formatted(e: &Email) -> Result<Vec<u8>, Delivery> {
        message(e).map(|m| m.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_is_stable_and_takes_the_senders_domain() {
        let a = message_id("campaign:7/step:1/customer:42/2026-12-05", "Shop <news@shop.example>");
        assert_eq!(a, message_id("campaign:7/step:1/customer:42/2026-12-05", "news@shop.example"));
        assert!(a.starts_with('<') && a.ends_with("@shop.example>"), "{a}");
        assert_eq!(a.len(), 1 + 32 + 1 + "shop.example".len() + 1);
        assert_ne!(a, message_id("campaign:7/step:1/customer:43/2026-12-05", "news@shop.example"));
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(message_id("abc", "x@y.z"), "<ba7816bf8f01cfea414140de5dae2223@y.z>");
        assert_eq!(message_id("abc", "no address"), "<ba7816bf8f01cfea414140de5dae2223@holdfast.invalid>");
    }

    #[test]
    fn hard_bounces_are_mailbox_refusals_only() {
        assert!(is_hard_bounce(550, "permanent error (550): 5.1.1 <x@y>: Recipient address rejected: User unknown"));
        assert!(is_hard_bounce(550, "permanent error (550): mailbox unavailable"));
        assert!(is_hard_bounce(553, "permanent error (553): 5.1.3 bad address syntax"));
        assert!(is_hard_bounce(551, "permanent error (551): user not local"));
        assert!(is_hard_bounce(550, "permanent error (550): 5.2.1 mailbox disabled"));
        assert!(!is_hard_bounce(550, "permanent error (550): 5.7.1 message refused as spam"));
        assert!(!is_hard_bounce(552, "permanent error (552): 5.2.2 mailbox full"));
        assert!(!is_hard_bounce(554, "permanent error (554): transaction failed"));
    }

    #[tokio::test]
    async fn urls_are_checked_and_passwords_never_shown() {
        assert!(Smtp::from_url("smtp://127.0.0.1:2525", 4).is_ok());
        assert!(Smtp::from_url("smtps://u:p@mail.example.com:465", 4).is_ok());
        assert!(Smtp::from_url("smtp://u:p@mail.example.com:587?tls=required", 4).is_ok());
        let e = Smtp::from_url("http://u:secret@mail.example.com", 4).unwrap_err().to_string();
        assert!(e.contains("u:***@") && !e.contains("secret"), "{e}");
        let e = Smtp::from_url("smtp://u:secret@mail.example.com?tls=sometimes", 4).unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(Smtp::from_url("smtp://127.0.0.1:2525", 0).is_err());
        let outside = std::thread::spawn(|| Smtp::from_url("smtp://127.0.0.1:2525", 1).map(|_| ())).join().unwrap();
        assert!(matches!(outside, Err(ConfigError::NoRuntime)));
    }

    #[test]
    fn urls_are_read_for_the_connections_as_lettre_reads_them() {
        let s = Server::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.host.as_str(), s.port, s.security, s.credentials, s.hello), ("127.0.0.1", 2525, Security::Plain, None, None));
        let s = Server::parse("smtps://news%40shop.example:p%3Ass@mail.example.com").unwrap();
        assert_eq!((s.host.as_str(), s.port, s.security), ("mail.example.com", 465, Security::Wrapper));
        assert_eq!(s.credentials, Some(("news@shop.example".to_owned(), "p:ss".to_owned())));
        let s = Server::parse("smtp://u:p@mail.example.com:587/relay.shop.example?tls=required").unwrap();
        assert_eq!((s.port, s.security, s.hello.as_deref()), (587, Security::StartTls { required: true }, Some("relay.shop.example")));
        assert_eq!(Server::parse("smtp://mail.example.com?tls=opportunistic").unwrap().security, Security::StartTls { required: false });
        assert_eq!(Server::parse("smtp://mail.example.com").unwrap().port, 25);
        assert_eq!(Server::parse("smtp://[::1]:2525").unwrap().host, "::1");
        assert!(Server::parse("smtp://mail.example.com:port").is_err());
        assert!(Server::parse("smtp://mail.example.com?tls=sometimes").is_err());
    }

    #[test]
    fn the_message_carries_the_unsubscribe_headers_and_both_parts() {
        let e = Email {
            key: "k1".into(),
            from: "Shop <news@shop.example>".into(),
            to: "anna@example.com".into(),
            subject: "Привет, Анна".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            unsubscribe_url: Some("https://h.example/u/abc".into()),
        };
        let raw = String::from_utf8(Smtp::formatted(&e).unwrap()).unwrap();
        assert!(raw.contains(&format!("Message-ID: {}", message_id("k1", "news@shop.example"))), "{raw}");
        assert!(raw.contains("List-Unsubscribe: <https://h.example/u/abc>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        let bad = Email { to: "not an address".into(), ..e };
        assert!(matches!(Smtp::formatted(&bad), Err(Delivery::Permanent { suppress: true, .. })));
    }
}
