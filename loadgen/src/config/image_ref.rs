//! The grammar of a Docker image reference, as Docker's `distribution/reference` defines it:
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] component ( "/" component )*
//! domain     := host [ ":" port ]          (a first part with `.` or `:`, or `localhost`)
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" [0-9a-fA-F]{32,}
//! ```
//!
//! Without it, `--privileged` as the load generator image passed `lab check` and failed the
//! run later (the Docker API took it for an option-like name and refused it mid-run).

/// Why `image` is not a reference, or `None` if it is one. The repository's case is
/// checked before this (with a better message), so components are lowercase here.
pub(crate) fn problem(image: &str) -> Option<&'static str> {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if digest.is_some_and(|d| !is_digest(d)) {
        return Some("the digest after `@` is not ALGORITHM:HEX (e.g. sha256: and 64 hex digits)");
    }
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return Some("the tag after `:` is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`");
    }
    if name.len() > 255 {
        return Some("the name is longer than 255 characters");
    }
    let path = match name.split_once('/') {
        Some((host, path)) if host.contains(['.', ':']) || host == "localhost" => {
            if !is_domain(host) {
                return Some("the registry host before the first `/` is not HOST[:PORT]");
            }
            path
        }
        _ => name,
    };
    if !path.split('/').all(is_component) {
        return Some(
            "each part of the name is lowercase letters and digits, separated by `.`, `_`, `__` \
             or dashes (no leading `-`, no `..`)",
        );
    }
    None
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `component` of the grammar.
fn is_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum(b[0] as char) || !is_alnum(b[b.len() - 1] as char) {
        return false;
    }
    // Runs of separators between alphanumerics: `.`, `_`, `__` or any number of `-`.
    s.split(is_alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, "." | "_" | "__") || sep.chars().all(|c| c == '-'))
}

fn is_tag(t: &str) -> bool {
    let mut chars = t.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && t.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn is_digest(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['+', '.', '-', '_']).all(|part| {
        let mut c = part.chars();
        matches!(c.next(), Some(f) if f.is_ascii_alphabetic())
            && c.all(|c| c.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// `host[:port]`: dot-separated labels of letters, digits and inner `-`, or `[IPv6]`.
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !v6.is_empty() && v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
    }
    host.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn references_docker_takes_pass() {
        for ok in [
            "httpd:2.4",
            "nginx",
            "lab/server-async",
            "library/nginx:stable-alpine",
            "localhost:5000/x/y:1.0",
            "registry.example.com/team/app_1__b.c--d:v1",
            "[::1]:5000/x",
            "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "lab/oha:1.16.0",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn what_is_not_a_reference_is_refused() {
        for bad in [
            "--privileged",
            "-x",
            "../x",
            "x@sha256:zz",
            "x:y:z",
            "x/",
            "/x",
            "x..y",
            "x:",
            "x:-tag",
            "host.com:port/x",
            "x@sha256",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
    }
}
