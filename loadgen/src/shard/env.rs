//! "Which shard am I?": from the command line, or (`--shard auto`) from the environment the
//! job engine gives each task.
//!
//! | engine                  | index                                      | count                     |
//! |-------------------------|--------------------------------------------|---------------------------|
//! | Kubernetes Indexed Job  | `JOB_COMPLETION_INDEX`                     | `--shard-count N`         |
//! | Slurm array             | `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` | `SLURM_ARRAY_TASK_COUNT` (or `--shard-count`) |
//! | anything else (a CI matrix) | `--shard i/N`                          |                           |

use super::split::Shard;

/// `--shard`: a fixed `i/N`, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

/// clap's parser for `--shard`.
pub fn parse_arg(text: &str) -> Result<ShardArg, String> {
    if text == "auto" {
        Ok(ShardArg::Auto)
    } else {
        Shard::parse(text).map(ShardArg::Fixed)
    }
}

/// The shard this process runs, if any. `--shard-count N` alone means `--shard auto`.
pub fn resolve(
    arg: Option<ShardArg>,
    count: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Shard>, String> {
    match (arg, count) {
        (None, None) => Ok(None),
        (Some(ShardArg::Fixed(s)), Some(n)) if n != s.count => Err(format!(
            "--shard {s} and --shard-count {n} disagree; give one of them"
        )),
        (Some(ShardArg::Fixed(s)), _) => Ok(Some(s)),
        (Some(ShardArg::Auto) | None, count) => from_env(count, env).map(Some),
    }
}

fn from_env(count: Option<u32>, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let number = |key: &str| -> Result<Option<u32>, String> {
        match env(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| format!("{key}={v} is not a whole number")),
        }
    };
    let (index, count) = if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = count.ok_or(
            "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the Job's completions as --shard-count N",
        )?;
        (index, count)
    } else if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id.checked_sub(min).ok_or_else(|| {
            format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}")
        })?;
        let slurm_count = number("SLURM_ARRAY_TASK_COUNT")?;
        match (slurm_count, count) {
            (Some(s), Some(n)) if s != n => {
                return Err(format!(
                    "SLURM_ARRAY_TASK_COUNT={s} but --shard-count {n}; the array must have one task per shard"
                ))
            }
            (Some(n), _) | (None, Some(n)) => (index, n),
            (None, None) => {
                return Err("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --shard-count N".into())
            }
        }
    } else {
        return Err("--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes) nor SLURM_ARRAY_TASK_ID (Slurm) is set; give --shard i/N".into());
    };
    Shard::parse(&format!("{index}/{count}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn shard(i: u32, n: u32) -> Option<Shard> {
        Some(Shard { index: i, count: n })
    }

    #[test]
    fn fixed_shards_win_and_must_agree_with_the_count() {
        let none = env_of(&[("JOB_COMPLETION_INDEX", "2")]);
        let fixed = parse_arg("1/3").unwrap();
        assert_eq!(resolve(Some(fixed), None, &none), Ok(shard(1, 3)));
        assert_eq!(resolve(Some(fixed), Some(3), &none), Ok(shard(1, 3)));
        assert!(resolve(Some(fixed), Some(4), &none)
            .unwrap_err()
            .contains("disagree"));
        assert_eq!(resolve(None, None, &none), Ok(None));
    }

    #[test]
    fn kubernetes_gives_the_index_and_the_command_line_the_count() {
        let k8s = env_of(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(resolve(None, Some(3), &k8s), Ok(shard(2, 3)));
        assert_eq!(
            resolve(Some(ShardArg::Auto), Some(3), &k8s),
            Ok(shard(2, 3))
        );
        assert!(resolve(Some(ShardArg::Auto), None, &k8s)
            .unwrap_err()
            .contains("--shard-count"));
        let e = resolve(None, Some(2), &k8s).unwrap_err();
        assert!(e.contains("numbered 0 to 1 of 2"), "{e}");
    }

    #[test]
    fn slurm_gives_both_counting_from_the_arrays_first_task() {
        let slurm = env_of(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(resolve(Some(ShardArg::Auto), None, &slurm), Ok(shard(2, 3)));
        assert!(resolve(Some(ShardArg::Auto), Some(4), &slurm)
            .unwrap_err()
            .contains("one task per shard"));
        let bad = env_of(&[("SLURM_ARRAY_TASK_ID", "x")]);
        assert_eq!(
            resolve(Some(ShardArg::Auto), None, &bad).unwrap_err(),
            "SLURM_ARRAY_TASK_ID=x is not a whole number"
        );
    }

    #[test]
    fn auto_without_an_engine_says_what_to_give() {
        let e = resolve(Some(ShardArg::Auto), None, &env_of(&[])).unwrap_err();
        assert!(
            e.starts_with("--shard auto: neither JOB_COMPLETION_INDEX"),
            "{e}"
        );
    }
}
