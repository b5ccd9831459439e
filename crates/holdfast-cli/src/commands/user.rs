//! `holdfast user` and `holdfast token`: setting up who may use `holdfast serve`, without a browser.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_store::{Role, Scope};
use std::io::{IsTerminal, Read};

/// People who sign in to the dashboard.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  echo 'a long passphrase' | holdfast --db sqlite://shop.db user add anna@example.com --role owner\n  holdfast --db sqlite://shop.db user list"
)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserAction {
    /// Adds a person (or sets the password and role of one who exists). The password is read from
    /// standard input when it is not a terminal, else asked for.
    Add {
        email: String,
        /// owner, manager or viewer.
        #[arg(long, value_parser = parse_role, default_value = "manager")]
        role: Role,
        /// The person's name as the dashboard shows it.
        #[arg(long)]
        name: Option<String>,
    },
    /// The people of the workspace and their roles.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// API tokens for other tools (a shop, a help desk, a mailer).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db token create --name shop --scope write\n  holdfast --db sqlite://shop.db token list\n  holdfast --db sqlite://shop.db token revoke 3"
)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenAction {
    /// Makes a token and prints it alone on standard output — once; only its hash is kept.
    Create {
        #[arg(long)]
        name: String,
        /// read or write.
        #[arg(long, value_parser = parse_scope, default_value = "read")]
        scope: Scope,
    },
    /// The workspace's tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revokes a token: requests that carry it are refused from now on.
    Revoke { id: i64 },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?}: expected owner, manager or viewer"))
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| format!("{s:?}: expected read or write"))
}

fn read_password() -> anyhow::Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (at least {} characters; shown as you type): ", holdfast_app::accounts::MIN_PASSWORD);
    }
    let mut s = String::new();
    if stdin.is_terminal() {
        stdin.read_line(&mut s)?;
    } else {
        stdin.read_to_string(&mut s)?;
    }
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

pub fn run_user(args: UserArgs, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open()?;
    // Adding a person is the one place the wall clock belongs.
    let now = chrono::Utc::now().timestamp();
    match args.action {
        UserAction::Add { email, role, name } => {
            let password = read_password()?;
            let u = s.run(holdfast_app::accounts::add_user(&app, &email, name.as_deref(), &password, role, now))?;
            print(&format!("{} is {} of workspace {:?}\n", u.email, role.as_str(), app.ws.name))
        }
        UserAction::List { json } => {
            let members = s.store(app.store.members(app.ws.id))?;
            if json {
                return print_json(&serde_json::json!({ "users": members }));
            }
            let mut t = holdfast_report::Table::new(&["E-mail", "Name", "Role"]);
            for m in &members {
                t.row(vec![m.user.email.clone(), m.user.name.clone().unwrap_or_default(), m.role.as_str().into()]);
            }
            print(&format!("{} people\n{}", members.len(), t.to_text()))
        }
    }
}

pub fn run_token(args: TokenArgs, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open()?;
    let now = chrono::Utc::now().timestamp();
    match args.action {
        TokenAction::Create { name, scope } => {
            let t = s.run(holdfast_app::accounts::create_token(&app, &name, scope, None, now))?;
            if !g.quiet {
                eprintln!("token {} ({}, {}): copy it now, it is not shown again", t.id, name.trim(), scope.as_str());
            }
            print(&format!("{}\n", t.token))
        }
        TokenAction::List { json } => {
            let tokens = s.store(app.store.tokens(app.ws.id))?;
            if json {
                return print_json(&serde_json::json!({ "tokens": tokens }));
            }
            let cal = app.calendar()?;
            let d = |t: Option<i64>| t.map(|t| cal.date(t).to_string()).unwrap_or_else(|| "–".into());
            let mut t = holdfast_report::Table::new(&["Id", "Name", "Scope", "Created", "Last used", "Revoked"]);
            for k in &tokens {
                t.row(vec![k.id.to_string(), k.name.clone(), k.scope.as_str().into(), d(Some(k.created_at)), d(k.last_used_at), d(k.revoked_at)]);
            }
            print(&format!("{} tokens\n{}", tokens.len(), t.to_text()))
        }
        TokenAction::Revoke { id } => {
            s.store(app.store.revoke_token(app.ws.id, id, now))?;
            s.store(app.store.audit(app.ws.id, now, "cli", "token.revoke", Some(&id.to_string()), None))?;
            print(&format!("token {id} is revoked\n"))
        }
    }
}
