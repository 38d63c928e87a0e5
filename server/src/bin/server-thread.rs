//! `server-thread`: the lab's HTTP server, thread model (an OS thread per connection).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = server::config::ThreadArgs::parse();
    server::init_logging();
    match server::model_thread::main(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(cause = %err, "server-thread failed");
            ExitCode::FAILURE
        }
    }
}
