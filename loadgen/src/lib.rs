//! The lab driver: runs `lab.yaml` experiments (server containers with CPU/memory limits,
//! ApacheBench in its own container), records every raw output, and renders reports.
//!
//! Module map: `config` reads and checks lab files and plans the cells; `endpoint` chooses
//! the daemon as the docker CLI does; `docker` is the only module that talks to the Docker
//! Engine (or Podman's compatible API), with `ulimit` and `platform` deciding what that
//! engine can run; `images` gets the images a lab needs; `runner`
//! executes a plan, with `pin` choosing CPU sets and `host` describing the machine; `tool` is the one place that knows each load tool's command line (ab, oha), `ab` and `oha` parse their outputs, `oha_image` builds oha offline; `resources` and `flags` turn stats into
//! evidence; `results` is the on-disk record; `report` renders it; `cli` is the command line.

pub mod ab;
pub mod cgroup;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod config;
pub mod docker;
pub mod endpoint;
pub mod host;
pub mod images;
pub mod judge;
pub mod meta;
pub mod metrics;
pub mod oha;
pub mod oha_image;
pub mod pin;
pub mod placement;
pub mod platform;
pub mod progress;
pub mod record;
pub mod report;
pub mod resources;
pub mod run;
pub mod stats;
pub mod tool;
pub mod tune;
pub mod ulimit;
