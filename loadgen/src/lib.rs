//! The lab driver: runs `lab.yaml` experiments (server containers with CPU/memory limits,
//! ApacheBench in its own container), records every raw output, and renders reports.
//!
//! Module map, in layers that import one way (`tests/layers.rs` checks it): `record` is the
//! plain data of a run (cells, the tool-neutral measurement, the tool's own report, the
//! judgment, the route); `tool` knows each load tool's command line and turns its report
//! (parsed by `ab` and `oha`) into the measurement; `judge` computes one evidence per cell
//! and the verdict and flags from it; `run` executes a plan (with `pin` choosing CPU sets,
//! `host` describing the machine, `resources` and `metrics` reading counters), `tune`
//! searches limits, `report` renders records (and gates one run against another); `history`
//! follows rows over many runs and finds their change points; `cli` is the command line.
//! Beside them: `config` reads and checks lab files and plans the cells; `placement`
//! decides where each role runs and the one route between them; `endpoint` chooses the
//! daemon as the docker CLI does; `engine` is the seam `run`, `tune` and `cli` use to reach
//! Docker (a trait and the plain types crossing it, with an in-memory fake for tests) and
//! `docker` its implementation, the only module that talks to the Docker Engine (or
//! Podman's compatible API), with `ulimit` and `platform` deciding what that engine can
//! run; `images` gets every image a lab needs (building oha offline); `meta` is
//! `meta.json`. `shard` splits a sweep across hosts and writes job definitions for it;
//! `merge` joins the shards' run folders.

pub mod ab;
pub mod cgroup;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod config;
pub mod confirm;
pub mod docker;
pub mod endpoint;
pub mod engine;
pub mod figures;
pub mod history;
pub mod host;
pub mod images;
pub mod judge;
pub mod merge;
pub mod meta;
pub mod metrics;
pub mod oha;
pub mod pin;
pub mod placement;
pub mod platform;
pub mod progress;
pub mod record;
pub mod report;
pub mod resources;
pub mod run;
pub mod shard;
pub mod stats;
pub mod tool;
pub mod tune;
pub mod ulimit;
