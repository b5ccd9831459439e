//! # holdfast-experiments
//!
//! The statistics that prove — or fail to prove — that a retention campaign worked: each
//! campaign's treated customers against a control group that got nothing, with confidence
//! intervals, instead of the "revenue attributed" figure mailers print. Pure: no I/O, no async,
//! no clock; the same outcomes and seed always give the same report. Definitions: `METRICS.md`,
//! "Experiments".
//!
//! ## Brief overview
//! - [`analyse`] turns each assigned customer's outcomes ([`Unit`]: orders, revenue, pre-period
//!   revenue, retention, cost) and the [`Design`] (groups, planned split, window, margin, whether
//!   the window has closed) into an [`ExperimentReport`]: per group n and means; per comparison
//!   the difference treated − control of conversion, revenue and orders with Welch's interval,
//!   a seeded percentile bootstrap for revenue and CUPED — the verdict uses the hull of the Welch and bootstrap intervals of revenue ([`report::decision_interval`]);
//!   incremental revenue and profit, ROI with its interval, the naive "revenue attributed"; the
//!   sample-ratio check, Holm's correction for several variants, the "not final" flag and the
//!   verdict sentence in English and Russian ([`verdict`]).
//! - The pieces, each usable alone: [`stats`] (moments, [`welch`], t/normal/χ² quantiles),
//!   [`bootstrap`] ([`bootstrap_diff`]), [`cuped`](mod@cuped), [`srm`](mod@srm) ([`SRM_ALPHA`] = 0.001),
//!   [`mde`](mod@mde) (the minimum detectable effect and [`Plan`], before a campaign starts),
//!   [`holm`](mod@holm), and [`bucket`](mod@bucket) (a customer's stable bucket of 10,000 for holdouts and
//!   splits, and the workspace-wide [`in_global_holdout`]).
//!
//! Reading assignments and orders is `holdfast-app`'s and `holdfast-store`'s job, drawing the
//! report `holdfast-report`'s.

pub mod bootstrap;
pub mod bucket;
pub mod cuped;
pub mod holm;
pub mod mde;
pub mod report;
pub mod srm;
pub mod stats;
pub mod verdict;

pub use bootstrap::{bootstrap_diff, Bootstrap, BootstrapOptions};
pub use bucket::{assign, bucket, in_global_holdout, Share, BUCKETS, GLOBAL_HOLDOUT_SALT};
pub use cuped::{cuped, Cuped};
pub use holm::holm;
pub use mde::{mde, plan, Plan};
pub use report::{
    analyse, is_control, Comparison, CupedSummary, Design, Effect, ExperimentError, ExperimentReport, GroupSummary, Incremental, Options, Roi, Status, Unit,
    Verdict, LEVEL,
};
pub use srm::{srm, Srm, SRM_ALPHA};
pub use stats::{welch, Interval, Moments, Welch};
