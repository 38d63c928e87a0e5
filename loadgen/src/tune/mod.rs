//! `lab tune`: the smallest CPU and memory limits at which each server still meets a target.
//!
//! For each target of the file's `tune:` section and each server, a CPU search (at the top
//! of the memory range), then a memory search at the CPU limit found plus the headroom
//! (see [`memory_search_cpus`]). Each search is the
//! pure state machine of [`search`]; each of its probes is a real cell of the lab file
//! ([`probe`]) with its own run folder under `probes/`. [`record`] keeps everything in
//! `tune.json`, rewritten after every probe; [`report`] renders `tune.md`, `tune.html` and
//! the probe charts from it, and [`snippets`] the docker-compose and Kubernetes limits.
//!
//! | module       | what                                                                 |
//! |--------------|----------------------------------------------------------------------|
//! | [`search`]   | bracket, bisect, check: which limit next (pure, unit-tested)          |
//! | [`probe`]    | a probe's lab, its run, and its judgement against the target         |
//! | [`record`]   | `tune.json`                                                           |
//! | [`answers`]  | the answer of each search in words and figures: what every format shows |
//! | [`snippets`] | docker-compose `deploy.resources.limits`, Kubernetes `resources`     |
//! | [`chart`]    | the probe chart: limit vs req/s and p99, target lines                |
//! | [`report`]   | `tune.md`, `tune.html`, and the terminal summary                     |

pub mod answers;
pub mod chart;
pub mod probe;
pub mod record;
pub mod report;
pub mod search;
pub mod snippets;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;

use crate::clock::Utc;
use crate::config::{self, Lab, ServerSource};
use crate::placement::Engines;
use crate::run::{OwnedRun, RunId};
use record::{Dimension, Phase, ProbeRecord, SearchRecord, TuneRecord};
use search::{Answer, Step};

/// The folder of a tune: `<output>/<time>-<name>-tune`, created and locked like a run's.
pub fn create_folder(lab: &Lab) -> Result<OwnedRun> {
    let mut named = lab.clone();
    named.name = format!("{}-tune", lab.name);
    OwnedRun::create(&named)
}

/// Everything a tune shares while it runs.
pub struct Tuner<'a> {
    engines: &'a Engines,
    lab: &'a Lab,
    lab_file: &'a Path,
    dir: PathBuf,
    record: TuneRecord,
    started: Instant,
    /// The probe running now, for Ctrl-C.
    current: &'a Mutex<Option<RunId>>,
}

/// Run every search of the lab file's `tune:` section in the folder `owned`.
pub async fn run(
    engines: &Engines,
    lab_file: &Path,
    lab: &Lab,
    owned: &OwnedRun,
    no_build: bool,
    current: &Mutex<Option<RunId>>,
) -> Result<TuneRecord> {
    let tune = lab
        .tune
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the lab file has no `tune:` section"))?;
    let dir = owned.id.dir.clone();
    // The lab file as tuned, minus the values marked secret (probes copy it the same way).
    config::redact::copy_lab_file(lab_file, &dir.join("lab.yaml"))?;
    // Every probe uses the load generator image resolved here (pulled or packaged once).
    let mut probe_lab = lab.clone();
    probe_lab.loadgen.image = build_images(engines, lab, no_build).await?;
    let mut t = Tuner {
        engines,
        lab: &probe_lab,
        lab_file,
        dir,
        record: TuneRecord {
            schema_version: record::SCHEMA_VERSION,
            id: owned.id.id.clone(),
            name: lab.name.clone(),
            status: "running".into(),
            started_at: Utc::now().rfc3339(),
            finished_at: None,
            elapsed_s: 0.0,
            tune,
            probes_used: 0,
            budget_note: None,
            searches: Vec::new(),
        },
        started: Instant::now(),
        current,
    };
    t.save()?;
    for target in 0..t.record.tune.targets.len() {
        for server in 0..lab.servers.len() {
            t.search(target, server).await?;
        }
    }
    t.record.status = "complete".into();
    t.record.finished_at = Some(Utc::now().rfc3339());
    t.save()?;
    report::write_all(&t.dir, &t.record)?;
    Ok(t.record)
}

/// The CPU limit the memory search runs at: the CPU answer plus the headroom (what the
/// snippets deploy), rounded up to the millicore, at most the top of the CPU range.
///
/// Why not the answer itself: it is by construction the smallest limit that just meets the
/// target, so every probe there sits at the target's edge and passes or fails with the
/// machine's noise (seen here: 389 to 445 req/s against 400 at the same limits), whatever
/// the memory. With the headroom, a memory probe fails when memory is what hurts: an OOM
/// kill, a server that cannot start, or a real drop.
pub fn memory_search_cpus(answer: f64, headroom: f64, max: f64) -> f64 {
    (snippets::millicores(answer, headroom) as f64 / 1000.0).min(max)
}

/// Mark a tune that did not complete (`interrupted`, `aborted`) and render what it has.
pub fn mark_stopped(dir: &Path, status: &str) -> Result<()> {
    let mut r = TuneRecord::load(dir)?;
    r.status = status.into();
    r.finished_at = Some(Utc::now().rfc3339());
    r.save(dir)?;
    report::write_all(dir, &r)?;
    Ok(())
}

/// The server images (on the servers' host) and the agent, built once: every probe then
/// runs with `no_build`. Returns the load generator image to use on its host (the file's,
/// or the host's ab packaged).
async fn build_images(engines: &Engines, lab: &Lab, no_build: bool) -> Result<String> {
    let (loadgen, _, source) =
        crate::images::resolve_loadgen(&*engines.loadgen, &lab.loadgen.image).await?;
    tracing::info!("load generator image: {source}");
    if no_build {
        return Ok(loadgen);
    }
    let models = lab.models();
    crate::images::build_server_images(&*engines.servers, &models).await?;
    // Building server images builds the agent with them; otherwise build it here.
    crate::images::agent_archive(!models.is_empty())?;
    Ok(loadgen)
}

impl Tuner<'_> {
    fn save(&mut self) -> Result<()> {
        self.record.elapsed_s = self.started.elapsed().as_secs_f64();
        self.record.save(&self.dir)
    }

    /// One server against one target: CPU, then memory at the CPU found.
    async fn search(&mut self, target: usize, server: usize) -> Result<()> {
        let s = &self.lab.servers[server];
        let base_cpus = s.resources.cpus.unwrap_or(self.lab.resources.cpus[0]);
        let base_memory = s.resources.memory.unwrap_or(self.lab.resources.memory[0]);
        let tune = self.record.tune.clone();
        self.record.searches.push(SearchRecord {
            server: s.name.clone(),
            model: match &s.source {
                ServerSource::Model(m) => m.as_str().to_string(),
                ServerSource::Image(i) => i.clone(),
            },
            target,
            base_cpus,
            base_memory,
            cpus: None,
            memory: None,
            memory_cpus: None,
            notes: Vec::new(),
        });
        let at = self.record.searches.len() - 1;
        let mut cpus = base_cpus;
        if let Some(range) = tune.cpus {
            let memory = tune.memory.map_or(base_memory, |m| m.max);
            let phase = Phase::new(Dimension::Cpus, range.grid());
            let phase = self.phase(at, server, phase, |c| (c, memory)).await?;
            match phase.found() {
                Some(found) => cpus = memory_search_cpus(found, tune.headroom, range.max),
                None => {
                    if tune.memory.is_some() {
                        self.record.searches[at].notes.push(
                            "memory not searched: there is no CPU limit to search it at".into(),
                        );
                    }
                    return Ok(());
                }
            }
        }
        if let Some(range) = tune.memory {
            let grid: Vec<f64> = range.grid().into_iter().map(|b| b as f64).collect();
            let phase = Phase::new(Dimension::Memory, grid);
            self.record.searches[at].memory_cpus = Some(cpus);
            self.phase(at, server, phase, |m| (cpus, m as u64)).await?;
        }
        Ok(())
    }

    /// Run one phase to its answer (or the end of the budget), saving after every probe.
    async fn phase(
        &mut self,
        at: usize,
        server: usize,
        mut phase: Phase,
        limits: impl Fn(f64) -> (f64, u64),
    ) -> Result<Phase> {
        let target_rps = self.record.target(&self.record.searches[at]).rps;
        loop {
            let history = phase.history();
            // A CPU search starts from the first probe's CPU per request (see
            // `search::next_from`); a memory search has no such guess.
            let guess = phase
                .probes
                .first()
                .filter(|_| phase.dimension == Dimension::Cpus)
                .and_then(|p| {
                    search::guess(
                        &phase.grid,
                        target_rps,
                        p.figures.server_cores,
                        p.figures.rps,
                    )
                });
            let step = search::next_from(&phase.grid, &history, guess);
            let (i, confirm_s) = match step.clone() {
                // An answer is given only once a confirmation run there passed (see
                // `probe::confirmation`); one that fails counts as a failure at that
                // limit, so the search resumes above it.
                Step::Done(Answer::Found { at: found, .. })
                    if self.record.tune.confirm_s.is_some()
                        && phase.confirmed_at(found).is_none() =>
                {
                    (found, self.record.tune.confirm_s)
                }
                Step::Done(answer) => {
                    phase.answer = Some(answer);
                    break;
                }
                Step::Probe(i) => (i, None),
            };
            if let Some(why) = self.budget_spent() {
                self.record.budget_note.get_or_insert(why);
                phase.answer = Some(match (step, confirm_s) {
                    // Found, but no budget left to confirm it: given, and said so (see
                    // `answers`).
                    (Step::Done(found), Some(_)) => found,
                    _ => search::unfinished(phase.grid.len(), &history),
                });
                break;
            }
            let (cpus, memory) = limits(phase.grid[i]);
            let probe = self.probe(at, server, i, (cpus, memory), confirm_s).await?;
            phase.probes.push(probe);
            self.store(at, &phase);
            self.save()?;
        }
        phase.non_monotonic = search::non_monotonic(phase.grid.len(), &phase.history())
            .into_iter()
            .map(|i| phase.grid[i])
            .collect();
        self.store(at, &phase);
        self.save()?;
        Ok(phase)
    }

    fn store(&mut self, at: usize, phase: &Phase) {
        let s = &mut self.record.searches[at];
        match phase.dimension {
            Dimension::Cpus => s.cpus = Some(phase.clone()),
            Dimension::Memory => s.memory = Some(phase.clone()),
        }
    }

    /// Why no further probe may start, if none may: the probe count, or the wall time (a
    /// probe is not started when the average probe so far would not fit).
    fn budget_spent(&self) -> Option<String> {
        let b = self.record.tune.budget;
        let used = self.record.probes_used;
        if used >= b.probes {
            return Some(format!("the budget of {} probes was used up", b.probes));
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_probe = if used == 0 {
            0.0
        } else {
            elapsed / f64::from(used)
        };
        if elapsed + per_probe > b.time_s {
            return Some(format!(
                "the time budget of {:.0} s would be exceeded ({elapsed:.0} s spent, {per_probe:.0} s per probe)",
                b.time_s
            ));
        }
        None
    }

    /// One probe at `(cpus, memory)`, grid index `index`; `confirm_s`: a confirmation run
    /// of that length at an answer instead of a search probe.
    async fn probe(
        &mut self,
        at: usize,
        server: usize,
        index: usize,
        (cpus, memory): (f64, u64),
        confirm_s: Option<f64>,
    ) -> Result<ProbeRecord> {
        let search = &self.record.searches[at];
        let target = self.record.target(search).clone();
        self.record.probes_used += 1;
        let number = self.record.probes_used;
        let what = match confirm_s {
            Some(s) => format!("confirmation run ({s:.0} s)"),
            None => "probe".into(),
        };
        tracing::info!(
            "{what} {number}: {} {} at cpus={cpus} memory={}",
            search.server,
            target.describe(),
            config::format_memory(memory)
        );
        let probes = self.dir.join("probes");
        let spec = probe::Spec {
            lab: self.lab,
            lab_file: self.lab_file,
            server,
            target: &target,
            cpus,
            memory,
            dir: &probes,
            number,
            confirm_s,
        };
        let started = Instant::now();
        let ran = probe::run(self.engines, &spec, self.current).await?;
        let wall_s = Some(started.elapsed().as_secs_f64());
        let failure = ran
            .results
            .server_failures
            .first()
            .map(|f| f.reason.as_str());
        let (outcome, figures) = match confirm_s {
            Some(_) => {
                probe::confirmation(&target, self.record.tune.hold, &ran.results.cells, failure)
            }
            None => probe::judge(&target, &ran.results.cells, failure),
        };
        tracing::info!("{what} {number}: {} ({})", outcome.as_str(), figures.reason);
        let dir = ran
            .dir
            .strip_prefix(&self.dir)
            .unwrap_or(&ran.dir)
            .display()
            .to_string();
        Ok(ProbeRecord {
            number,
            index,
            cpus,
            memory_bytes: memory,
            outcome,
            figures,
            dir,
            confirm_s,
            wall_s,
        })
    }
}

#[cfg(test)]
mod tests;
