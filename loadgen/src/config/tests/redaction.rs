//! The copy of the lab file: secrets replaced by position, and the copy is the same lab
//! apart from them, however the secrets are written.

use super::super::env::REDACTED;
use super::super::redact::{redact, redacted_copy, NOT_COPIED};
use super::*;

/// A lab whose servers are written in block style, `env` given per server.
fn lab_env(async_env: &str, thread_env: &str) -> String {
    format!(
        "name: t\nservers:\n  - name: a\n    model: async\n    port: 45000\n    env:\n{async_env}\n  \
         - name: b\n    model: thread\n    port: 46000\n    env:\n{thread_env}\n\
         resources: {{ cpus: [0.5, 1], memory: 100m }}\n\
         loadgen: {{ requests: 1000, concurrency: [10, 100] }}\nworkloads:\n{ONE_WORKLOAD}\n"
    )
}

/// Redacts `text` and checks what the copy must be: the same lab as `text` except that each
/// secret reads `<secret>`; `secrets` are the values `text` gives them, none of which (nor
/// any of `raw`, how they are written) is left in the copy.
#[track_caller]
fn assert_redacted(text: &str, secrets: &[(&str, &str)], raw: &[&str]) -> String {
    let copy = redact(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let before = ok(text);
    let after = ok(&copy);
    // Everything but the secret values: results.json's view of the lab shows `<secret>`.
    assert_eq!(
        serde_json::to_value(&before).unwrap(),
        serde_json::to_value(&after).unwrap(),
        "the copy is another lab:\n{copy}"
    );
    let values = |lab: &Lab| -> Vec<(String, String, bool)> {
        lab.servers
            .iter()
            .flat_map(|s| s.env.iter())
            .map(|(k, v)| (k.clone(), v.value.clone(), v.secret))
            .collect()
    };
    for (key, value) in secrets {
        let find = |lab: &Lab| {
            values(lab)
                .into_iter()
                .filter(|(k, _, _)| k == key)
                .collect::<Vec<_>>()
        };
        for (_, v, secret) in find(&before) {
            assert_eq!(
                (v.as_str(), secret),
                (*value, true),
                "{key} in the original"
            );
        }
        for (_, v, secret) in find(&after) {
            assert_eq!((v.as_str(), secret), (REDACTED, true), "{key} in the copy");
        }
    }
    for r in raw {
        assert!(!copy.contains(r), "{r:?} is still in the copy:\n{copy}");
    }
    copy
}

#[test]
fn escaped_single_quoted_and_multi_line_quoted_secrets_are_replaced() {
    let text = lab_env(
        "      ESC: { secret: \"Esc\\x41ped\" }\n      QUOTE: { secret: 'it''s here' }",
        "      MULTI: { secret: \"first\n        second\" }\n      PLAIN: warn",
    );
    let copy = assert_redacted(
        &text,
        &[
            ("ESC", "EscAped"),
            ("QUOTE", "it's here"),
            ("MULTI", "first second"),
        ],
        &["Esc", "it''s", "first", "second"],
    );
    assert!(copy.contains("PLAIN: warn"), "{copy}");
    assert_eq!(copy.matches("\"<secret>\"").count(), 3, "{copy}");
}

#[test]
fn folded_and_literal_block_secrets_are_replaced_with_their_comments_kept() {
    let text = lab_env(
        "      FOLDED:\n        secret: >\n          folded\n          lines\n\n      # a comment after the block\n      NEXT: x",
        "      LITERAL:\n        secret: |- # why\n          line one\n            # not a comment\n          line three\n      OTHER: y",
    );
    let copy = assert_redacted(
        &text,
        &[
            ("FOLDED", "folded lines\n"),
            ("LITERAL", "line one\n  # not a comment\nline three"),
        ],
        &["folded", "line one", "not a comment", "line three", "# why"],
    );
    assert!(copy.contains("# a comment after the block"), "{copy}");
}

#[test]
fn a_short_secret_leaves_equal_text_elsewhere_alone() {
    // `0` is in the port, the cpus and the requests; only the secret goes.
    let text = lab_env(
        "      ZERO: { secret: \"0\" }",
        "      ONE: { secret: 0 } # note",
    );
    let copy = assert_redacted(&text, &[("ZERO", "0"), ("ONE", "0")], &[]);
    for kept in [
        "port: 45000",
        "port: 46000",
        "[0.5, 1]",
        "requests: 1000",
        "# note",
    ] {
        assert!(copy.contains(kept), "{kept} changed:\n{copy}");
    }
    // The copy differs from the file by the two secrets only.
    assert_eq!(
        copy,
        text.replace("{ secret: \"0\" }", "{ secret: \"<secret>\" }")
            .replace("{ secret: 0 }", "{ secret: \"<secret>\" }")
    );
}

#[test]
fn anchored_tagged_and_shared_secrets_are_replaced_at_their_anchor() {
    let text = lab_env(
        "      TOK: { secret: &tok !!str s3cr3t-anchored }\n      NUM: { secret: 12345 }",
        "      TOK: { secret: *tok }",
    );
    let copy = assert_redacted(
        &text,
        &[("TOK", "s3cr3t-anchored"), ("NUM", "12345")],
        &["s3cr3t", "12345"],
    );
    assert!(copy.contains("&tok !!str \"<secret>\""), "{copy}");
    // A whole env map shared by an alias is redacted where it is written.
    let shared = lab_env("      &e { K: { secret: shared-value } }", "      *e")
        .replace("    env:\n      &e", "    env: &e")
        .replace("    env:\n      *e", "    env: *e");
    assert_redacted(&shared, &[("K", "shared-value")], &["shared-value"]);
}

#[test]
fn a_variable_named_secret_and_a_byte_order_mark_are_left_alone() {
    let text = format!(
        "\u{feff}{}",
        lab_env("      secret: not-a-secret", "      X: { secret: 'x' }")
    );
    let copy = assert_redacted(&text, &[("X", "x")], &["'x'"]);
    assert!(copy.starts_with('\u{feff}'));
    assert!(copy.contains("secret: not-a-secret"), "{copy}");
}

#[test]
fn a_secret_anchor_shared_with_another_field_is_not_copied_at_all() {
    // Replacing the anchored scalar would change the name too: no copy, only a note.
    let text =
        lab_env("      X: { secret: *n }", "      Y: z").replacen("name: t\n", "name: &n t\n", 1);
    assert!(ok(&text).servers[0].env["X"].secret);
    assert!(redact(&text).is_err());
    assert_eq!(redacted_copy(&text), NOT_COPIED);
}

#[test]
fn a_file_without_secrets_is_copied_byte_for_byte() {
    assert_eq!(redact(DEFAULT_LAB).unwrap(), DEFAULT_LAB);
}

#[test]
fn an_error_about_a_secret_value_does_not_quote_it() {
    let e = err(&lab_env("      X: { secret: \"tok\\0en\" }", "      Y: z"));
    assert!(e.message.contains("secret value contains a NUL"), "{e}");
    assert!(!e.to_string().contains("tok"), "{e}");
    // A plain value is quoted, as before.
    let e = err(&lab_env("      X: \"tok\\0en\"", "      Y: z"));
    assert!(e.to_string().contains("tok"), "{e}");
}
