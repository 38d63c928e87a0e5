//! The load tool's name, as lab files and records write it. Its implementation (command
//! lines, parser) is the tool layer's (`Tool::driver` in `tool/`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The load tool of a lab file (`loadgen.tool`) and of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// ApacheBench: closed loop, single-threaded, the lab's default.
    #[default]
    Ab,
    /// oha: closed loop (`-c`, `-n`/`-z`) or open loop (`-q` with `--latency-correction`).
    Oha,
}

impl Tool {
    pub const ALL: [Tool; 2] = [Tool::Ab, Tool::Oha];

    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Ab => "ab",
            Tool::Oha => "oha",
        }
    }

    /// The tool a command line runs: its program's file name.
    pub fn of_program(program: &str) -> Option<Tool> {
        let name = program.rsplit('/').next()?;
        Tool::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
