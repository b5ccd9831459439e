//! `holdfast completions` and `holdfast man`: shell completions and a manual page, generated from
//! the same argument definitions the binary parses.

use crate::output::print;
use std::path::PathBuf;

/// Prints shell completions for holdfast.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Install, e.g.:\n  holdfast completions bash > ~/.local/share/bash-completion/completions/holdfast\n  holdfast completions zsh > ~/.zfunc/_holdfast      (with fpath+=~/.zfunc in .zshrc)\n  holdfast completions fish > ~/.config/fish/completions/holdfast.fish"
)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, mut cmd: clap::Command) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "holdfast", &mut out);
    print(&String::from_utf8_lossy(&out))
}

/// Writes the manual pages of holdfast (roff): one for the program, one per command.
#[derive(clap::Args, Debug)]
#[command(after_help = "Install, e.g.:\n  holdfast man --dir ~/.local/share/man/man1 && man holdfast")]
pub struct ManArgs {
    /// Write holdfast.1 and holdfast-COMMAND.1 into this directory instead of printing holdfast.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run_man(args: ManArgs, cmd: clap::Command) -> anyhow::Result<()> {
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| anyhow::anyhow!("cannot write the manual pages into {}: {e}", dir.display()))?;
            print(&format!("manual pages written to {}\n", dir.display()))
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            print(&String::from_utf8_lossy(&out))
        }
    }
}
