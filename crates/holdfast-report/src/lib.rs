//! # holdfast-report
//!
//! Turns the results of `holdfast-core` (and, through sections, of the models and segments) into
//! what people read: one serialisable report struct (the `--json` output), aligned terminal
//! tables, and one self-contained HTML file with inline SVG charts.
//!
//! ## Brief overview
//! - [`analyze`] builds an [`AnalyzeReport`] from an `OrderLog`: source facts, headline figures,
//!   period movement, cohort tables, repeat behaviour, historical LTV and the RFM grid ([`rfm`]). It serialises with serde;
//!   [`AnalyzeReport::to_terminal`] prints it as tables.
//! - [`html::render`] writes the report as one HTML document (no external assets, no script);
//!   [`html::Page`] is the builder (cards, charts with a "how to read this" line, formula
//!   explanations, tables) and [`html::Section`] the trait another module implements to add its
//!   own part: one field on [`analyze::Sections`] and one call in [`analyze::Sections::list`].
//! - [`svg`] draws the charts by hand (line, stacked and diverging bars, heat map); [`table::Table`]
//!   prints aligned columns or an HTML table; [`format`] writes numbers for people (never NaN).
//! - [`movement_table`] and [`cohort_table`] are the tables of `holdfast movement` and
//!   `holdfast cohorts`.
//! - [`experiment`] presents a campaign's experiment (`holdfast_experiments::ExperimentReport`):
//!   terminal text, an HTML fragment with the intervals as inline SVG bars (for the dashboard),
//!   and a whole document.
//!
//! No metric is computed here beyond picking figures for the headline; every number comes from
//! `holdfast-core` as `METRICS.md` defines it. Reading files and parsing arguments is left to
//! `holdfast-import` and `holdfast-cli`.

pub mod analyze;
pub mod experiment;
pub mod format;
pub mod html;
pub mod prediction;
pub mod rfm;
pub mod segments;
pub mod svg;
pub mod table;

pub use analyze::{analyze, cohort_table, ltv_table, movement_table, AnalyzeOptions, AnalyzeReport, CohortMetric, Headline, RateFigure, Sections, Source};
pub use html::{render, render_sections, Card, Page, Section, CSS};
pub use table::Table;
