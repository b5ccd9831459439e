//! # holdfast-channels
//!
//! How a Holdfast message is rendered and delivered: the campaign templates filled with a
//! customer's fields, e-mail over SMTP, webhooks signed per Standard Webhooks, and the one-click
//! unsubscribe links every e-mail carries. The engine (`holdfast-engine`) decides *what* is sent,
//! *when* and *to whom* — triggers, the outbox and its leases, the contact budget; this crate only
//! turns one message into bytes on a wire and says how that went.
//!
//! ## Brief overview
//! - Templates ([`render`], [`check`], [`sample_context`]): minijinja, sandboxed and fuel-limited,
//!   with **strict undefined** — a field the context does not have is a [`TemplateError`] naming
//!   the line and the field (`line 3: unknown field customer.nmae`), never an empty string in a
//!   customer's inbox. The text part is the body as written; the HTML part is the same text
//!   escaped, in paragraphs, with a footer carrying the unsubscribe link ([`Rendered`]).
//!   [`TemplateCustomer`] and [`context`] build the context's one shape.
//! - E-mail ([`Email`], [`Smtp`]): lettre on tokio, pooled connections, `smtp://` (plain, for local
//!   sinks), `smtps://` (TLS) and `smtp://…?tls=required` (STARTTLS), credentials from the URL;
//!   multipart text + HTML; a [`message_id`] derived from the outbox key, the same on every retry;
//!   `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058). Every SMTP outcome is one
//!   [`Delivery`]: sent, transient (try again later), permanent (with `suppress` for a hard bounce
//!   of the recipient), or disabled.
//! - Webhooks ([`Webhook`], [`WebhookClient`], [`sign`], [`verify`], [`backoff`]): Standard
//!   Webhooks v1 (`webhook-id` = the outbox key, `webhook-timestamp`, `webhook-signature:
//!   v1,<base64 HMAC-SHA256>`, `whsec_` secrets); only 2xx is success, 410 disables the endpoint;
//!   loopback, private, link-local and unspecified addresses are refused unless allowed (every
//!   address a host resolves to is checked, and the request goes to the address checked).
//! - Unsubscribe links ([`unsubscribe_url`], [`unsubscribe_token`], [`check_unsubscribe`],
//!   [`unsubscribe_key`]): an HMAC-signed token naming the workspace and the customer, keyed by
//!   the workspace's link secret (`Store::link_secret`), checked by `holdfast serve`'s
//!   `/u/{token}`. The engine makes a link with
//!   `unsubscribe_url(base, &unsubscribe_key(&store.link_secret(ws, &fresh).await?), ws.0, customer)`.
//! - [`testing`] (feature `testing`): an SMTP sink that can inject faults and a webhook receiver
//!   that checks signatures, for this crate's and other crates' tests and benchmarks.
//!
//! Nothing here reads the wall clock to decide anything: the time a webhook is signed with is an
//! argument; lettre stamps an e-mail's `Date` header when it is sent.

mod email;
mod error;
mod render;
mod unsubscribe;
mod webhook;

#[cfg(feature = "testing")]
pub mod testing;

pub use email::{message_id, Delivery, Email, Smtp};
pub use error::ConfigError;
pub use render::{check, context, render, sample_context, Rendered, TemplateCustomer, TemplateError};
pub use unsubscribe::{check_unsubscribe, unsubscribe_key, unsubscribe_token, unsubscribe_url, unsubscribe_workspace};
pub use webhook::{backoff, is_public_address, sign, verify, Webhook, WebhookClient};
