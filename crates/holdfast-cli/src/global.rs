//! Options every command accepts.

/// Options shared by all commands.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// The store: `sqlite://holdfast.db` (embedded, default) or `postgres://user@host/db`.
    #[arg(long, global = true, env = "HOLDFAST_DB", default_value = "sqlite://holdfast.db")]
    pub db: String,
    /// Hide progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Language of the report and the tables: en or ru (numbers, money and dates follow it:
    /// 1,234.56 / 1 234,56 ₽). Default: the locale — LC_ALL, LC_MESSAGES or LANG starting with
    /// ru, uk, be, bg or kk gives ru, anything else en. JSON and CSV are the same in both.
    #[arg(long, global = true, env = "HOLDFAST_LANG", value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<holdfast_report::Lang>,
}

fn parse_lang(s: &str) -> Result<holdfast_report::Lang, String> {
    s.parse()
}

impl Global {
    /// The language asked for, else the environment's locale's.
    pub fn lang(&self) -> holdfast_report::Lang {
        self.lang.unwrap_or_else(holdfast_report::Lang::from_env)
    }
}
