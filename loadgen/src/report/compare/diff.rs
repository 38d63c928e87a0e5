//! What differs between the two runs' setups: their lab files, and a server's limits.

use serde_json::Value;

/// Leaf-level differences of two recorded lab files, as `path: a → b` (at most 50; the
/// run's `name` and `output` aside).
pub fn config_changes(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_json("", a, b, &mut out);
    out
}

fn diff_json(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= 50 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if path.is_empty() && (k == "name" || k == "output") {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_json(
                    &p,
                    ma.get(k).unwrap_or(&Value::Null),
                    mb.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        // Lists of named things (servers, workloads) are matched by name when they can be.
        (Value::Array(la), Value::Array(lb))
            if la.len() == lb.len() && la.iter().all(|v| v.get("name").is_some()) =>
        {
            for (x, y) in la.iter().zip(lb) {
                let name = x["name"].as_str().unwrap_or("?");
                diff_json(&format!("{path}[{name}]"), x, y, out);
            }
        }
        _ => out.push(format!("{path}: {a} → {b}")),
    }
}

/// `cpus=1 memory=256m` vs `cpus=2 memory=256m` → `cpus=1→2 memory=256m`.
pub fn limits_change(a: &str, b: &str) -> String {
    if a == b {
        return a.to_string();
    }
    let ta: Vec<&str> = a.split(' ').collect();
    let tb: Vec<&str> = b.split(' ').collect();
    let same_keys = ta.len() == tb.len()
        && ta
            .iter()
            .zip(&tb)
            .all(|(x, y)| x.split('=').next() == y.split('=').next());
    if !same_keys {
        return format!("{a} → {b}");
    }
    ta.iter()
        .zip(&tb)
        .map(|(x, y)| {
            if x == y {
                x.to_string()
            } else {
                let (k, va) = x.split_once('=').unwrap_or((x, ""));
                let vb = y.split_once('=').map(|p| p.1).unwrap_or("");
                format!("{k}={va}→{vb}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_change_names_only_what_changed() {
        assert_eq!(
            limits_change(
                "cpus=1 memory=256m pids=4096",
                "cpus=2 memory=256m pids=4096"
            ),
            "cpus=1→2 memory=256m pids=4096"
        );
        assert_eq!(
            limits_change("cpus=1 memory=64m", "cpus=1 memory=64m"),
            "cpus=1 memory=64m"
        );
        assert_eq!(
            limits_change("cpus=1", "cpus=1 pids=5"),
            "cpus=1 → cpus=1 pids=5"
        );
    }

    #[test]
    fn config_diff_matches_named_lists() {
        let a = serde_json::json!({"name": "x", "servers": [{"name": "t", "resources": {"cpus": null}}], "repeat": 3});
        let b = serde_json::json!({"name": "y", "servers": [{"name": "t", "resources": {"cpus": 2.0}}], "repeat": 3});
        assert_eq!(
            config_changes(&a, &b),
            vec!["servers[t].resources.cpus: null → 2.0".to_string()]
        );
    }
}
