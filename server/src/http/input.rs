//! The input buffer of one connection: bytes read, not yet parsed.
//!
//! It only ever holds request heads (bodies are dropped as they arrive, see
//! [`super::Connection`]), so its size is bounded by the header limit plus one read.

/// Smallest free space offered to a read; below it the buffer is compacted or grown.
const MIN_READ: usize = 2048;
/// Initial size; a buffer grown past `SHRINK_ABOVE` is shrunk back once empty.
const INITIAL: usize = 4096;
const SHRINK_ABOVE: usize = 16 * 1024;

#[derive(Debug)]
pub(crate) struct Input {
    /// Unparsed bytes are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The buffer never grows past this: a head longer than the header limit is refused
    /// (431) before it needs more room.
    max_len: usize,
}

impl Input {
    pub(crate) fn new(max_header_bytes: usize) -> Input {
        Input {
            buf: vec![0; INITIAL],
            start: 0,
            end: 0,
            max_len: max_header_bytes.saturating_add(MIN_READ).max(INITIAL),
        }
    }

    /// The unparsed bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drop the first `n` unparsed bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
    }

    /// Drop every unparsed byte.
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        if self.buf.len() > SHRINK_ABOVE {
            self.buf = vec![0; INITIAL];
        }
    }

    /// Free space to read into (at least [`MIN_READ`] bytes); then call [`Input::filled`].
    pub(crate) fn read_buf(&mut self) -> &mut [u8] {
        if self.buf.len() - self.end < MIN_READ {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < MIN_READ {
                let grown = (self.buf.len() * 2).min(self.max_len);
                self.buf.resize(grown.max(self.end + MIN_READ), 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Record that `n` bytes were read into [`Input::read_buf`].
    pub(crate) fn filled(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.buf.len());
        self.end += n;
    }

    /// Bytes allocated (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(input: &mut Input, bytes: &[u8]) {
        let buf = input.read_buf();
        buf[..bytes.len()].copy_from_slice(bytes);
        input.filled(bytes.len());
    }

    #[test]
    fn compacts_before_growing_and_stays_bounded() {
        let mut input = Input::new(8192);
        push(&mut input, &[b'a'; 3000]);
        input.consume(2500);
        // 500 bytes left at offset 2500: compacted, not grown.
        assert!(input.read_buf().len() >= MIN_READ);
        assert_eq!(input.capacity(), INITIAL);
        assert_eq!(input.data(), &[b'a'; 500][..]);
        // Read as the connection does: only while the data is within the header limit.
        while input.len() <= 8192 {
            let n = input.read_buf().len().min(1000);
            push(&mut input, &vec![b'b'; n]);
        }
        assert!(input.capacity() <= 8192 + MIN_READ);
        input.clear();
        assert!(input.is_empty());
    }
}
