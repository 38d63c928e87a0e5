//! `lab`: see `loadgen::cli` for the commands.

fn main() {
    std::process::exit(loadgen::cli::main());
}
