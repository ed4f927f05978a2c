//! Frame headers (RFC 6455 §5.2): incremental decoding, encoding into a caller-owned buffer,
//! and payload masking (§5.3).
//!
//! The header codec is deliberately dumb: it decodes and encodes what is on the wire, including
//! reserved bits and opcodes. Judging a header (is this opcode allowed, must this frame be
//! masked, is it too long) belongs to [`Connection`](crate::Connection), which knows the role,
//! the negotiated extensions and the limits. That keeps this module usable for tools that want
//! to write or read deliberately broken frames.

use std::fmt;

/// The largest header: 2 fixed bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2), reserved values included so that they can be reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first (or only) frame of a text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: the close frame.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
    /// 0x3–0x7: reserved for further non-control frames.
    ReservedData(u8),
    /// 0xB–0xF: reserved for further control frames.
    ReservedControl(u8),
}

impl OpCode {
    /// The opcode for the low four bits of `bits` (the high bits are ignored).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0x0F {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            b @ 0x3..=0x7 => Self::ReservedData(b),
            b => Self::ReservedControl(b),
        }
    }

    /// The four-bit value on the wire.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
            Self::ReservedData(b) | Self::ReservedControl(b) => b & 0x0F,
        }
    }

    /// Control frames have the high bit of the opcode set (close, ping, pong, 0xB–0xF).
    pub fn is_control(self) -> bool {
        self.bits() & 0x08 != 0
    }

    /// Whether this opcode is one of the two reserved ranges.
    pub fn is_reserved(self) -> bool {
        matches!(self, Self::ReservedData(_) | Self::ReservedControl(_))
    }

    /// A short upper-case name, as an inspector shows it (`TEXT`, `CONT`, `0x3` …).
    pub fn name(self) -> &'static str {
        const RESERVED: [&str; 16] = [
            "0x0", "0x1", "0x2", "0x3", "0x4", "0x5", "0x6", "0x7", "0x8", "0x9", "0xA", "0xB",
            "0xC", "0xD", "0xE", "0xF",
        ];
        match self {
            Self::Continuation => "CONT",
            Self::Text => "TEXT",
            Self::Binary => "BINARY",
            Self::Close => "CLOSE",
            Self::Ping => "PING",
            Self::Pong => "PONG",
            Self::ReservedData(b) | Self::ReservedControl(b) => RESERVED[usize::from(b & 0x0F)],
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded or to-be-encoded frame header, exactly as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// Reserved bit 1 (permessage-deflate's "compressed" bit).
    pub rsv1: bool,
    /// Reserved bit 2.
    pub rsv2: bool,
    /// Reserved bit 3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length as the header states it.
    pub payload_len: u64,
}

/// What [`FrameHeader::decode`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete header that took this many bytes.
    Header(FrameHeader, usize),
    /// The header is incomplete: at least this many more bytes are needed.
    NeedMore(usize),
    /// A 64-bit length with its most significant bit set (RFC 6455 §5.2 forbids it).
    LengthTopBitSet,
}

impl FrameHeader {
    /// A header for an unfragmented, unmasked frame with no reserved bits.
    pub fn new(opcode: OpCode, payload_len: u64) -> Self {
        Self {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Decodes a header from the start of `buf`, reporting how many more bytes are needed if
    /// `buf` is too short. It never reads past the header.
    #[inline]
    pub fn decode(buf: &[u8]) -> Decoded {
        let [b0, b1, ..] = *buf else {
            return Decoded::NeedMore(2 - buf.len());
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Decoded::NeedMore(header_len - buf.len());
        }
        let payload_len = match ext {
            0 => u64::from(len7),
            2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(b);
                if len >> 63 != 0 {
                    return Decoded::LengthTopBitSet;
                }
                len
            }
        };
        let mask = masked.then(|| {
            let at = 2 + ext;
            [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
        });
        Decoded::Header(
            Self {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode: OpCode::from_bits(b0),
                mask,
                payload_len,
            },
            header_len,
        )
    }

    /// The number of bytes [`encode`](Self::encode) writes for this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header with the shortest length encoding, appending it to `out`.
    ///
    /// A `payload_len` with the top bit set is written as given: this codec writes whatever it
    /// is asked to, so that tools can produce invalid frames on purpose.
    #[inline]
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = self.encode_to_array(&mut buf);
        out.put_slice(&buf[..n]);
    }

    /// Encodes into a fixed array and returns the number of bytes used.
    #[inline]
    pub fn encode_to_array(&self, buf: &mut [u8; MAX_HEADER_LEN]) -> usize {
        buf[0] = u8::from(self.fin) << 7
            | u8::from(self.rsv1) << 6
            | u8::from(self.rsv2) << 5
            | u8::from(self.rsv3) << 4
            | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                // The match arm bounds `len` to 0..=125.
                buf[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                buf[1] = mask_bit | 126;
                // The match arm bounds `len` to u16.
                buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                buf[1] = mask_bit | 127;
                buf[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            buf[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

/// XORs `data` with the mask `key`, where `data` starts `offset` bytes into the payload.
///
/// Masking is its own inverse, so this both masks and unmasks. It works eight bytes at a time
/// with unaligned loads (no `unsafe`, and the loop vectorises); [`apply_mask_bytewise`] is the
/// reference it is tested against at every alignment, length and offset.
#[inline]
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let o = offset & 3;
    let key = [key[o], key[(o + 1) & 3], key[(o + 2) & 3], key[(o + 3) & 3]];
    let key64 = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ key64).to_ne_bytes());
    }
    // Chunks are a multiple of 4 bytes long, so the remainder starts at the same rotation.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The byte-at-a-time reference for [`apply_mask`].
pub fn apply_mask_bytewise(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_bytewise_at_every_alignment_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let src: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for align in 0..8 {
            for len in [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 64, 65, 200, 291] {
                for offset in 0..4 {
                    let mut a = src[align..align + len].to_vec();
                    // Copy into a buffer at a chosen alignment.
                    let mut backing = vec![0u8; len + 16];
                    let base = backing.as_ptr() as usize;
                    let shift = (8 - (base % 8) + align) % 8;
                    let b = &mut backing[shift..shift + len];
                    b.copy_from_slice(&a);
                    apply_mask_bytewise(&mut a, key, offset);
                    apply_mask(b, key, offset);
                    assert_eq!(a, b, "align {align} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn opcode_bits_round_trip() {
        for b in 0..16u8 {
            assert_eq!(OpCode::from_bits(b).bits(), b);
            assert_eq!(OpCode::from_bits(b).is_control(), b >= 8);
        }
    }

    #[test]
    fn decode_reports_how_much_more_is_needed() {
        assert_eq!(FrameHeader::decode(&[]), Decoded::NeedMore(2));
        assert_eq!(FrameHeader::decode(&[0x81]), Decoded::NeedMore(1));
        assert_eq!(FrameHeader::decode(&[0x81, 0xFE, 0]), Decoded::NeedMore(5));
        assert_eq!(FrameHeader::decode(&[0x82, 0x7F]), Decoded::NeedMore(8));
    }

    #[test]
    fn top_bit_of_64_bit_length_is_rejected() {
        let mut b = vec![0x82, 0x7F];
        b.extend_from_slice(&(1u64 << 63).to_be_bytes());
        assert_eq!(FrameHeader::decode(&b), Decoded::LengthTopBitSet);
    }
}
