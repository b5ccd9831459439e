//! Unsubscribe links: `https://…/u/{token}`, where the token names the workspace and the
//! customer and carries an HMAC that only the workspace's secret makes.
//!
//! Token: `{workspace}.{base64url(customer id)}.{base64url(HMAC-SHA256(key, "holdfast-unsubscribe\0" workspace "\0" customer)[..16])}`.
//! The workspace is readable without the key ([`unsubscribe_workspace`]) so the server knows
//! whose secret to check it with; nothing else in it can be changed without the key. The key is
//! derived from the workspace's secret ([`unsubscribe_key`]), so the same secret can key other
//! links later without one link's key opening another's door.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of the HMAC a token keeps (128 bits).
const TAG_LEN: usize = 16;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The unsubscribe key of a workspace whose secret is `workspace_secret` (the store keeps one per
/// workspace): HMAC-SHA256(secret, "holdfast unsubscribe v1").
pub fn unsubscribe_key(workspace_secret: &str) -> Vec<u8> {
    hmac(workspace_secret.as_bytes(), &[b"holdfast unsubscribe v1"]).to_vec()
}

fn tag(secret: &[u8], workspace: i64, customer: &str) -> [u8; 32] {
    hmac(secret, &[b"holdfast-unsubscribe\0", workspace.to_string().as_bytes(), b"\0", customer.as_bytes()])
}

/// The token of the link that unsubscribes `customer` (its external id) of `workspace`.
pub fn unsubscribe_token(secret: &[u8], workspace: i64, customer: &str) -> String {
    let t = tag(secret, workspace, customer);
    format!("{workspace}.{}.{}", B64URL.encode(customer.as_bytes()), B64URL.encode(&t[..TAG_LEN]))
}

/// The whole link: `{base}/u/{token}`, `base` being the server's public URL (`https://holdfast.example.com`).
pub fn unsubscribe_url(base: &str, key: &[u8], workspace: i64, customer: &str) -> String {
    format!("{}/u/{}", base.trim_end_matches('/'), unsubscribe_token(key, workspace, customer))
}

/// The workspace a token names, unchecked: which secret to check it with.
pub fn unsubscribe_workspace(token: &str) -> Option<i64> {
    let ws = token.split('.').next()?;
    if ws.is_empty() || ws.len() > 19 || !ws.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ws.parse().ok()
}

/// The (workspace, customer) of a genuine token; `None` for anything else.
pub fn check_unsubscribe(secret: &[u8], token: &str) -> Option<(i64, String)> {
    if token.len() > 1024 {
        return None;
    }
    let mut parts = token.split('.');
    let (_, customer, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let workspace = unsubscribe_workspace(token)?;
    let customer = String::from_utf8(B64URL.decode(customer).ok()?).ok()?;
    let mac = B64URL.decode(mac).ok()?;
    let expected = tag(secret, workspace, &customer);
    if mac.len() != TAG_LEN || !bool::from(mac.ct_eq(&expected[..TAG_LEN])) {
        return None;
    }
    Some((workspace, customer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let key = unsubscribe_key("0123456789abcdef0123456789abcdef");
        let t = unsubscribe_token(&key, 7, "C-1042/ä");
        assert_eq!(check_unsubscribe(&key, &t), Some((7, "C-1042/ä".to_owned())));
        assert_eq!(unsubscribe_workspace(&t), Some(7));
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{t}");
        // Another workspace, customer, key or a cut token is refused.
        let other = unsubscribe_token(&key, 7, "C-1043");
        let forged = format!("{}.{}", t.rsplit_once('.').unwrap().0, other.rsplit_once('.').unwrap().1);
        assert_eq!(check_unsubscribe(&key, &forged), None);
        assert_eq!(check_unsubscribe(&key, &t.replacen("7.", "8.", 1)), None);
        assert_eq!(check_unsubscribe(&unsubscribe_key("another secret"), &t), None);
        assert_eq!(check_unsubscribe(&key, &t[..t.len() - 2]), None);
        assert_eq!(check_unsubscribe(&key, "x"), None);
        assert_eq!(check_unsubscribe(&key, &format!("{t}.x")), None);
        assert_eq!(unsubscribe_workspace("-1.a.b"), None);
        assert_eq!(unsubscribe_url("https://h.example/", &key, 7, "C-1042/ä"), format!("https://h.example/u/{t}"));
    }
}
