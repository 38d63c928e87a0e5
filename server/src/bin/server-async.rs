//! `server-async`: the lab's HTTP server, async model (a tokio task per connection).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = server::config::AsyncArgs::parse();
    server::init_logging();
    match server::model_async::main(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(cause = %err, "server-async failed");
            ExitCode::FAILURE
        }
    }
}
