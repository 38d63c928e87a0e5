//! How much YAML aliases (`*name`) blow a document up.
//!
//! An alias repeats its anchored node, and an anchored node may hold aliases itself, so a
//! 50 KB file can stand for gigabytes ("billion laughs"): serde_yaml replays every alias
//! while it deserializes, and such a file once took 300 MB (a 500 KB one, 22 GB) before it
//! was accepted. The event pass of [`super::locate`] sees each alias once, unexpanded, so it
//! can add up what the aliases *would* expand to, cheaply, and the loader refuses the file
//! before serde_yaml ever replays them.
//!
//! Size is counted in nodes plus scalar characters: every node counts 1, a scalar also
//! counts its length. An anchored node's size includes the aliases inside it, expanded.

use std::collections::HashMap;

/// The most that aliases may add to a document, in nodes plus characters. A lab file that
/// shares an `env` map or a `resources` block between servers adds a few hundred.
pub const MAX_ALIAS_EXPANSION: u64 = 100_000;

/// Sizes of anchored nodes and the running total of what aliases add.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    /// Size of the document read so far, aliases expanded.
    total: u64,
    /// The part of `total` that aliases added.
    added: u64,
    /// Open collections: their anchor id (0 for none) and `total` when they started.
    open: Vec<(usize, u64)>,
    /// Size of each anchored node that has ended, by anchor id.
    sizes: HashMap<usize, u64>,
}

impl Expansion {
    /// A scalar of `len` bytes, anchored under id `anchor` (0: not anchored).
    pub fn scalar(&mut self, anchor: usize, len: usize) {
        let size = 1 + len as u64;
        self.total = self.total.saturating_add(size);
        if anchor != 0 {
            self.sizes.insert(anchor, size);
        }
    }

    /// A sequence or mapping starts.
    pub fn start(&mut self, anchor: usize) {
        self.open.push((anchor, self.total));
        self.total = self.total.saturating_add(1);
    }

    /// The innermost open sequence or mapping ends.
    pub fn end(&mut self) {
        if let Some((anchor, start)) = self.open.pop() {
            if anchor != 0 {
                self.sizes.insert(anchor, self.total - start);
            }
        }
    }

    /// An alias of anchor `id`; `Err` says why the document is refused.
    pub fn alias(&mut self, id: usize) -> Result<(), String> {
        let Some(&size) = self.sizes.get(&id) else {
            // The event parser resolves anchors, so an anchor without a size is still open:
            // the alias is inside the node it repeats.
            return Err(
                "this alias is inside the node it refers to; a recursive alias never ends"
                    .to_string(),
            );
        };
        self.total = self.total.saturating_add(size);
        self.added = self.added.saturating_add(size);
        if self.added > MAX_ALIAS_EXPANSION {
            return Err(format!(
                "aliases expand this file by more than {MAX_ALIAS_EXPANSION} nodes and \
                 characters (an alias bomb?); write the values out instead"
            ));
        }
        Ok(())
    }
}
