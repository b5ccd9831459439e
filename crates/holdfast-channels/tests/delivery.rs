//! Real deliveries: e-mail through lettre to the SMTP sink of `holdfast_channels::testing`, and
//! signed webhooks to its receiver — the protocols on real sockets, faults injected by the doubles.

use holdfast_channels::testing::{SmtpSink, WebhookReceiver};
use holdfast_channels::{message_id, render, sample_context, Delivery, Email, Smtp, Webhook, WebhookClient};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn email(key: &str, to: &str) -> Email {
    let r = render("Привет, {{ customer.first_name }}!", "Hello {{ customer.first_name }},\n\nwe miss you.", &sample_context()).unwrap();
    Email {
        key: key.into(),
        from: "Example Shop <news@shop.example>".into(),
        to: to.into(),
        subject: r.subject,
        text: r.text,
        html: r.html,
        unsubscribe_url: Some("https://holdfast.example.com/u/1.QzEwNDI.sample".into()),
    }
}

#[tokio::test]
async fn an_email_arrives_multipart_with_its_headers() {
    let sink = SmtpSink::start().await.unwrap();
    let smtp = Smtp::from_url(&sink.url(), 2).unwrap();
    assert_eq!(smtp.send(&email("winback/1/C-1042/0", "anna@example.com")).await, Delivery::Sent);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.from, "news@shop.example");
    assert_eq!(m.to, ["anna@example.com"]);
    assert_eq!(m.message_id, message_id("winback/1/C-1042/0", "news@shop.example"));
    assert_eq!(m.subject, "Привет, Anna!");
    assert_eq!(m.header("List-Unsubscribe"), Some("<https://holdfast.example.com/u/1.QzEwNDI.sample>"));
    assert_eq!(m.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"), "{}", m.raw);
    assert!(m.raw.contains("text/plain") && m.raw.contains("text/html"));
    assert!(m.raw.contains("Hello Anna,"), "{}", m.raw);
}

#[tokio::test]
async fn a_retry_after_451_or_a_broken_connection_keeps_the_message_id() {
    let sink = SmtpSink::start().await.unwrap();
    let smtp = Smtp::from_url(&sink.url(), 1).unwrap();
    let e = email("once/7/C-1/0", "anna@example.com");

    // 451 at the end of DATA: transient, nothing delivered; the retry delivers it.
    sink.fail_next(1, 451);
    match smtp.send(&e).await {
        Delivery::Transient(msg) => assert!(msg.contains("451"), "{msg}"),
        d => panic!("{d:?}"),
    }
    assert_eq!(sink.count(), 0);
    assert_eq!(smtp.send(&e).await, Delivery::Sent);

    // The server takes the message and the connection breaks before it answers: the sender
    // must call it transient; its retry arrives as a second copy with the same Message-ID.
    sink.drop_connection_after_data(1);
    assert!(matches!(smtp.send(&e).await, Delivery::Transient(_)));
    assert_eq!(smtp.send(&e).await, Delivery::Sent);
    let got = sink.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| m.message_id == message_id("once/7/C-1/0", "news@shop.example")));
}

#[tokio::test]
async fn refusals_are_classified() {
    let sink = SmtpSink::start().await.unwrap();
    let smtp = Smtp::from_url(&sink.url(), 1).unwrap();
    sink.fail_next(1, 550);
    match smtp.send(&email("k1", "gone@example.com")).await {
        Delivery::Permanent { error, suppress: true } => assert!(error.contains("550"), "{error}"),
        d => panic!("a hard bounce: {d:?}"),
    }
    sink.fail_next(1, 554);
    assert!(matches!(smtp.send(&email("k2", "anna@example.com")).await, Delivery::Permanent { suppress: false, .. }));
    assert_eq!(smtp.send(&email("k3", "anna@example.com")).await, Delivery::Sent);
    assert_eq!(sink.count(), 1);

    // Nobody listening: transient.
    let port = sink.addr().port();
    drop(sink);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_ne!(closed, port);
    let nobody = Smtp::from_url(&format!("smtp://127.0.0.1:{closed}"), 1).unwrap();
    assert!(matches!(nobody.send(&email("k4", "anna@example.com")).await, Delivery::Transient(_)));
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_disabled_by_410() {
    let rx = WebhookReceiver::start(SECRET, vec![500, 200, 410, 404]).await.unwrap();
    let client = WebhookClient::new(true, Duration::from_secs(5));
    let w = Webhook { key: "campaign/3/C-7/0".into(), url: rx.url(), secret: SECRET.into(), body: br#"{"customer":"C-7"}"#.to_vec() };
    assert!(matches!(client.send(&w, 1_765_000_000).await, Delivery::Transient(m) if m.contains("500")));
    assert_eq!(client.send(&w, 1_765_000_060).await, Delivery::Sent);
    assert!(matches!(client.send(&w, 1_765_000_120).await, Delivery::Disabled(_)));
    assert!(matches!(client.send(&w, 1_765_000_180).await, Delivery::Permanent { suppress: false, .. }));
    let got = rx.received();
    assert_eq!(got.len(), 4);
    for (r, ts) in got.iter().zip([1_765_000_000, 1_765_000_060, 1_765_000_120, 1_765_000_180]) {
        assert!(r.signature_ok, "{r:?}");
        assert_eq!(r.id, "campaign/3/C-7/0");
        assert_eq!(r.timestamp, ts);
        assert_eq!(r.body, br#"{"customer":"C-7"}"#);
        assert_eq!(r.path, "/hook");
    }
    // The receiver tells a wrong signature apart.
    let forged = Webhook { secret: "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==".into(), ..w.clone() };
    assert_eq!(client.send(&forged, 1_765_000_240).await, Delivery::Sent);
    assert!(!rx.received()[4].signature_ok);
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out_as_transient() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            kept.push(s);
        }
    });
    let client = WebhookClient::new(true, Duration::from_millis(300));
    let w = Webhook { key: "k".into(), url: format!("http://{addr}/hook"), secret: SECRET.into(), body: b"{}".to_vec() };
    let started = std::time::Instant::now();
    match client.send(&w, 0).await {
        Delivery::Transient(m) => assert!(m.contains("no answer"), "{m}"),
        d => panic!("{d:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    hold.abort();
    // Without allow_private the same URL is refused before any connection.
    let strict = WebhookClient::new(false, Duration::from_millis(300));
    assert!(matches!(strict.send(&w, 0).await, Delivery::Permanent { .. }));
}

const CA: &[u8] = include_bytes!("data/ca.pem");
const CERT: &[u8] = include_bytes!("data/server.pem");
const KEY: &[u8] = include_bytes!("data/server.key");

/// `smtps://user:password@host` (TLS from the first byte, then AUTH PLAIN) and STARTTLS with
/// `?tls=required`, to a sink whose certificate a private authority signed: trusted with that
/// authority's certificate, refused without it (never sent in the clear).
#[tokio::test]
async fn tls_from_the_first_byte_and_starttls_with_a_private_authority() {
    use holdfast_channels::testing::SinkTls;
    let sink = SmtpSink::start_tls(SinkTls::new(CERT, KEY, true).unwrap()).await.unwrap();
    let url = sink.url().replace("smtps://", "smtps://relay-user:s3cret@");
    assert!(url.starts_with("smtps://relay-user:s3cret@127.0.0.1:"), "{url}");
    let smtp = Smtp::with_ca(&url, 2, Some(CA)).unwrap();
    assert!(!smtp.url().contains("s3cret"), "{}", smtp.url());
    assert_eq!(smtp.send(&email("tls/1/C-1/0", "anna@example.com")).await, Delivery::Sent);
    assert_eq!(smtp.send(&email("tls/1/C-2/0", "boris@example.com")).await, Delivery::Sent);
    let got = sink.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].message_id, message_id("tls/1/C-1/0", "news@shop.example"));
    assert_eq!(sink.authenticated()[0], "relay-user");
    // the public authorities alone do not vouch for this server: transient, nothing sent
    let untrusted = Smtp::from_url(&url, 1).unwrap();
    match untrusted.send(&email("tls/1/C-3/0", "anna@example.com")).await {
        Delivery::Transient(msg) => assert!(msg.contains("TLS"), "{msg}"),
        d => panic!("{d:?}"),
    }
    assert_eq!(sink.count(), 2);

    let sink = SmtpSink::start_tls(SinkTls::new(CERT, KEY, false).unwrap()).await.unwrap();
    let url = format!("{}?tls=required", sink.url().replace("smtp://", "smtp://relay-user:s3cret@"));
    let smtp = Smtp::with_ca(&url, 1, Some(CA)).unwrap();
    assert_eq!(smtp.send(&email("starttls/1/C-1/0", "anna@example.com")).await, Delivery::Sent);
    assert_eq!(sink.count(), 1);
    assert_eq!(sink.authenticated(), ["relay-user"]);
    let untrusted = Smtp::from_url(&url, 1).unwrap();
    assert!(matches!(untrusted.send(&email("starttls/1/C-2/0", "anna@example.com")).await, Delivery::Transient(_) | Delivery::Permanent { .. }));
    assert_eq!(sink.count(), 1);

    // a file that holds no certificate is a clear configuration error
    let err = Smtp::with_ca(&url, 1, Some(b"not a certificate")).unwrap_err().to_string();
    assert!(err.contains("SMTP certificate authorities") && err.contains("PEM"), "{err}");
}
