//! Configuration errors: a bad SMTP URL, webhook secret or address, found before anything is sent.

/// What is wrong with a channel's configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The SMTP URL cannot be used (`url` has its password replaced by `***`).
    #[error("{url}: {reason} (expected smtp://host:port, smtps://user:password@host:465 or smtp://user:password@host:587?tls=required)")]
    SmtpUrl { url: String, reason: String },
    /// The extra certificate authorities (`HOLDFAST_SMTP_CA`) cannot be read as PEM certificates.
    #[error("the SMTP certificate authorities: {0} (expected one or more PEM certificates, -----BEGIN CERTIFICATE-----)")]
    SmtpCa(String),
    /// A pooled transport was made outside a tokio runtime (its pool runs as a task).
    #[error("the SMTP pool needs a tokio runtime: make the transport inside one")]
    NoRuntime,
    /// A webhook secret is not `whsec_` followed by base64.
    #[error("the webhook secret is not whsec_ followed by base64: {0}")]
    Secret(String),
}

/// The URL with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((auth, host)) = rest.rsplit_once('@') {
            if let Some((user, _)) = auth.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_owned()
}
