//! `server-async`: the lab's HTTP server, async model (a tokio task per connection).

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use server::config::AsyncArgs;

fn main() -> ExitCode {
    let args = AsyncArgs::parse();
    if let Err(message) = server::model_async::workers(&args) {
        // A bad flag, as clap reports one: one line, exit 2.
        AsyncArgs::command()
            .error(clap::error::ErrorKind::ValueValidation, message)
            .exit();
    }
    server::init_logging();
    match server::model_async::main(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(cause = %err, "server-async failed");
            ExitCode::FAILURE
        }
    }
}
