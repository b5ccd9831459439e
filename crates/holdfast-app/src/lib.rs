//! # holdfast-app
//!
//! The application layer of Holdfast: every workflow a front end runs — the CLI today, the web
//! dashboard, the HTTP API and the automation engine next — as typed functions over the library
//! crates, so no front end copies a workflow from another. Front ends parse their input, call
//! these functions and present the results; nothing here prints or knows about flags or routes.
//!
//! ## Brief overview
//! - [`App`]: an open store and its workspace ([`App::open`], [`App::open_existing`]; every front
//!   end calls [`App::close`] when done, so a SQLite file alone holds the data).
//! - [`Source`]: where orders come from — a file ([`ReadOptions`]) or the store — and
//!   [`load_orders`], one path for both; [`resolve_as_of`] and the date parsers in [`when`].
//! - Workflows: [`import_file`] / [`import_bytes`] (the same rules for a path and an upload),
//!   [`analyze_report`], [`at_risk`] with [`sync_action_queue`], [`score_workspace`],
//!   [`churn_risk`] (the learned churn risk with its reasons, `holdfast-risk`),
//!   [`predict_values`] / [`predict_summary`].
//! - [`accounts`]: people, roles, sign-in sessions, API tokens and the first-run set-up link
//!   (argon2id passwords; only hashes of secrets are stored).
//! - [`records`]: orders, events, feedback and notes sent by other tools (the HTTP API), checked
//!   field by field and written as one import.
//!   [`predict_values`] / [`predict_summary`]; experiments over campaigns' control groups
//!   ([`experiments`]: [`import_assignments`], [`experiment_report`], [`plan_experiment`],
//!   [`list_experiments`], the global holdout).
//! - [`sending`]: the engine's settings a person sets — quiet hours, the from-address, private
//!   webhooks ([`SendingSettings`], [`SendingChange`]), webhook endpoints and their secrets, the
//!   suppression list, a customer's own time zone.
//! - [`Error`] with an [`ErrorKind`] (user, not found, conflict, unavailable, internal) that the
//!   CLI maps to exit codes 1 and 2 and a web layer to 400/404/409/503/500.
//! - [`Progress`]: long work reports progress to whichever front end shows it.
//!
//! Computing metrics is `holdfast-core`'s and `holdfast-models`' job, reading files
//! `holdfast-import`'s, storing `holdfast-store`'s and presenting `holdfast-report`'s.
//! Store workflows are `async`; reading a file runs on the calling thread.

pub mod accounts;
pub mod analyze;
pub mod demo;
pub mod error;
pub mod experiments;
pub mod import;
pub mod json;
pub mod mrr;
pub mod orders;
pub mod progress;
pub mod queue;
pub mod records;
pub mod risk;
pub mod score;
pub mod sending;
pub mod timing;
pub mod value;
pub mod when;
pub mod workspace;

pub use analyze::{analyze_report, report_of_log, AnalyzeRequest, Sections};
pub use error::{Error, ErrorKind, Result};
/// Text encodings for [`ReadOptions::encoding`].
pub use holdfast_import::encoding_rs as encoding;
pub use import::{import_bytes, import_file, preview_orders, ImportReport, OrdersPreview};
pub use experiments::{experiment_report, import_assignments, list_experiments, plan_experiment, ReportRequest};
pub use orders::{load_orders, read_orders_file, Orders, ReadNotes, ReadOptions, Source};
pub use progress::{Progress, Quiet};
pub use queue::{at_risk, plan_queue, sync_action_queue, AtRisk, AtRiskOptions, ChurnRisk};
pub use risk::{churn_risk, learned_churn, RiskRequest};
pub use score::{score_workspace, ScoreReport};
pub use sending::{QuietHours, SendingChange, SendingSettings};
pub use value::{predict_summary, predict_values, ValueOptions, Values};
pub use when::{parse_date, parse_instant, parse_month, resolve_as_of};
pub use workspace::{App, DEFAULT_WORKSPACE};
