//! What Docker, ab and the file system accept, as plain functions of one value: each
//! returns the message for a value they would refuse at run time, or `None`.
//!
//! [`super::validate`] calls them under the path of the field, so that `lab check` refuses
//! what would otherwise only fail minutes into a run.

use std::ops::Range;
use std::path::Path;

/// Longest user text quoted in a message.
const MAX_QUOTE: usize = 60;

/// User text for a one-line message: in backticks, control characters escaped (a newline in
/// a name must not break the line), cut after [`MAX_QUOTE`] characters.
pub fn quote(text: &str) -> String {
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTE {
            out.push('…');
            break;
        }
        out.push_str(&shown(c));
    }
    out.push('`');
    out
}

/// A character as a message shows it: itself, or escaped if it is a control character
/// (`\0`, `\t`, `\u{1}`).
pub fn shown(c: char) -> String {
    if c.is_control() {
        c.escape_debug().to_string()
    } else {
        c.to_string()
    }
}

/// A character named for a message: `' '` → `a space`, `'\t'` → `the control character '\t'`.
fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        c if c.is_control() => format!("the control character '{}'", shown(c)),
        c => format!("'{c}'"),
    }
}

/// A request path goes into the URL ab is given: `/` then visible ASCII only.
pub fn url_path_problem(path: &str, example: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "{} does not start with \"/\"; give the request path, e.g. {example}",
            quote(path)
        ));
    }
    let c = path.chars().find(|c| !c.is_ascii_graphic())?;
    let mut utf8 = [0; 4];
    let encoded: String = c
        .encode_utf8(&mut utf8)
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    Some(format!(
        "{} contains {}; a path goes into a URL, so only visible ASCII is allowed: \
         percent-encode the rest ({encoded})",
        quote(path),
        describe_char(c)
    ))
}

/// A Docker image reference: ASCII without spaces or control characters, and a lowercase
/// repository (`Nginx` is refused by Docker; a registry host or tag may have capitals).
pub fn image_problem(image: &str) -> Option<String> {
    if image.trim().is_empty() {
        return Some("the image is empty; name an image such as \"httpd:2.4\"".to_string());
    }
    if let Some(c) = image.chars().find(|c| !c.is_ascii_graphic()) {
        return Some(format!(
            "{} is not an image reference (it contains {})",
            quote(image),
            describe_char(c)
        ));
    }
    let repo = repository(image);
    if image[repo.clone()].chars().any(|c| c.is_ascii_uppercase()) {
        let lower = format!(
            "{}{}{}",
            &image[..repo.start],
            image[repo.clone()].to_ascii_lowercase(),
            &image[repo.end..]
        );
        return Some(format!(
            "{} is not an image reference: Docker repository names are lowercase (`{lower}`)",
            quote(image)
        ));
    }
    super::image_ref::problem(image).map(|why| {
        format!(
            "{} is not an image reference ([host[:port]/]name[:tag][@digest]): {why}",
            quote(image)
        )
    })
}

/// Where the repository is in an image reference `[host[:port]/]repository[:tag][@digest]`.
/// The first component is a registry host when it has a `.` or `:` or is `localhost`.
/// (Docker also takes a first component with capitals for a host, so `Library/Nginx` would
/// be pulled from a host named `Library`; here it is a repository with capitals, which is
/// what its author meant.)
fn repository(image: &str) -> Range<usize> {
    let name = image.split('@').next().unwrap_or(image);
    let end = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => i,
        _ => name.len(),
    };
    let start = match name[..end].split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => host.len() + 1,
        _ => 0,
    };
    start..end
}

/// The output folder: printable, and not an existing file (nor below one), because every
/// run creates a folder in it.
pub fn output_problem(output: &str) -> Option<String> {
    if output.trim().is_empty() {
        return Some("the folder is empty; use e.g. `results`".to_string());
    }
    if let Some(c) = output.chars().find(|c| c.is_control()) {
        return Some(format!(
            "{} contains {}; name a folder",
            quote(output),
            describe_char(c)
        ));
    }
    // The nearest part of the path that exists must be a folder.
    let existing = Path::new(output)
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))?;
    match existing {
        (_, meta) if meta.is_dir() => None,
        (p, _) if p == Path::new(output) => Some(format!(
            "{} exists and is not a folder; name a folder (it gets one subfolder per run)",
            quote(output)
        )),
        (p, _) => Some(format!(
            "{} is not a folder, so {} cannot be created in it",
            quote(&p.display().to_string()),
            quote(output)
        )),
    }
}

/// An argument or environment value: the kernel takes C strings, which end at a NUL.
pub fn process_text_problem(text: &str, what: &str) -> Option<String> {
    text.contains('\0').then(|| {
        format!(
            "{} contains a NUL character, which {what} cannot hold",
            quote(text)
        )
    })
}
