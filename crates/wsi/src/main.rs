//! `wsi`: the command line for WebSockets, over the same engine, transport and GUI-free core
//! as the inspector (its profiles, its capture format).
//!
//! - [`args`]: the command line (clap derive);
//! - [`connect`], [`listen`], [`relay`]: a client, a server, a relay;
//! - [`replay`], [`serve`], [`convert`]: captures sent again, served, converted
//!   ([`capture_file`] reads them);
//! - [`client_options`]: handshake flags and profiles into connect options;
//! - [`output`] and [`verbose`]: stdout, `--jsonl` and `-v`;
//! - [`exit`]: exit statuses and error words.

mod args;
mod capture_file;
mod client_options;
mod connect;
mod convert;
mod decoding;
mod exit;
mod expect;
mod listen;
mod manual;
mod output;
mod relay;
mod replay;
mod sends;
mod serve;
mod server_tls;
mod tasks;
mod verbose;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command};
use crate::exit::{Failure, Status};

/// The version `--version` shows: the package's, with the git revision it was built from
/// when built from a git checkout (`build.rs`).
pub const VERSION: &str = match option_env!("WSI_GIT_REVISION") {
    Some(_) => concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("WSI_GIT_REVISION"),
        ")"
    ),
    None => env!("CARGO_PKG_VERSION"),
};

fn main() -> ExitCode {
    // Before any thread exists: freed message buffers are reused, not given back to the
    // system after each one (page faults cost a logging relay a third of its rate at 64 KiB).
    ws_inspector_core::memory::keep_freed_memory();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The two that need no network: no runtime.
    match &cli.command {
        Command::Completions(args) => return manual::completions(args.shell).into(),
        Command::Man(args) => return manual::man_pages(&args.dir).into(),
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Failure::failed(format!("cannot start the runtime: {e}"))
                .report()
                .into();
        }
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Connect(args) => {
                let sends = match matches
                    .subcommand_matches("connect")
                    .map(sends::in_order)
                    .unwrap_or(Ok(Vec::new()))
                {
                    Ok(sends) => sends,
                    Err(failure) => return failure.report(),
                };
                connect::run(args, sends).await
            }
            Command::Listen(args) => listen::run(args).await,
            Command::Relay(args) => relay::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Convert(args) => convert::run(&args),
            Command::Completions(_) | Command::Man(_) => Status::Ok,
        }
    });
    // Tasks still running (a stdin reader blocked in a read) must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let _: Status = status;
    status.into()
}
