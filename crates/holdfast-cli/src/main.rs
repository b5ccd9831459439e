//! The `holdfast` binary: parses arguments and wires the library crates together. No metric is
//! computed here; see `holdfast-core`, `holdfast-models`, `holdfast-import`, `holdfast-report`
//! and `holdfast-store`.

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

mod args;
mod commands;
mod global;
mod output;
mod progress;
mod session;
mod summary_input;
mod synth_file;

pub use global::Global;

/// Holdfast — who is staying, who is drifting away, what each customer is worth, what to do next.
#[derive(Parser, Debug)]
#[command(
    name = "holdfast",
    version,
    about,
    after_help = "Examples:\n  holdfast generate --customers 5000 --seed 1 --out orders.csv\n  holdfast analyze orders.csv --out report.html\n  holdfast movement --orders orders.csv --period month --json\n\nFor developers (in a clone of the repository, with cargo and Python):\n  holdfast bench …   benchmarks against reference tools, measured side by side (bench --help)"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The full retention report of an orders file, in one command, no database.
    Analyze(commands::analyze::Args),
    /// Period movement: start, new, reactivated, lost, kept customers and the rates.
    Movement(commands::movement::Args),
    /// Cohort tables of customers and revenue.
    Cohorts(commands::cohorts::Args),
    /// Writes a realistic synthetic orders file, deterministic by seed.
    Generate(commands::generate::Args),
    /// Fits a customer-base model (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma, sBG, BG/BB).
    Fit(commands::fit::Args),
    /// Per-customer predictions: P(alive), expected purchases, next order, CLV.
    Predict(commands::predict::Args),
    /// RFM scores, named segments, value tiers and lifecycle states.
    Segments(commands::segments::Args),
    /// The action queue: red flags turned into tasks, highest stake first.
    AtRisk(commands::at_risk::Args),
    /// Churn risk learned from the workspace's own history, with each customer's reasons.
    Risk(commands::risk::Args),
    /// Service chains and the next best offer per customer.
    NextOffers(commands::next_offers::Args),
    /// Imports a file into the store (orders, customers, events, subscriptions, feedback, notes, dates, contacts, interactions).
    Import(commands::import::Args),
    /// Recomputes the scoring snapshot in the store.
    Score(commands::score::Args),
    /// Subscription metrics: MRR, its movement, GRR and NRR.
    Mrr(commands::mrr::Args),
    /// Everything known about one customer; records notes, dates, contacts, interactions.
    Customer(commands::customer::Args),
    /// The tasks of the action queue in the store: list, done, dismiss, reopen.
    Task(commands::task::Args),
    /// Exports an entity of the store as CSV.
    Export(commands::export::Args),
    /// Writes a consistent copy of the SQLite store to a file.
    Backup(commands::backup::Args),
    /// Campaigns measured against their control groups: report, list, plan, global holdout.
    Experiment(commands::experiment::Args),
    /// Campaigns of the engine: add, list, show, pause, resume, archive, preview.
    Campaign(commands::campaign::Args),
    /// The contact budget per customer: set, show.
    Budget(commands::budget::Args),
    /// Runs the engine once: triggers at --now, the outbox, sending.
    Run(commands::run::Args),
    /// Sending settings: quiet hours, the from-address, private webhooks, a customer's time zone.
    Sending(commands::sending::Args),
    /// Webhook endpoints of campaigns: add, list, disable.
    Webhook(commands::webhook::Args),
    /// The suppression list: add, list, remove.
    Suppress(commands::suppress::Args),
    /// Benchmarks against reference tools, measured side by side (for developers: needs the
    /// repository, cargo and Python).
    #[command(hide = true)]
    Bench(commands::bench::Args),
    /// Generates a demo data set and analyses it into report.html.
    Demo(commands::demo::Args),
    /// Serves the web dashboard and the HTTP API over the store.
    Serve(commands::serve::Args),
    /// People who sign in to the dashboard: add, list.
    User(commands::user::UserArgs),
    /// API tokens for other tools: create, list, revoke.
    Token(commands::user::TokenArgs),
    /// Prints shell completions (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::Args),
    /// Prints the manual page (or writes one per command into a directory).
    Man(commands::completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(exit_code(&e))
        }
        Err(_) => {
            eprintln!("error: internal error in Holdfast (a bug); please report it with the command you ran");
            ExitCode::from(2)
        }
    }
}

/// What to type to resolve a reading error, in this command line's terms.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use holdfast_import::ReadOption;
    let option = e.chain().find_map(|c| c.downcast_ref::<holdfast_app::Error>()).and_then(|a| a.option)?;
    Some(match option {
        ReadOption::Encoding => "--encoding NAME, e.g. --encoding windows-1251",
        ReadOption::ColumnMap => "--map FIELD=HEADER names the column of a field, e.g. --map amount=Итого",
        ReadOption::DateFormat => "--date-format DD/MM/YYYY or --date-format MM/DD/YYYY",
        ReadOption::SkipBadRows => "--skip-bad-rows reads the rest and reports the rows it skipped",
    })
}

/// The exit code of an error: 1 for what the user can fix, 2 for an outage or a bug
/// (`holdfast_app::ErrorKind`); errors of the argument layer are the user's.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(app) = cause.downcast_ref::<holdfast_app::Error>() {
            return app.kind.exit_code();
        }
        if let Some(store) = cause.downcast_ref::<holdfast_store::Error>() {
            return holdfast_app::error::store_error_kind(store).exit_code();
        }
    }
    1
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Analyze(a) => commands::analyze::run(a, g),
        Command::Movement(a) => commands::movement::run(a, g),
        Command::Cohorts(a) => commands::cohorts::run(a, g),
        Command::Generate(a) => commands::generate::run(a, g),
        Command::Fit(a) => commands::fit::run(a, g),
        Command::Predict(a) => commands::predict::run(a, g),
        Command::Segments(a) => commands::segments::run(a, g),
        Command::AtRisk(a) => commands::at_risk::run(a, g),
        Command::Risk(a) => commands::risk::run(a, g),
        Command::NextOffers(a) => commands::next_offers::run(a, g),
        Command::Import(a) => commands::import::run(a, g),
        Command::Score(a) => commands::score::run(a, g),
        Command::Mrr(a) => commands::mrr::run(a, g),
        Command::Customer(a) => commands::customer::run(a, g),
        Command::Task(a) => commands::task::run(a, g),
        Command::Export(a) => commands::export::run(a, g),
        Command::Backup(a) => commands::backup::run(a, g),
        Command::Experiment(a) => commands::experiment::run(a, g),
        Command::Campaign(a) => commands::campaign::run(a, g),
        Command::Budget(a) => commands::budget::run(a, g),
        Command::Run(a) => commands::run::run(a, g),
        Command::Sending(a) => commands::sending::run(a, g),
        Command::Webhook(a) => commands::webhook::run(a, g),
        Command::Suppress(a) => commands::suppress::run(a, g),
        Command::Bench(a) => commands::bench::run(a, g),
        Command::Demo(a) => commands::demo::run(a, g),
        Command::Serve(a) => commands::serve::run(a, g),
        Command::User(a) => commands::user::run_user(a, g),
        Command::Token(a) => commands::user::run_token(a, g),
        Command::Completions(a) => commands::completions::run(a, Cli::command()),
        Command::Man(a) => commands::completions::run_man(a, Cli::command()),
    }
}
