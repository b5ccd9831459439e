//! # holdfast-core
//!
//! The domain of Holdfast and every descriptive computation over it. Pure: no I/O, no async, no
//! clock — the as-of instant is always an argument, so the same input gives the same numbers.
//!
//! ## Brief overview
//! - [`Money`] and [`Currency`]: integer minor units with an ISO 4217 code; never `f64`.
//! - [`Calendar`], [`Period`], [`Granularity`]: periods `[start, end)` cut in the workspace time
//!   zone; instants are `i64` seconds UTC.
//! - [`OrderLog`]: counted orders, columnar, sorted by customer then time, customers interned to
//!   `u32`. Built by [`OrderLogBuilder`] or [`OrderLog::from_columns`].
//! - [`movement`]: period movement (S, E, N, R, L, K) and the rates of `METRICS.md`.
//!
//! Reading files is `holdfast-import`'s job, storing them `holdfast-store`'s, and showing the
//! results `holdfast-report`'s. Every name follows `METRICS.md`.

pub mod actions;
pub mod baseline;
pub mod cohorts;
pub mod flags;
pub mod ltv;
pub mod money;
pub mod movement;
pub mod nbo;
pub mod order_log;
pub mod period;
pub mod repeat;
pub mod rfm;
pub mod segments;
pub mod status;
pub mod subscriptions;
pub mod worth;

pub use money::{Currency, Money};
pub use movement::{movement, Movement, MovementOptions, PeriodMovement};
pub use order_log::{cmp_order_ids, Catalog, CustomerIdx, CustomerIds, OrderLines, OrderLog, OrderLogBuilder, ProductIdx, TieBreak};
pub use period::{Calendar, Granularity, Instant, Period, DAY};
pub use status::OrderStatus;
