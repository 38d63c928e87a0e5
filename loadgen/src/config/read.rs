//! Reading a lab file from disk without trusting it: only a regular file, only up to
//! [`MAX_FILE_BYTES`], only UTF-8.
//!
//! `lab check /dev/zero` used to read until memory ran out, and a FIFO blocked forever in
//! `open`. So the file is opened non-blocking (opening a FIFO then returns at once), its
//! type and size are taken from the open handle (no window between checking a path and
//! opening it), and at most one byte more than the limit is read (a file that grows while it
//! is read is still caught).

use std::fs::{File, FileType, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest lab file read: the default file is 4 KB, the examples under 3 KB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a file could not be read: a one-line reason (without the file name) and its kind.
#[derive(Debug)]
pub(crate) struct ReadError {
    pub reason: String,
    pub kind: ErrorKind,
}

impl ReadError {
    fn new(kind: ErrorKind, reason: String) -> ReadError {
        ReadError { reason, kind }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> ReadError {
        ReadError::new(e.kind(), io_reason(&e))
    }
}

/// `No such file or directory (os error 2)` → `No such file or directory`.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The text of the lab file at `path`, checked as the module docs say. A UTF-8 byte order
/// mark is kept here; [`super::parse`] strips it.
pub(crate) fn lab_text(path: &Path) -> Result<String, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, not a regular file; give a YAML file",
                what(meta.file_type())
            ),
        ));
    }
    let bytes = read_at_most(file, meta.len())?;
    utf8(bytes)
}

/// Reads the whole file, refusing one larger than [`MAX_FILE_BYTES`].
fn read_at_most(file: File, len: u64) -> Result<Vec<u8>, ReadError> {
    let too_large = |len: u64| {
        ReadError::new(
            ErrorKind::InvalidData,
            format!(
                "{len} bytes is too large for a lab file (at most {MAX_FILE_BYTES} bytes, 1 MiB)"
            ),
        )
    };
    if len > MAX_FILE_BYTES {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew while being read.
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The bytes as text, or where the first byte that is not UTF-8 is.
fn utf8(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // Columns count characters, as editors do; the bytes before are valid UTF-8.
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        ReadError::new(
            ErrorKind::InvalidData,
            format!("not UTF-8 text (the first bad byte is at line {line}, column {column})"),
        )
    })
}

/// What a file that is not a regular file is, for the message.
fn what(t: FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}
