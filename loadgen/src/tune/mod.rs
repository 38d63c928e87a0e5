//! `lab tune`: the smallest CPU and memory limits at which each server still meets a target.
pub mod search;
pub mod probe;
