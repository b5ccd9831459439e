//! `holdfast analyze` (being built).

use crate::Global;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("`holdfast analyze` is not available in this build yet")
}
