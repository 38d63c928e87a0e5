//! Sweeps bigger than one machine: split a plan into N shards that N host pairs run
//! independently (a CI matrix, a Kubernetes Indexed Job, a Slurm array), then join them
//! with `lab merge` (the `merge` module).
//!
//! The lab does not schedule anything itself. It only answers, deterministically, "which
//! points does shard i of N run?" ([`split`]), "which shard am I?" from the job engine's
//! environment ([`env`]), "how long will each shard take?" ([`estimate`]), and writes the
//! job definition each engine needs ([`emit`]).
//!
//! | module       | what                                                                  |
//! |--------------|-----------------------------------------------------------------------|
//! | [`split`]    | [`Shard`] (`i/N`), the points of a plan and which shard runs each       |
//! | [`env`]      | `--shard auto`: `JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`          |
//! | [`estimate`] | the wall-time model of `lab check --shard-count N`                     |
//! | [`emit`]     | `lab shards --emit kubernetes|github|slurm`                            |

pub mod emit;
pub mod env;
pub mod estimate;
pub mod split;

pub use env::{resolve, ShardArg};
pub use split::{point_id, PointRef, Shard};

/// SHA-256 of `bytes`, lowercase hex: the identity of a lab file across shards.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
