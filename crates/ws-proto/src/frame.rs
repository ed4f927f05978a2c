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
    ///
    /// The common header — a 7-bit length, masked or not — is decoded inline from the first
    /// two bytes and, when masked, the four that follow; extended lengths take
    /// a separate function, so that this one stays
    /// small enough to inline into a receive loop. Both give the same answer for every input
    /// (tested exhaustively over the first two bytes and every truncation).
    #[inline]
    pub fn decode(buf: &[u8]) -> Decoded {
        if let [b0, b1, rest @ ..] = buf {
            let len7 = b1 & 0x7F;
            if len7 < 126 {
                let (mask, header_len) = if b1 & 0x80 == 0 {
                    (None, 2)
                } else if let Some(key) = rest.first_chunk::<4>() {
                    (Some(*key), 6)
                } else {
                    return Decoded::NeedMore(4 - rest.len());
                };
                return Decoded::Header(Self::from_parts(*b0, mask, u64::from(len7)), header_len);
            }
        }
        Self::decode_extended(buf)
    }

    /// The general decoder, for any header, including the 16- and 64-bit length forms and a
    /// `buf` shorter than two bytes.
    fn decode_extended(buf: &[u8]) -> Decoded {
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
        let Some(header) = buf.get(..header_len) else {
            return Decoded::NeedMore(header_len - buf.len());
        };
        let (len_bytes, key_bytes) = header[2..].split_at(ext);
        let payload_len = match *len_bytes {
            [] => u64::from(len7),
            [a, b] => u64::from(u16::from_be_bytes([a, b])),
            [a, b, c, d, e, f, g, h] => {
                let len = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
                if len >> 63 != 0 {
                    return Decoded::LengthTopBitSet;
                }
                len
            }
            // `ext` is 0, 2 or 8.
            _ => unreachable!("extended length of {ext} bytes"),
        };
        let mask = key_bytes.first_chunk::<4>().copied();
        Decoded::Header(Self::from_parts(b0, mask, payload_len), header_len)
    }

    /// A header from its first byte (FIN, RSV1–3, opcode), mask key and payload length.
    #[inline]
    fn from_parts(b0: u8, mask: Option<[u8; 4]>, payload_len: u64) -> Self {
        Self {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: OpCode::from_bits(b0),
            mask,
            payload_len,
        }
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
/// (no `unsafe`; the compiler vectorises the loop), then at most one 4-byte word and three
/// single bytes; [`apply_mask_bytewise`] is the reference it is tested
/// against at every alignment, length and offset.
#[inline]
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as it lines up with `data[0]`: byte `i` of `key32` masks `data[i]`.
    // `offset & 3` is below 4, so the cast is exact.
    let shift = 8 * (offset & 3) as u32;
    let key32 = if cfg!(target_endian = "little") {
        u32::from_ne_bytes(key).rotate_right(shift)
    } else {
        u32::from_ne_bytes(key).rotate_left(shift)
    };
    let key64 = u64::from(key32) << 32 | u64::from(key32);
    let (words, rest) = data.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ key64).to_ne_bytes();
    }
    // What is left is under 8 bytes: at most one 4-byte word and three bytes. Words are a
    // multiple of 4 bytes long, so the rest starts at the same rotation of the key.
    let (words, rest) = rest.as_chunks_mut::<4>();
    for word in words {
        *word = (u32::from_ne_bytes(*word) ^ key32).to_ne_bytes();
    }
    for (b, k) in rest.iter_mut().zip(key32.to_ne_bytes()) {
        *b ^= k;
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
    use proptest::prelude::*;

    use super::*;

    /// The decoder as first written, byte by byte, kept as the reference for [`FrameHeader::decode`].
    fn reference_decode(buf: &[u8]) -> Decoded {
        if buf.len() < 2 {
            return Decoded::NeedMore(2 - buf.len());
        }
        let (b0, b1) = (buf[0], buf[1]);
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
        let mut payload_len = u64::from(len7);
        if ext > 0 {
            payload_len = buf[2..2 + ext]
                .iter()
                .fold(0, |n, &b| n << 8 | u64::from(b));
        }
        if payload_len >> 63 != 0 {
            return Decoded::LengthTopBitSet;
        }
        let mask = masked.then(|| {
            let at = 2 + ext;
            [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
        });
        Decoded::Header(
            FrameHeader {
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

    #[test]
    fn decode_equals_reference_for_every_first_two_bytes_and_every_truncation() {
        // The bytes after the first two select the extended length and key: the top bit of the
        // 64-bit length is set for half of the `rest` patterns.
        for rest in [
            [0u8; 12],
            [0xFF; 12],
            [0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        ] {
            for b0 in 0..=255u8 {
                for b1 in 0..=255u8 {
                    let mut buf = [0u8; 16];
                    buf[0] = b0;
                    buf[1] = b1;
                    buf[2..14].copy_from_slice(&rest);
                    for len in 0..=buf.len() {
                        assert_eq!(
                            FrameHeader::decode(&buf[..len]),
                            reference_decode(&buf[..len]),
                            "{:02x?}",
                            &buf[..len]
                        );
                    }
                }
            }
        }
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        (
            any::<u8>(),
            proptest::option::of(any::<[u8; 4]>()),
            prop_oneof![
                0..=125u64,
                126..=0xFFFFu64,
                0x1_0000..=u64::MAX >> 1,
                Just(125u64),
                Just(126u64),
                Just(0xFFFFu64),
                Just(0x1_0000u64),
            ],
        )
            .prop_map(|(b0, mask, payload_len)| FrameHeader::from_parts(b0, mask, payload_len))
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity_and_every_prefix_needs_the_rest(
            h in any_header(),
            trailing in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut wire = Vec::new();
            h.encode(&mut wire);
            prop_assert_eq!(wire.len(), h.encoded_len());
            let n = wire.len();
            wire.extend_from_slice(&trailing);
            prop_assert_eq!(FrameHeader::decode(&wire), Decoded::Header(h, n));
            for cut in 0..n {
                prop_assert_eq!(FrameHeader::decode(&wire[..cut]), reference_decode(&wire[..cut]));
                prop_assert!(matches!(
                    FrameHeader::decode(&wire[..cut]),
                    Decoded::NeedMore(m) if m > 0 && m <= n - cut
                ));
            }
        }

        #[test]
        fn decode_equals_reference_on_arbitrary_bytes(
            buf in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            prop_assert_eq!(FrameHeader::decode(&buf), reference_decode(&buf));
        }

        #[test]
        fn mask_matches_bytewise_on_arbitrary_input(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            key in any::<[u8; 4]>(),
            offset in any::<usize>(),
            start in 0..8usize,
        ) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data;
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_bytewise(&mut slow[start..], key, offset);
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn mask_matches_bytewise_at_every_alignment_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let src: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for align in 0..8 {
            for len in (0..=70).chain([127, 128, 200, 291]) {
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
