//! Figures read back from a record must be ones a measurement can produce.
//!
//! `results.json` and `tune.json` are files a user can edit (or a full disk can cut short),
//! and the reports draw what they hold: a connect mean of 1.7e308 made a chart's log axis
//! look for tick marks forever (100% CPU, no report). So every number of a record is
//! checked when the record is read, and the first implausible one is named.

use serde_json::Value;

/// No figure of a lab record comes near this: 1e15 bytes is a petabyte, 1e15 ms is 31,000
/// years, 1e15 req/s is a billion times what one server core answers.
pub const MAX_FIGURE: f64 = 1e15;

/// The path (`cells[3].ab.connection_times.connect.mean`) and value of the first number in
/// `v` that is not finite or whose magnitude is above [`MAX_FIGURE`].
pub fn implausible(v: &Value) -> Option<(String, f64)> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64()?;
            (!x.is_finite() || x.abs() > MAX_FIGURE).then(|| (String::new(), x))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| implausible(item).map(|(path, x)| (format!("[{i}]{path}"), x))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            implausible(item).map(|(path, x)| (format!(".{key}{path}"), x))
        }),
        _ => None,
    }
}

/// `Err` naming the first implausible figure of the record `text` (read from `file`).
pub fn check(text: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        // Not JSON: the typed read that follows says so.
        return Ok(());
    };
    match implausible(&v) {
        None => Ok(()),
        Some((path, x)) => anyhow::bail!(
            "{}: {}: {x:e} is not a figure a run can produce (at most {MAX_FIGURE:e}); \
             the file was edited or damaged",
            file.display(),
            path.trim_start_matches('.')
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_implausible_figure_is_named_by_its_path() {
        let v: Value = serde_json::from_str(
            r#"{"cells": [{"a": 1.5}, {"ab": {"mean": 1.7e308, "n": 3}}], "x": -2e15}"#,
        )
        .unwrap();
        let (path, x) = implausible(&v).unwrap();
        assert_eq!((path.as_str(), x), (".cells[1].ab.mean", 1.7e308));
        let fine: Value = serde_json::from_str(r#"{"a": [1e15, -1e15, 0, 268435456]}"#).unwrap();
        assert_eq!(implausible(&fine), None);
    }
}
