//! Webhooks signed per Standard Webhooks v1 (<https://www.standardwebhooks.com>).
//!
//! A webhook is an HTTP `POST` of a JSON body with three headers: `webhook-id` (the outbox key,
//! the same on every retry, so the receiver can drop a duplicate), `webhook-timestamp` (Unix
//! seconds of this attempt) and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, keyed by the base64 part of a `whsec_…` secret). Only a 2xx answer is
//! success; 410 Gone disables the endpoint; 408, 425, 429, 5xx, timeouts and broken connections
//! are retried ([`backoff`]); any other answer is permanent.
//!
//! A server-side request to an address a user typed is a way into the private network, so
//! [`WebhookClient`] resolves the host itself, refuses it when **any** of its addresses is
//! loopback, private, link-local, unspecified or otherwise not public ([`is_public_address`]),
//! and connects to the address it checked — a second, different DNS answer cannot slip in.

use crate::email::Delivery;
use crate::error::ConfigError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};

/// One webhook to deliver. `key` is the outbox key (sent as `webhook-id`); `secret` the
/// endpoint's `whsec_…` secret; `body` the JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub key: String,
    pub url: String,
    pub secret: String,
    pub body: Vec<u8>,
}

/// The signing key of a secret: the base64 after `whsec_` (the prefix is optional, as in the
/// reference libraries).
fn key_of(secret: &str) -> Result<Vec<u8>, ConfigError> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = BASE64.decode(b64.trim()).map_err(|e| ConfigError::Secret(e.to_string()))?;
    if key.is_empty() {
        return Err(ConfigError::Secret("the key is empty".into()));
    }
    Ok(key)
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` value of (`id`, `timestamp`, `body`) under `secret`: `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, ConfigError> {
    Ok(format!("v1,{}", BASE64.encode(mac(&key_of(secret)?, id, timestamp, body))))
}

/// Whether a received webhook is genuine: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` are present (header names in any case), the timestamp is within
/// `tolerance_s` seconds of `now`, and one of the space-separated `v1,` signatures matches
/// (compared in constant time).
pub fn verify(secret: &str, headers: &[(String, String)], body: &[u8], now: i64, tolerance_s: i64) -> bool {
    let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let (Some(id), Some(ts), Some(sigs)) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature")) else { return false };
    let Ok(ts) = ts.parse::<i64>() else { return false };
    if now.abs_diff(ts) > tolerance_s.max(0) as u64 {
        return false;
    }
    let Ok(key) = key_of(secret) else { return false };
    let expected = mac(&key, id, ts, body);
    sigs.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).filter_map(|b| BASE64.decode(b).ok()).any(|got| bool::from(got.ct_eq(&expected)))
}

/// How long to wait before attempt `attempt + 1` of the message `key` (attempt 0 is the first
/// retry): the step doubles from 30 s up to 6 h, and the wait is drawn between half the step and
/// the step by a hash of (`key`, `attempt`) — spread out, so endpoints that come back are not hit
/// by every message at once, yet the same on every run.
pub fn backoff(attempt: u32, key: &str) -> Duration {
    const BASE_MS: u64 = 30_000;
    const CAP_MS: u64 = 6 * 3600 * 1000;
    let step = BASE_MS.saturating_mul(1u64 << attempt.min(30)).min(CAP_MS);
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(attempt.to_le_bytes());
    let d = h.finalize();
    let r = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    let half = step / 2;
    Duration::from_millis(half + r % (step - half + 1))
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local fc00::/7), link-local, unspecified, shared (100.64/10), multicast, broadcast, reserved or
/// documentation; IPv4 inside IPv6 (`::ffff:a.b.c.d`, `64:ff9b::/96`, `::a.b.c.d`) is judged as the IPv4.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d).
            if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]) || (s[..6] == [0; 6] && v6 != Ipv6Addr::LOCALHOST && !v6.is_unspecified()) {
                let o = v6.octets();
                return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Where a webhook goes, parsed from its URL.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// `Host` header value.
    authority: String,
    path: String,
}

fn target(url: &str) -> Result<Target, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        other => return Err(format!("{url:?}: a webhook URL starts with https:// or http://, not {}", other.unwrap_or("nothing"))),
    };
    let auth = uri.authority().ok_or_else(|| format!("{url:?} names no host"))?;
    if auth.as_str().contains('@') {
        return Err(format!("{url:?}: a webhook URL carries no user name or password (the signature authenticates it)"));
    }
    let host = auth.host().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = auth.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target { tls, host, port, authority: auth.as_str().to_owned(), path })
}

/// Sends webhooks. Cheap to clone.
#[derive(Clone)]
pub struct WebhookClient {
    allow_private: bool,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient").field("allow_private", &self.allow_private).field("timeout", &self.timeout).finish()
    }
}

impl WebhookClient {
    /// A client that refuses non-public addresses unless `allow_private`, and gives each attempt
    /// `timeout` from resolving the host to the answer's status line.
    pub fn new(allow_private: bool, timeout: std::time::Duration) -> Self {
        // ring, not aws-lc-rs (no C build); rustls 0.23.48 deprecates ring's provider only
        // because it has no post-quantum key exchange.
        #[allow(deprecated)]
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .ok()
            .map(|b| {
                let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
                Arc::new(b.with_root_certificates(roots).with_no_client_auth())
            });
        WebhookClient { allow_private, timeout, tls }
    }

    /// Delivers `w`, signed at `now` (Unix seconds); every outcome is a [`Delivery`].
    pub async fn send(&self, w: &Webhook, now: i64) -> Delivery {
        let permanent = |error: String| Delivery::Permanent { error, suppress: false };
        let signature = match sign(&w.secret, &w.key, now, &w.body) {
            Ok(s) => s,
            Err(e) => return permanent(e.to_string()),
        };
        let t = match target(&w.url) {
            Ok(t) => t,
            Err(e) => return permanent(e),
        };
        let req = hyper::Request::post(t.path.as_str())
            .header(hyper::header::HOST, t.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "Holdfast")
            .header("webhook-id", w.key.as_str())
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(w.body.clone())));
        let req = match req {
            Ok(r) => r,
            Err(e) => return permanent(format!("the request cannot be built (is the key {:?} a header value?): {e}", w.key)),
        };
        match tokio::time::timeout(self.timeout, self.post(&t, req)).await {
            Err(_) => Delivery::Transient(format!("{}: no answer within {} s", w.url, self.timeout.as_secs_f64())),
            Ok(Err(d)) => d,
            Ok(Ok(status)) => classify_status(status, &w.url),
        }
    }

    /// Resolves, checks, connects and posts; the answer's status.
    async fn post(&self, t: &Target, req: hyper::Request<Full<Bytes>>) -> Result<u16, Delivery> {
        let addrs: Vec<SocketAddr> = match t.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, t.port)],
            Err(_) => {
                tokio::net::lookup_host((t.host.as_str(), t.port)).await.map_err(|e| Delivery::Transient(format!("cannot resolve {}: {e}", t.host)))?.collect()
            }
        };
        if addrs.is_empty() {
            return Err(Delivery::Transient(format!("{} resolves to no address", t.host)));
        }
        if !self.allow_private {
            if let Some(bad) = addrs.iter().find(|a| !is_public_address(a.ip())) {
                return Err(Delivery::Permanent {
                    error: format!(
                        "refused: {} resolves to {}, which is not a public address (allow private addresses for this workspace to send there)",
                        t.host,
                        bad.ip()
                    ),
                    suppress: false,
                });
            }
        }
        let mut last = String::new();
        let mut stream = None;
        for a in &addrs {
            match tokio::net::TcpStream::connect(a).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {} ({a}): {e}", t.host),
            }
        }
        let stream = stream.ok_or(Delivery::Transient(last))?;
        let _ = stream.set_nodelay(true);
        if !t.tls {
            return exchange(stream, req).await;
        }
        let config = self.tls.clone().ok_or_else(|| Delivery::Permanent { error: "TLS is not available in this build".into(), suppress: false })?;
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| Delivery::Permanent { error: format!("{:?} is not a TLS server name: {e}", t.host), suppress: false })?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| Delivery::Transient(format!("TLS with {} failed: {e}", t.host)))?;
        exchange(tls, req).await
    }
}

/// One HTTP/1.1 request on a connected stream; the answer's status.
async fn exchange<S>(stream: S, req: hyper::Request<Full<Bytes>>) -> Result<u16, Delivery>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| Delivery::Transient(format!("HTTP handshake failed: {e}")))?;
    let mut conn = std::pin::pin!(conn);
    let answer = sender.send_request(req);
    tokio::select! {
        r = answer => r.map(|resp| resp.status().as_u16()).map_err(|e| Delivery::Transient(format!("the request failed: {e}"))),
        c = &mut conn => Err(Delivery::Transient(match c {
            Ok(()) => "the connection closed before an answer".to_owned(),
            Err(e) => format!("the connection failed: {e}"),
        })),
    }
}

/// The [`Delivery`] of an HTTP status.
fn classify_status(status: u16, url: &str) -> Delivery {
    match status {
        200..=299 => Delivery::Sent,
        410 => Delivery::Disabled(format!("{url} answered 410 Gone: the endpoint is disabled")),
        408 | 425 | 429 | 500..=599 => Delivery::Transient(format!("{url} answered {status}")),
        _ => Delivery::Permanent { error: format!("{url} answered {status} (only 2xx is success; redirects are not followed)"), suppress: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_reproduces_the_standard_webhooks_test_vector() {
        // The vector of the Standard Webhooks reference libraries' tests.
        let sig = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#).unwrap(), sig);
        assert!(sign("whsec_not base64!", "id", 1, b"").is_err());
    }

    #[test]
    fn verify_checks_signature_timestamp_and_headers() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let h = |sig: &str| {
            vec![
                ("Webhook-Id".to_owned(), "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()),
                ("webhook-timestamp".to_owned(), "1614265330".to_owned()),
                ("webhook-signature".to_owned(), sig.to_owned()),
            ]
        };
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verify(secret, &h(good), body, 1614265330 + 299, 300));
        assert!(verify(secret, &h(&format!("v1,bm9wZQ== {good}")), body, 1614265330, 300));
        assert!(!verify(secret, &h(good), body, 1614265330 + 301, 300));
        assert!(!verify(secret, &h(good), b"{\"test\": 2432232315}", 1614265330, 300));
        assert!(!verify(secret, &h("v1,bm9wZQ=="), body, 1614265330, 300));
        assert!(!verify(secret, &h(&good.replace("v1,", "v2,")), body, 1614265330, 300));
        assert!(!verify(secret, &h(good)[..2], body, 1614265330, 300));
    }

    #[test]
    fn backoff_grows_with_deterministic_jitter() {
        let k = "campaign:1/step:0/customer:7";
        assert_eq!(backoff(3, k), backoff(3, k));
        for a in 0..40 {
            let step = (30_000u64 << a.min(30)).min(6 * 3600 * 1000);
            let d = backoff(a, k).as_millis() as u64;
            assert!(d >= step / 2 && d <= step, "attempt {a}: {d} ms");
        }
        let spread: std::collections::BTreeSet<u128> = (0..50).map(|i| backoff(2, &format!("k{i}")).as_millis()).collect();
        assert!(spread.len() > 40, "jitter spreads keys apart");
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(!is_public_address(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public_address(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status(204, "u"), Delivery::Sent);
        assert!(matches!(classify_status(410, "u"), Delivery::Disabled(_)));
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(classify_status(s, "u"), Delivery::Transient(_)), "{s}");
        }
        for s in [301, 400, 401, 404, 422] {
            assert!(matches!(classify_status(s, "u"), Delivery::Permanent { suppress: false, .. }), "{s}");
        }
    }

    #[tokio::test]
    async fn loopback_and_private_hosts_are_refused_before_connecting() {
        let c = WebhookClient::new(false, Duration::from_secs(2));
        for url in ["http://127.0.0.1:9/hook", "http://[::1]:9/", "http://localhost:9/", "https://10.0.0.1/x", "http://169.254.169.254/latest/meta-data"] {
            let w = Webhook { key: "k".into(), url: url.into(), secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), body: b"{}".to_vec() };
            match c.send(&w, 1_700_000_000).await {
                Delivery::Permanent { error, suppress: false } => assert!(error.contains("not a public address"), "{url}: {error}"),
                d => panic!("{url}: {d:?}"),
            }
        }
        let w = Webhook { key: "k".into(), url: "ftp://example.com/".into(), secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), body: vec![] };
        assert!(matches!(c.send(&w, 0).await, Delivery::Permanent { .. }));
    }
}
