//! `lab compare` lives with the other reports, in [`report::compare`](crate::report::compare):
//! it renders the two runs' report models. This path is kept for callers of `loadgen::compare`.

pub use crate::report::compare::*;
