//! MessagePack: decoded straight from the payload's bytes by their markers (`rmp`'s
//! [`Marker`]), so that an error names the byte of the value that is wrong or cut short;
//! encoded with `rmp`'s writers. Extension values (timestamps included) are kept by type
//! number, as [`Node::Ext`].

use rmp::Marker;
use rmp::encode;

use super::error::{DecodeError, EncodeError};
use super::node::Node;

/// How deep arrays and maps may nest (deeper is an error, not a stack overflow).
pub const MAX_DEPTH: usize = 256;

/// Decodes one MessagePack value that fills the whole payload.
pub fn decode(data: &[u8]) -> Result<Node, DecodeError> {
    let mut reader = Reader { data, pos: 0 };
    let node = reader.value(0)?;
    if reader.pos < data.len() {
        return Err(DecodeError::new(
            reader.pos,
            format!(
                "{} bytes after the end of the value",
                data.len() - reader.pos
            ),
        ));
    }
    Ok(node)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// `n` bytes for the value that started at `start` (`what` names it for the error).
    fn take(&mut self, n: usize, start: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(DecodeError::new(
                start,
                format!(
                    "the {what} starting here needs {n} more bytes at byte {}, but only {left} remain (truncated)",
                    self.pos
                ),
            ));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize, start: usize, what: &str) -> Result<u64, DecodeError> {
        let bytes = self.take(n, start, what)?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn value(&mut self, depth: usize) -> Result<Node, DecodeError> {
        let start = self.pos;
        let Some(&byte) = self.data.get(self.pos) else {
            return Err(DecodeError::new(
                start,
                "the payload ends where a value should start (truncated)",
            ));
        };
        self.pos += 1;
        let marker = Marker::from_u8(byte);
        Ok(match marker {
            Marker::FixPos(n) => Node::Int(n.into()),
            Marker::FixNeg(n) => Node::Int(n.into()),
            Marker::Null => Node::Null,
            Marker::True => Node::Bool(true),
            Marker::False => Node::Bool(false),
            Marker::Reserved => {
                return Err(DecodeError::new(
                    start,
                    "byte 0xc1 is never used in MessagePack: this is not MessagePack (or it is misaligned)",
                ));
            }
            Marker::U8 => Node::Int(self.uint(1, start, "uint 8")?.into()),
            Marker::U16 => Node::Int(self.uint(2, start, "uint 16")?.into()),
            Marker::U32 => Node::Int(self.uint(4, start, "uint 32")?.into()),
            Marker::U64 => Node::Int(self.uint(8, start, "uint 64")?.into()),
            Marker::I8 => Node::Int((self.uint(1, start, "int 8")? as u8 as i8).into()),
            Marker::I16 => Node::Int((self.uint(2, start, "int 16")? as u16 as i16).into()),
            Marker::I32 => Node::Int((self.uint(4, start, "int 32")? as u32 as i32).into()),
            Marker::I64 => Node::Int((self.uint(8, start, "int 64")? as i64).into()),
            Marker::F32 => {
                Node::Float(f32::from_bits(self.uint(4, start, "float 32")? as u32).into())
            }
            Marker::F64 => Node::Float(f64::from_bits(self.uint(8, start, "float 64")?)),
            Marker::FixStr(n) => self.str(n.into(), start)?,
            Marker::Str8 => {
                let n = self.uint(1, start, "str 8")? as usize;
                self.str(n, start)?
            }
            Marker::Str16 => {
                let n = self.uint(2, start, "str 16")? as usize;
                self.str(n, start)?
            }
            Marker::Str32 => {
                let n = self.uint(4, start, "str 32")? as usize;
                self.str(n, start)?
            }
            Marker::Bin8 => {
                let n = self.uint(1, start, "bin 8")? as usize;
                Node::Bytes(self.take(n, start, "bin 8")?.to_vec())
            }
            Marker::Bin16 => {
                let n = self.uint(2, start, "bin 16")? as usize;
                Node::Bytes(self.take(n, start, "bin 16")?.to_vec())
            }
            Marker::Bin32 => {
                let n = self.uint(4, start, "bin 32")? as usize;
                Node::Bytes(self.take(n, start, "bin 32")?.to_vec())
            }
            Marker::FixArray(n) => self.array(n.into(), start, depth)?,
            Marker::Array16 => {
                let n = self.uint(2, start, "array 16")? as usize;
                self.array(n, start, depth)?
            }
            Marker::Array32 => {
                let n = self.uint(4, start, "array 32")? as usize;
                self.array(n, start, depth)?
            }
            Marker::FixMap(n) => self.map(n.into(), start, depth)?,
            Marker::Map16 => {
                let n = self.uint(2, start, "map 16")? as usize;
                self.map(n, start, depth)?
            }
            Marker::Map32 => {
                let n = self.uint(4, start, "map 32")? as usize;
                self.map(n, start, depth)?
            }
            Marker::FixExt1 => self.ext(1, start)?,
            Marker::FixExt2 => self.ext(2, start)?,
            Marker::FixExt4 => self.ext(4, start)?,
            Marker::FixExt8 => self.ext(8, start)?,
            Marker::FixExt16 => self.ext(16, start)?,
            Marker::Ext8 => {
                let n = self.uint(1, start, "ext 8")? as usize;
                self.ext(n, start)?
            }
            Marker::Ext16 => {
                let n = self.uint(2, start, "ext 16")? as usize;
                self.ext(n, start)?
            }
            Marker::Ext32 => {
                let n = self.uint(4, start, "ext 32")? as usize;
                self.ext(n, start)?
            }
        })
    }

    fn str(&mut self, n: usize, start: usize) -> Result<Node, DecodeError> {
        let bytes = self.take(n, start, "str")?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Node::String(s.to_owned())),
            Err(e) => Err(DecodeError::new(
                self.pos - n + e.valid_up_to(),
                format!("the str starting at byte {start} is not UTF-8 here"),
            )),
        }
    }

    fn array(&mut self, n: usize, start: usize, depth: usize) -> Result<Node, DecodeError> {
        self.deeper(depth, start)?;
        // Each element takes at least a byte: never reserve more than remains.
        let mut items = Vec::with_capacity(n.min(self.data.len() - self.pos));
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Node::Array(items))
    }

    fn map(&mut self, n: usize, start: usize, depth: usize) -> Result<Node, DecodeError> {
        self.deeper(depth, start)?;
        let mut entries = Vec::with_capacity(n.min((self.data.len() - self.pos) / 2));
        for _ in 0..n {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    fn ext(&mut self, n: usize, start: usize) -> Result<Node, DecodeError> {
        let type_id = self.take(1, start, "ext")?[0] as i8;
        let data = self.take(n, start, "ext")?.to_vec();
        Ok(Node::Ext { type_id, data })
    }

    fn deeper(&self, depth: usize, start: usize) -> Result<(), DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new(
                start,
                format!("arrays and maps nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }
}

/// Encodes a value as MessagePack (integers in their smallest form, floats as float 64,
/// CBOR-only values refused).
pub fn encode(node: &Node) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    write(&mut out, node)?;
    Ok(out)
}

/// Encodes a JSON text as MessagePack, its objects' keys in the order written.
pub fn encode_json(text: &str) -> Result<Vec<u8>, EncodeError> {
    let node = super::json::decode(text).map_err(|e| EncodeError::new(format!("not JSON: {e}")))?;
    encode(&node)
}

fn write(out: &mut Vec<u8>, node: &Node) -> Result<(), EncodeError> {
    // Writing into a Vec cannot fail.
    let len = |n: usize| {
        u32::try_from(n).map_err(|_| EncodeError::new("MessagePack holds at most 2³²−1 items"))
    };
    match node {
        Node::Null | Node::Undefined => {
            let _ = encode::write_nil(out);
        }
        Node::Bool(b) => {
            let _ = encode::write_bool(out, *b);
        }
        Node::Int(i) => {
            if let Ok(v) = u64::try_from(*i) {
                let _ = encode::write_uint(out, v);
            } else if let Ok(v) = i64::try_from(*i) {
                let _ = encode::write_sint(out, v);
            } else {
                return Err(EncodeError::new(format!(
                    "{i} does not fit MessagePack's 64-bit integers"
                )));
            }
        }
        Node::Float(f) => {
            let _ = encode::write_f64(out, *f);
        }
        Node::String(s) => {
            let _ = encode::write_str(out, s);
        }
        Node::Bytes(b) => {
            let _ = encode::write_bin(out, b);
        }
        Node::Array(items) => {
            let _ = encode::write_array_len(out, len(items.len())?);
            for item in items {
                write(out, item)?;
            }
        }
        Node::Map(entries) => {
            let _ = encode::write_map_len(out, len(entries.len())?);
            for (k, v) in entries {
                write(out, k)?;
                write(out, v)?;
            }
        }
        Node::Ext { type_id, data } => {
            let _ = encode::write_ext_meta(out, len(data.len())?, *type_id);
            out.extend_from_slice(data);
        }
        Node::FieldNumber(n) => {
            let _ = encode::write_uint(out, (*n).into());
        }
        Node::Tag { .. } | Node::Simple(_) => {
            return Err(EncodeError::new(
                "CBOR tags and simple values have no MessagePack form",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_kind_of_marker() {
        // {"a": [1, -1, 300, -300, 1.5, nil, true, "é", bin[0xff], ext(5, [1])]}
        let data = [
            0x81, 0xa1, b'a', 0x9a, 0x01, 0xff, 0xcd, 0x01, 0x2c, 0xd1, 0xfe, 0xd4, 0xcb, 0x3f,
            0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0xc3, 0xa2, 0xc3, 0xa9, 0xc4, 0x01, 0xff, 0xd4, 0x05,
            0x01,
        ];
        let node = decode(&data).unwrap();
        assert_eq!(
            node.text(),
            r#"{"a":[1,-1,300,-300,1.5,null,true,"é",h'ff',ext(5, h'01')]}"#
        );
        assert_eq!(encode(&node).unwrap(), data, "and back, byte for byte");
    }

    #[test]
    fn truncation_is_reported_at_the_value_cut_short() {
        // {"name": "abcdef"} cut inside the string.
        let full = [0x81, 0xa4, b'n', b'a', b'm', b'e', 0xa6, b'a', b'b', b'c'];
        let e = decode(&full).unwrap_err();
        assert_eq!(e.offset, 6, "{e}");
        assert!(e.reason.contains("truncated"), "{e}");
        let e = decode(&[0x92, 0x01]).unwrap_err();
        assert_eq!(e.offset, 2, "the missing second element: {e}");
        let e = decode(&[0xc1]).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = decode(&[0x01, 0x02]).unwrap_err();
        assert_eq!(e.offset, 1, "a byte after the value: {e}");
    }

    #[test]
    fn json_encodes_in_key_order() {
        let bytes = encode_json(r#"{"z":1,"a":"b"}"#).unwrap();
        assert_eq!(bytes, [0x82, 0xa1, b'z', 0x01, 0xa1, b'a', 0xa1, b'b']);
        assert!(encode_json("{").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let data = vec![0x91; MAX_DEPTH + 2];
        assert!(decode(&data).unwrap_err().reason.contains("nest"));
    }
}
