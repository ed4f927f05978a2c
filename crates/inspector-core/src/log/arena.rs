//! Where kept payloads are copied: 64 KiB chunks filled in push order, freed oldest first.

use std::collections::VecDeque;

use super::store::{ARENA_CHUNK, ARENA_MAX_ITEM};

/// Where kept payloads are copied: chunks filled in push order, numbered from 0 across the
/// store's life (`chunks[0]` is number `first_chunk`).
#[derive(Debug, Default)]
pub(super) struct Arena {
    /// The chunks still referenced by kept entries, oldest first; each has a fixed capacity
    /// (it never reallocates).
    pub(super) chunks: VecDeque<Vec<u8>>,
    /// For each chunk, the global index of the last entry with a payload in it.
    pub(super) last_index: VecDeque<u64>,
    pub(super) first_chunk: u32,
    /// The number of the shared chunk being filled, if any.
    pub(super) current: Option<u32>,
    /// The allocated size of `chunks`.
    pub(super) bytes: usize,
}

impl Arena {
    /// Copies `data` for the entry with the global index `index`; returns its chunk number
    /// and offset. Empty payloads take no room.
    pub(super) fn copy(&mut self, data: &[u8], index: u64) -> (u32, u16) {
        if data.is_empty() {
            return (0, 0);
        }
        if data.len() > ARENA_MAX_ITEM {
            let number = self.push_chunk(data.to_vec(), index);
            return (number, 0);
        }
        let room = self
            .current
            .and_then(|n| self.chunk_mut(n))
            .is_some_and(|c| c.capacity() - c.len() >= data.len());
        let number = match (room, self.current) {
            (true, Some(number)) => number,
            _ => {
                let number = self.push_chunk(Vec::with_capacity(ARENA_CHUNK), index);
                self.current = Some(number);
                number
            }
        };
        let position = (number - self.first_chunk) as usize;
        self.last_index[position] = index;
        let chunk = &mut self.chunks[position];
        let offset = chunk.len();
        // Within capacity: no reallocation.
        chunk.extend_from_slice(data);
        // An offset below ARENA_CHUNK (64 KiB) fits a u16.
        (number, offset as u16)
    }

    pub(super) fn push_chunk(&mut self, chunk: Vec<u8>, index: u64) -> u32 {
        self.bytes += chunk.capacity();
        self.chunks.push_back(chunk);
        self.last_index.push_back(index);
        self.first_chunk + self.chunks.len() as u32 - 1
    }

    pub(super) fn chunk_mut(&mut self, number: u32) -> Option<&mut Vec<u8>> {
        let position = number.checked_sub(self.first_chunk)?;
        self.chunks.get_mut(position as usize)
    }

    /// The kept payload at (`chunk`, `offset`, `len`).
    pub(super) fn get(&self, chunk: u32, offset: u16, len: u32) -> &[u8] {
        if len == 0 {
            return &[];
        }
        let start = usize::from(offset);
        chunk
            .checked_sub(self.first_chunk)
            .and_then(|p| self.chunks.get(p as usize))
            .and_then(|c| c.get(start..start + len as usize))
            .unwrap_or(&[])
    }

    /// Shortens a chunk of its own (a large payload) to `len` bytes and frees the rest.
    pub(super) fn trim(&mut self, number: u32, len: usize) {
        let Some(chunk) = self.chunk_mut(number) else {
            return;
        };
        if chunk.len() <= len {
            return;
        }
        let before = chunk.capacity();
        let shorter = chunk[..len].to_vec();
        let after = shorter.capacity();
        *chunk = shorter;
        self.bytes = self.bytes - before + after;
    }

    /// Frees the chunks whose entries are all older than `first_index`, oldest first.
    pub(super) fn release(&mut self, first_index: u64) {
        while self
            .last_index
            .front()
            .is_some_and(|&last| last < first_index)
        {
            self.last_index.pop_front();
            if let Some(chunk) = self.chunks.pop_front() {
                self.bytes -= chunk.capacity();
            }
            if self.current == Some(self.first_chunk) {
                self.current = None;
            }
            self.first_chunk += 1;
        }
    }
}
