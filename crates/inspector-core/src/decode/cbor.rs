//! CBOR (RFC 8949): item headers read by `ciborium-ll` (which knows every header form, half
//! floats included, and the byte offset of each), the tree built here so that an error names
//! the byte of the item that is wrong or cut short. Tags are kept by number
//! ([`Node::Tag`]), simple values other than false/true/null/undefined by number
//! ([`Node::Simple`]); indefinite-length strings, arrays and maps are read whole.

use ciborium_ll::{Decoder, Encoder, Header, simple};

use super::error::{DecodeError, EncodeError};
use super::node::Node;

/// How deep arrays, maps and tags may nest.
pub const MAX_DEPTH: usize = 256;

/// Decodes one CBOR item that fills the whole payload.
pub fn decode(data: &[u8]) -> Result<Node, DecodeError> {
    let mut reader = Reader {
        dec: Decoder::from(data),
        len: data.len(),
    };
    let node = reader.item(0)?;
    let end = reader.dec.offset();
    if end < data.len() {
        return Err(DecodeError::new(
            end,
            format!("{} bytes after the end of the item", data.len() - end),
        ));
    }
    Ok(node)
}

/// What an item header held.
enum Item {
    Header(Header),
    Break,
}

struct Reader<'a> {
    dec: Decoder<&'a [u8]>,
    len: usize,
}

impl Reader<'_> {
    fn header(&mut self) -> Result<(usize, Item), DecodeError> {
        let start = self.dec.offset();
        match self.dec.pull() {
            Ok(Header::Break) => Ok((start, Item::Break)),
            Ok(header) => Ok((start, Item::Header(header))),
            Err(ciborium_ll::Error::Syntax(at)) => Err(DecodeError::new(
                at,
                "not a valid CBOR item header (a reserved additional-information value, or a length where none may be)",
            )),
            Err(ciborium_ll::Error::Io(_)) => Err(if start >= self.len {
                DecodeError::new(
                    start,
                    "the payload ends where an item should start (truncated)",
                )
            } else {
                DecodeError::new(
                    start,
                    "the item header starting here is cut short (truncated)",
                )
            }),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Node, DecodeError> {
        let (start, item) = self.header()?;
        match item {
            Item::Break => Err(DecodeError::new(
                start,
                "a break (0xff) outside an indefinite-length item",
            )),
            Item::Header(header) => self.content(start, header, depth),
        }
    }

    fn content(&mut self, start: usize, header: Header, depth: usize) -> Result<Node, DecodeError> {
        Ok(match header {
            Header::Positive(n) => Node::Int(n.into()),
            Header::Negative(n) => Node::Int(-1 - i128::from(n)),
            Header::Float(f) => Node::Float(f),
            Header::Simple(simple::FALSE) => Node::Bool(false),
            Header::Simple(simple::TRUE) => Node::Bool(true),
            Header::Simple(simple::NULL) => Node::Null,
            Header::Simple(simple::UNDEFINED) => Node::Undefined,
            Header::Simple(n) => Node::Simple(n),
            Header::Break => unreachable!("item() handles a break"),
            Header::Tag(tag) => {
                self.deeper(depth, start)?;
                let value = self.item(depth + 1)?;
                Node::Tag {
                    tag,
                    value: Box::new(value),
                }
            }
            Header::Bytes(len) => Node::Bytes(self.string(start, len, 2)?),
            Header::Text(len) => {
                let bytes = self.string(start, len, 3)?;
                match String::from_utf8(bytes) {
                    Ok(text) => Node::String(text),
                    Err(e) => {
                        return Err(DecodeError::new(
                            start,
                            format!(
                                "the text string starting here is not UTF-8 (from its byte {})",
                                e.utf8_error().valid_up_to()
                            ),
                        ));
                    }
                }
            }
            Header::Array(len) => {
                self.deeper(depth, start)?;
                let mut items = Vec::new();
                match len {
                    Some(n) => {
                        items.reserve(n.min(self.left()));
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    None => loop {
                        let (at, item) = self.header()?;
                        match item {
                            Item::Break => break,
                            Item::Header(h) => items.push(self.content(at, h, depth + 1)?),
                        }
                    },
                }
                Node::Array(items)
            }
            Header::Map(len) => {
                self.deeper(depth, start)?;
                let mut entries = Vec::new();
                match len {
                    Some(n) => {
                        entries.reserve(n.min(self.left() / 2));
                        for _ in 0..n {
                            let key = self.item(depth + 1)?;
                            let value = self.item(depth + 1)?;
                            entries.push((key, value));
                        }
                    }
                    None => loop {
                        let (at, item) = self.header()?;
                        match item {
                            Item::Break => break,
                            Item::Header(h) => {
                                let key = self.content(at, h, depth + 1)?;
                                let value = self.item(depth + 1)?;
                                entries.push((key, value));
                            }
                        }
                    },
                }
                Node::Map(entries)
            }
        })
    }

    /// A byte or text string's bytes (`major` 2 or 3), definite or in chunks.
    fn string(
        &mut self,
        start: usize,
        len: Option<usize>,
        major: u8,
    ) -> Result<Vec<u8>, DecodeError> {
        let what = if major == 2 {
            "byte string"
        } else {
            "text string"
        };
        match len {
            Some(n) => self.read(start, n, what),
            None => {
                let mut all = Vec::new();
                loop {
                    let (at, item) = self.header()?;
                    match item {
                        Item::Break => break,
                        Item::Header(Header::Bytes(Some(n))) if major == 2 => {
                            all.extend(self.read(at, n, what)?);
                        }
                        Item::Header(Header::Text(Some(n))) if major == 3 => {
                            all.extend(self.read(at, n, what)?);
                        }
                        Item::Header(_) => {
                            return Err(DecodeError::new(
                                at,
                                format!(
                                    "a chunk of an indefinite-length {what} must be a definite {what}"
                                ),
                            ));
                        }
                    }
                }
                Ok(all)
            }
        }
    }

    fn read(&mut self, start: usize, n: usize, what: &str) -> Result<Vec<u8>, DecodeError> {
        let left = self.left();
        if n > left {
            return Err(DecodeError::new(
                start,
                format!(
                    "the {what} starting here needs {n} bytes, but only {left} remain (truncated)"
                ),
            ));
        }
        let mut buf = vec![0; n];
        ciborium_io::Read::read_exact(&mut self.dec, &mut buf)
            .map_err(|_| DecodeError::new(start, format!("the {what} is cut short")))?;
        Ok(buf)
    }

    fn left(&mut self) -> usize {
        self.len - self.dec.offset()
    }

    fn deeper(&self, depth: usize, start: usize) -> Result<(), DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new(
                start,
                format!("items nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }
}

/// Encodes a value as CBOR (definite lengths, the shortest header forms).
pub fn encode(node: &Node) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    write(&mut Encoder::from(&mut out), node)?;
    Ok(out)
}

/// Encodes a JSON text as CBOR, its objects' keys in the order written.
pub fn encode_json(text: &str) -> Result<Vec<u8>, EncodeError> {
    let node = super::json::decode(text).map_err(|e| EncodeError::new(format!("not JSON: {e}")))?;
    encode(&node)
}

fn write(enc: &mut Encoder<&mut Vec<u8>>, node: &Node) -> Result<(), EncodeError> {
    // Writing into a Vec cannot fail: the results are ignored.
    match node {
        Node::Null => {
            let _ = enc.push(Header::Simple(simple::NULL));
        }
        Node::Undefined => {
            let _ = enc.push(Header::Simple(simple::UNDEFINED));
        }
        Node::Bool(b) => {
            let _ = enc.push(Header::Simple(if *b {
                simple::TRUE
            } else {
                simple::FALSE
            }));
        }
        Node::Int(i) => {
            if let Ok(v) = u64::try_from(*i) {
                let _ = enc.push(Header::Positive(v));
            } else if let Ok(v) = u64::try_from(-1 - *i) {
                let _ = enc.push(Header::Negative(v));
            } else {
                return Err(EncodeError::new(format!(
                    "{i} is beyond CBOR's integers (use a bignum tag)"
                )));
            }
        }
        Node::Float(f) => {
            let _ = enc.push(Header::Float(*f));
        }
        Node::String(s) => {
            let _ = enc.text(s, None);
        }
        Node::Bytes(b) => {
            let _ = enc.bytes(b, None);
        }
        Node::Array(items) => {
            let _ = enc.push(Header::Array(Some(items.len())));
            for item in items {
                write(enc, item)?;
            }
        }
        Node::Map(entries) => {
            let _ = enc.push(Header::Map(Some(entries.len())));
            for (k, v) in entries {
                write(enc, k)?;
                write(enc, v)?;
            }
        }
        Node::Tag { tag, value } => {
            let _ = enc.push(Header::Tag(*tag));
            write(enc, value)?;
        }
        Node::Simple(n) => {
            let _ = enc.push(Header::Simple(*n));
        }
        Node::FieldNumber(n) => {
            let _ = enc.push(Header::Positive((*n).into()));
        }
        Node::Ext { .. } => {
            return Err(EncodeError::new(
                "MessagePack extension values have no CBOR form",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::parse_hex(s).unwrap()
    }

    #[test]
    fn rfc_8949_appendix_a_examples() {
        for (wire, text) in [
            ("00", "0"),
            ("3903e7", "-1000"),
            ("1bffffffffffffffff", "18446744073709551615"),
            ("3bffffffffffffffff", "-18446744073709551616"),
            ("f93c00", "1.0"),
            ("fb7e37e43c8800759c", "1e300"),
            ("f4", "false"),
            ("f7", "undefined"),
            ("f0", "simple(16)"),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                "0(\"2013-03-21T20:04:00Z\")",
            ),
            ("c11a514b67b0", "1(1363896240)"),
            ("d74401020304", "23(h'01020304')"),
            ("4401020304", "h'01020304'"),
            ("62c3bc", "\"ü\""),
            ("8301820203820405", "[1,[2,3],[4,5]]"),
            ("a26161016162820203", "{\"a\":1,\"b\":[2,3]}"),
            ("5f42010243030405ff", "h'0102030405'"),
            ("7f657374726561646d696e67ff", "\"streaming\""),
            ("9f018202039f0405ffff", "[1,[2,3],[4,5]]"),
            ("bf6346756ef563416d7421ff", "{\"Fun\":true,\"Amt\":-2}"),
        ] {
            let node = decode(&hex(wire)).unwrap_or_else(|e| panic!("{wire}: {e}"));
            assert_eq!(node.text(), text, "{wire}");
        }
    }

    #[test]
    fn errors_name_the_byte() {
        let e = decode(&hex("8301820203")).unwrap_err();
        assert_eq!(e.offset, 5, "the third element is missing: {e}");
        let e = decode(&hex("a1616101626162")).unwrap_err();
        assert_eq!(e.offset, 4, "trailing bytes: {e}");
        let e = decode(&hex("6461")).unwrap_err();
        assert_eq!(e.offset, 0, "text of 4 with 1 byte: {e}");
        let e = decode(&hex("811c")).unwrap_err();
        assert_eq!(e.offset, 1, "additional information 28 is reserved: {e}");
        let e = decode(&hex("ff")).unwrap_err();
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn encodes_and_decodes_back() {
        let node = super::super::json::decode(r#"{"z":[1,-2,1.5,"x",null,true],"a":{}}"#).unwrap();
        let bytes = encode(&node).unwrap();
        assert_eq!(decode(&bytes).unwrap(), node);
        assert_eq!(
            encode(&Node::Tag {
                tag: 1,
                value: Box::new(Node::Int(1363896240))
            })
            .unwrap(),
            hex("c11a514b67b0")
        );
    }
}
