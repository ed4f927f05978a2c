//! `wsi completions SHELL` and `wsi man DIR`: shell completions (clap_complete) and man pages
//! (clap_mangen), both generated from the same clap definitions as `--help`, so they never
//! fall behind it. The Debian package runs them at build time.

use std::path::Path;

use clap::CommandFactory;

use crate::args::Cli;
use crate::exit::{Failure, Status};

/// Prints the completions for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Status {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "wsi", &mut std::io::stdout());
    Status::Ok
}

/// Writes `wsi.1` and a page per subcommand (`wsi-connect.1`, …) into `dir`.
pub fn man_pages(dir: &Path) -> Status {
    match write_pages(dir) {
        Ok(written) => {
            eprintln!("wsi: wrote {written} man pages into {}", dir.display());
            Status::Ok
        }
        Err(message) => Failure::failed(message).report(),
    }
}

fn write_pages(dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
    let command = Cli::command();
    let mut written = 0;
    let mut pages = vec![("wsi".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("wsi-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut out = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut out)
            .map_err(|e| format!("{name}.1: {e}"))?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    Ok(written)
}
