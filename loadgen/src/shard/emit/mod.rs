//! `lab shards FILE --count N --emit FORMAT`: a ready-to-use job definition that runs every
//! shard of a sweep on an engine people already have. One small file per format behind one
//! trait, as the report formats are:
//!
//! | module         | what                                                                 |
//! |----------------|----------------------------------------------------------------------|
//! | [`kubernetes`] | an Indexed Job (and a Secret holding the lab file)                   |
//! | [`github`]     | a GitHub Actions workflow: images once, a matrix of shards, a merge  |
//! | [`slurm`]      | an `sbatch` array script, one task per shard                         |
//!
//! Each writes the same command, `lab run FILE --shard ... --output DIR`, in its engine's
//! words; the engine decides where and when each shard runs.

pub mod github;
pub mod kubernetes;
pub mod slurm;

use crate::config::Lab;

/// The formats `--emit` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Kubernetes,
    Github,
    Slurm,
}

/// What every job definition needs to know about the sweep.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub lab: &'a Lab,
    /// The lab file as the user named it (relative to `workdir`).
    pub file: String,
    /// The lab file's text (the Kubernetes Secret carries it to the pods).
    pub text: String,
    pub count: u32,
    /// Shards running at once (`None`: all of them).
    pub parallel: Option<u32>,
    /// Where each shard writes its run folder.
    pub output: String,
    /// The folder the commands run in (the repository, for the server images' build);
    /// `None`: Slurm's submit folder, the Kubernetes image's `/src/lab`.
    pub workdir: Option<String>,
    /// Pass `--no-build`: the images are already on every Docker host.
    pub no_build: bool,
    /// Kubernetes: the container image with the lab in it; GitHub: the runner label.
    pub image: Option<String>,
    /// Kubernetes: the Docker endpoint the pods use (`None`: the node's socket, mounted).
    pub docker_host: Option<String>,
}

impl Job<'_> {
    /// `lab run FILE --shard SHARD --output DIR [--no-build]`, as words.
    pub fn run_args(&self, file: &str, shard: &str) -> Vec<String> {
        let mut args = vec![
            "run".to_string(),
            file.to_string(),
            "--shard".into(),
            shard.to_string(),
            "--output".into(),
            self.output.clone(),
        ];
        if self.no_build {
            args.push("--no-build".into());
        }
        args
    }

    /// A name for the job's objects: `lab-<name>` in lowercase, `[a-z0-9-]`, at most 50.
    pub fn name(&self) -> String {
        let mut n: String = format!("lab-{}", self.lab.name)
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        n.truncate(50);
        n.trim_end_matches('-').to_string()
    }
}

/// One job definition format.
pub trait Emitter {
    fn render(&self, job: &Job<'_>) -> String;
}

/// The emitter of a format.
pub fn emitter(format: Format) -> Box<dyn Emitter> {
    match format {
        Format::Kubernetes => Box::new(kubernetes::Kubernetes),
        Format::Github => Box::new(github::Github),
        Format::Slurm => Box::new(slurm::Slurm),
    }
}

/// Quote a word for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
pub(crate) fn test_job(lab: &Lab) -> Job<'_> {
    Job {
        lab,
        file: "sweep.yaml".into(),
        text: "name: sweep\n# the lab file\n".into(),
        count: 3,
        parallel: Some(1),
        output: "results/shards".into(),
        workdir: Some("/srv/lab".into()),
        no_build: true,
        image: None,
        docker_host: None,
    }
}

#[cfg(test)]
pub(crate) fn test_lab() -> Lab {
    let yaml = "name: My_Sweep\nservers:\n  - { name: a, model: async, port: 45000 }\nresources: { cpus: 1, memory: 64m }\nloadgen: { requests: 100, concurrency: [1, 10, 20] }\nworkloads:\n  - { name: hello, path: / }\n";
    crate::config::parse(yaml, "sweep.yaml", 2).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_word("results/x-1"), "results/x-1");
        assert_eq!(shell_word("my lab.yaml"), "'my lab.yaml'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn object_names_are_kubernetes_names() {
        let lab = test_lab();
        assert_eq!(test_job(&lab).name(), "lab-my-sweep");
    }
}
