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
//! - [`svg`] draws the charts by hand (line, stacked, diverging and grouped bars, heat map), each
//!   with axis titles and labels laid out inside its box; [`table::Table`] prints aligned columns
//!   or an HTML table; [`format`] writes numbers for people (never NaN).
//! - [`locale::Lang`] is the language of the report and the CLI's tables (English or Russian)
//!   and how each writes numbers, money and dates (`1,234.56` / `1 234,56 ₽`, `2026-12-05` /
//!   `05.12.2026`); [`vocab`] holds the words for core's names (segments, steps, flags).
//!   [`render_in`] and [`AnalyzeReport::to_terminal_in`] write the report in a language.
//! - The report opens with this week's list — whom to contact, why, what to do — from the
//!   action queue ([`segments::SegmentsSection`]), and "At a glance" ends in a "do this" line.
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
pub mod locale;
pub mod prediction;
pub mod rfm;
pub mod segments;
pub mod svg;
pub mod table;
pub mod vocab;

pub use analyze::{analyze, cohort_table, ltv_table, movement_table, AnalyzeOptions, AnalyzeReport, CohortMetric, Headline, RateFigure, Sections, Source};
pub use html::{render, render_in, render_sections, render_sections_in, Card, Page, Section, CSS};
pub use locale::Lang;
pub use table::Table;
