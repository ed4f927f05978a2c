//! `wsi`: the command line for WebSockets, over the same engine, transport and GUI-free core
//! as the inspector (its profiles, its capture format).
//!
//! - [`args`]: the command line (clap derive);
//! - [`connect`], [`listen`], [`relay`]: the three subcommands;
//! - [`client_options`]: handshake flags and profiles into connect options;
//! - [`output`] and [`verbose`]: stdout, `--jsonl` and `-v`;
//! - [`exit`]: exit statuses and error words.

mod args;
mod client_options;
mod connect;
mod exit;
mod expect;
mod listen;
mod output;
mod relay;
mod sends;
mod server_tls;
mod verbose;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command};
use crate::exit::{Failure, Status};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
        }
    });
    // Tasks still running (a stdin reader blocked in a read) must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let _: Status = status;
    status.into()
}
