//! Protobuf: a schema from a `.proto` file compiled at run time (`protox`, imports resolved
//! from the chosen folders and the file's own) or from a compiled descriptor set
//! (`protoc --descriptor_set_out`), read through `prost-reflect`'s descriptors.
//!
//! Decoding walks the wire format here, guided by the message type's descriptor, rather than
//! through `prost-reflect`'s `DynamicMessage`: so that an error names its byte (prost's
//! errors do not), fields the schema does not name are kept by number with what the wire
//! format alone says about them ([`Node::FieldNumber`] keys), and the tree is built once.
//! A field whose wire type is not the one its declared type uses is an error (as prost and
//! prost-reflect make it): the usual sign of a payload of another message type.
//! Encoding a JSON text goes through `prost-reflect`'s proto3 JSON mapping.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor};

use super::error::{DecodeError, EncodeError, LoadError};
use super::node::Node;

/// How deep messages may nest.
pub const MAX_DEPTH: usize = 100;

/// A message type of a loaded schema: what decodes and encodes payloads.
#[derive(Clone, Debug)]
pub struct ProtoType {
    desc: MessageDescriptor,
}

impl ProtoType {
    /// Loads `source` and finds `message_type` in it (a full name such as `chat.Message`,
    /// a leading `.` allowed; a name without its package when only one type has it).
    pub fn load(source: &super::ProtoSource, message_type: &str) -> Result<Self, LoadError> {
        let pool = load_pool(source)?;
        Self::find(&pool, message_type)
    }

    /// `message_type` in `pool`.
    pub fn find(pool: &DescriptorPool, message_type: &str) -> Result<Self, LoadError> {
        let name = message_type.trim_start_matches('.');
        if let Some(desc) = pool.get_message_by_name(name) {
            return Ok(Self { desc });
        }
        let mut by_short: Vec<MessageDescriptor> = pool
            .all_messages()
            .filter(|m| m.name() == name && !m.is_map_entry())
            .collect();
        if by_short.len() == 1 {
            return Ok(Self {
                desc: by_short.remove(0),
            });
        }
        Err(LoadError::UnknownType {
            name: message_type.to_owned(),
            known: pool
                .all_messages()
                .filter(|m| !m.is_map_entry())
                .map(|m| m.full_name().to_owned())
                .take(12)
                .collect(),
        })
    }

    /// The type's full name.
    pub fn full_name(&self) -> &str {
        self.desc.full_name()
    }

    /// Decodes a payload of this type.
    pub fn decode(&self, data: &[u8]) -> Result<Node, DecodeError> {
        let mut walker = Walker { data, pos: 0 };
        walker.message(&self.desc, data.len(), 0)
    }

    /// Encodes a JSON text (the proto3 JSON mapping: field names or their JSON names, enums
    /// by name or number, 64-bit integers as numbers or strings, bytes as base64).
    pub fn encode_json(&self, text: &str) -> Result<Vec<u8>, EncodeError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let message = DynamicMessage::deserialize(self.desc.clone(), &mut de)
            .and_then(|m| de.end().map(|()| m))
            .map_err(|e| {
                EncodeError::new(format!(
                    "not a {} in JSON: {} (line {}, column {})",
                    self.desc.full_name(),
                    super::json::json_reason(&e),
                    e.line(),
                    e.column()
                ))
            })?;
        Ok(message.encode_to_vec())
    }
}

/// Loads a schema: compiles a `.proto` file (with its imports) or reads a descriptor set.
pub fn load_pool(source: &super::ProtoSource) -> Result<DescriptorPool, LoadError> {
    match source {
        super::ProtoSource::DescriptorSet { file } => {
            let bytes = std::fs::read(file).map_err(|e| LoadError::Io {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            DescriptorPool::decode(bytes.as_slice()).map_err(|e| LoadError::DescriptorSet {
                path: file.clone(),
                reason: e.to_string(),
            })
        }
        super::ProtoSource::Proto { file, imports } => compile(file, imports),
    }
}

fn compile(file: &Path, imports: &[PathBuf]) -> Result<DescriptorPool, LoadError> {
    if let Err(e) = std::fs::metadata(file) {
        return Err(LoadError::Io {
            path: file.to_owned(),
            reason: e.to_string(),
        });
    }
    // The file's own folder resolves its imports too, after the chosen folders.
    let mut includes: Vec<PathBuf> = imports.to_vec();
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    includes.push(parent.clone());
    let mut compiler =
        protox::Compiler::new(&includes).map_err(|e| proto_error(&e, file, &includes))?;
    compiler.include_imports(true);
    // Named relative to its folder, so it is in an include path whatever the other folders.
    let name = file.file_name().map_or(file.to_owned(), PathBuf::from);
    let opened = match imports.iter().any(|dir| file.starts_with(dir)) {
        true => compiler.open_file(file),
        false => compiler.open_file(parent.join(&name)),
    };
    opened.map_err(|e| proto_error(&e, file, &includes))?;
    Ok(compiler.descriptor_pool())
}

/// A protox error with the file, line and column it points to.
fn proto_error(error: &protox::Error, file: &Path, includes: &[PathBuf]) -> LoadError {
    let name = error
        .file()
        .map(str::to_owned)
        .or_else(|| Some(file.display().to_string()));
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let mut line = None;
    let mut column = None;
    if let Some(offset) = offset {
        // The source protox read, or the file itself found among the include folders.
        let text = name.as_deref().and_then(|n| {
            includes
                .iter()
                .map(|dir| dir.join(n))
                .chain(std::iter::once(PathBuf::from(n)))
                .find_map(|p| std::fs::read_to_string(p).ok())
        });
        if let Some(text) = text {
            let (l, c) = line_column(&text, offset);
            line = Some(l);
            column = Some(c);
        }
    }
    LoadError::Proto {
        file: name,
        line,
        column,
        reason: error.to_string(),
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The wire types.
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
const I32: u8 = 5;

fn wire_name(wire: u8) -> &'static str {
    match wire {
        VARINT => "varint",
        I64 => "64-bit",
        LEN => "length-delimited",
        SGROUP => "group start",
        EGROUP => "group end",
        I32 => "32-bit",
        _ => "invalid",
    }
}

/// The wire type a field of `kind` uses (unpacked).
fn wire_of(kind: &Kind, group: bool) -> u8 {
    match kind {
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => VARINT,
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => I64,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => I32,
        Kind::Message(_) if group => SGROUP,
        Kind::String | Kind::Bytes | Kind::Message(_) => LEN,
    }
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
    }
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Where a field's values go in the message's entries.
enum Slot {
    /// A single value at this entry.
    Single(usize),
    /// An array (repeated field) or a map (map field) at this entry.
    Many(usize),
}

impl<'a> Walker<'a> {
    fn varint(&mut self, end: usize, what: &str) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.data.get(self.pos).filter(|_| self.pos < end) else {
                return Err(DecodeError::new(
                    start,
                    format!("the {what} varint starting here is cut short (truncated)"),
                ));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new(
            start,
            format!("the {what} varint starting here is longer than 10 bytes"),
        ))
    }

    fn fixed(&mut self, n: usize, end: usize, what: &str) -> Result<u64, DecodeError> {
        let start = self.pos;
        if end - self.pos < n {
            return Err(DecodeError::new(
                start,
                format!("the {n}-byte {what} starting here is cut short (truncated)"),
            ));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length prefix and the end of what it delimits.
    fn length(&mut self, end: usize, what: &str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = self.varint(end, "length")?;
        let left = end - self.pos;
        match usize::try_from(len) {
            Ok(len) if len <= left => Ok(self.pos + len),
            _ => Err(DecodeError::new(
                start,
                format!("{what} says {len} bytes follow, but only {left} remain (truncated)"),
            )),
        }
    }

    fn message(
        &mut self,
        desc: &MessageDescriptor,
        end: usize,
        depth: usize,
    ) -> Result<Node, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new(
                self.pos,
                format!("messages nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut slots: Vec<(u32, Slot)> = Vec::new();
        while self.pos < end {
            let tag_start = self.pos;
            let tag = self.varint(end, "field tag")?;
            let wire = (tag & 7) as u8;
            let number = u32::try_from(tag >> 3).unwrap_or(0);
            if number == 0 || number > 536_870_911 {
                return Err(DecodeError::new(
                    tag_start,
                    format!("field number {} is not a valid field number", tag >> 3),
                ));
            }
            if wire == EGROUP {
                return Err(DecodeError::new(
                    tag_start,
                    format!("a group end (field {number}) with no group started"),
                ));
            }
            let Some(field) = desc.get_field(number) else {
                let value = self.unknown(number, wire, tag_start, end, depth)?;
                push(
                    &mut entries,
                    &mut slots,
                    number,
                    Node::FieldNumber(number),
                    value,
                    Again::Unknown,
                );
                continue;
            };
            let kind = field.kind();
            let expected = wire_of(&kind, field.is_group());
            let packed = wire == LEN && field.is_list() && expected != LEN && expected != SGROUP;
            if wire != expected && !packed {
                return Err(DecodeError::new(
                    tag_start,
                    format!(
                        "field {number} ({}) of {} is {} ({} on the wire), but the payload has a {} value here: is this a {}?",
                        field.name(),
                        desc.full_name(),
                        kind_name(&kind),
                        wire_name(expected),
                        wire_name(wire),
                        desc.full_name()
                    ),
                ));
            }
            let key = Node::String(field.name().to_owned());
            if packed {
                let packed_end = self.length(end, "a packed field")?;
                let mut values = Vec::new();
                while self.pos < packed_end {
                    values.push(self.scalar(&kind, expected, packed_end)?);
                }
                for value in values {
                    push(
                        &mut entries,
                        &mut slots,
                        number,
                        key.clone(),
                        value,
                        Again::Gather,
                    );
                }
                continue;
            }
            if field.is_map() {
                let Kind::Message(entry) = &kind else {
                    unreachable!("a map field's kind is its entry message")
                };
                let entry_end = self.length(end, "a map entry")?;
                let entry_node = self.message(entry, entry_end, depth + 1)?;
                let key_field = entry.map_entry_key_field();
                let value_field = entry.map_entry_value_field();
                let mut k = None;
                let mut v = None;
                if let Node::Map(kv) = entry_node {
                    for (name, value) in kv {
                        match name.as_str() {
                            Some(n) if n == key_field.name() => k = Some(value),
                            Some(n) if n == value_field.name() => v = Some(value),
                            _ => {}
                        }
                    }
                }
                let k = k.unwrap_or_else(|| default_of(&key_field.kind()));
                let v = v.unwrap_or_else(|| default_of(&value_field.kind()));
                push_map(&mut entries, &mut slots, number, key, k, v);
                continue;
            }
            let value = match (&kind, wire) {
                (Kind::Message(m), LEN) => {
                    let inner_end = self.length(end, "an embedded message")?;
                    self.message(m, inner_end, depth + 1)?
                }
                (Kind::Message(m), SGROUP) => self.group(m, number, end, depth)?,
                _ => self.scalar(&kind, wire, end)?,
            };
            let again = if field.is_list() {
                Again::Gather
            } else {
                Again::Last
            };
            push(&mut entries, &mut slots, number, key, value, again);
        }
        Ok(Node::Map(entries))
    }

    /// A proto2 group of message type `m`, up to its end tag.
    fn group(
        &mut self,
        m: &MessageDescriptor,
        number: u32,
        end: usize,
        depth: usize,
    ) -> Result<Node, DecodeError> {
        let group_end = self.group_end(number, end)?;
        let node = self.message(m, group_end.0, depth + 1)?;
        self.pos = group_end.1;
        Ok(node)
    }

    /// Where the group of field `number` that starts here ends: (its content's end, after
    /// its end tag).
    fn group_end(&mut self, number: u32, end: usize) -> Result<(usize, usize), DecodeError> {
        let start = self.pos;
        let mut depth = 0u32;
        while self.pos < end {
            let tag_at = self.pos;
            let tag = self.varint(end, "field tag")?;
            let wire = (tag & 7) as u8;
            match wire {
                VARINT => {
                    self.varint(end, "value")?;
                }
                I64 => {
                    self.fixed(8, end, "value")?;
                }
                I32 => {
                    self.fixed(4, end, "value")?;
                }
                LEN => {
                    self.pos = self.length(end, "a field")?;
                }
                SGROUP => depth += 1,
                EGROUP if depth == 0 => {
                    if tag >> 3 != u64::from(number) {
                        return Err(DecodeError::new(
                            tag_at,
                            format!(
                                "the group of field {number} ends with the end tag of field {}",
                                tag >> 3
                            ),
                        ));
                    }
                    let after = self.pos;
                    self.pos = start;
                    return Ok((tag_at, after));
                }
                EGROUP => depth -= 1,
                _ => {
                    return Err(DecodeError::new(
                        tag_at,
                        format!("wire type {wire} does not exist"),
                    ));
                }
            }
        }
        Err(DecodeError::new(
            start,
            format!("the group of field {number} starting here has no end (truncated)"),
        ))
    }

    /// A field the schema does not name: what its wire type says.
    fn unknown(
        &mut self,
        number: u32,
        wire: u8,
        tag_start: usize,
        end: usize,
        depth: usize,
    ) -> Result<Node, DecodeError> {
        Ok(match wire {
            VARINT => Node::Int(self.varint(end, "value")?.into()),
            I64 => Node::Int(self.fixed(8, end, "value")?.into()),
            I32 => Node::Int(self.fixed(4, end, "value")?.into()),
            LEN => {
                let value_end = self.length(end, "a field")?;
                let bytes = self.data[self.pos..value_end].to_vec();
                self.pos = value_end;
                Node::Bytes(bytes)
            }
            SGROUP => {
                if depth >= MAX_DEPTH {
                    return Err(DecodeError::new(tag_start, "groups nest too deep"));
                }
                let (content_end, after) = self.group_end(number, end)?;
                let mut entries = Vec::new();
                let mut slots = Vec::new();
                while self.pos < content_end {
                    let at = self.pos;
                    let tag = self.varint(content_end, "field tag")?;
                    let n = u32::try_from(tag >> 3).unwrap_or(0);
                    let value = self.unknown(n, (tag & 7) as u8, at, content_end, depth + 1)?;
                    push(
                        &mut entries,
                        &mut slots,
                        n,
                        Node::FieldNumber(n),
                        value,
                        Again::Unknown,
                    );
                }
                self.pos = after;
                Node::Map(entries)
            }
            _ => {
                return Err(DecodeError::new(
                    tag_start,
                    format!(
                        "field {number} has wire type {wire}, which does not exist: this is not protobuf"
                    ),
                ));
            }
        })
    }

    fn scalar(&mut self, kind: &Kind, wire: u8, end: usize) -> Result<Node, DecodeError> {
        let _ = wire;
        Ok(match kind {
            Kind::Int32 => Node::Int((self.varint(end, "int32")? as i32).into()),
            Kind::Int64 => Node::Int((self.varint(end, "int64")? as i64).into()),
            Kind::Uint32 => Node::Int((self.varint(end, "uint32")? as u32).into()),
            Kind::Uint64 => Node::Int(self.varint(end, "uint64")?.into()),
            Kind::Sint32 => {
                let v = self.varint(end, "sint32")? as u32;
                Node::Int((((v >> 1) as i32) ^ -((v & 1) as i32)).into())
            }
            Kind::Sint64 => {
                let v = self.varint(end, "sint64")?;
                Node::Int((((v >> 1) as i64) ^ -((v & 1) as i64)).into())
            }
            Kind::Bool => Node::Bool(self.varint(end, "bool")? != 0),
            Kind::Enum(e) => {
                let n = self.varint(end, "enum")? as i32;
                match e.get_value(n) {
                    Some(value) => Node::String(value.name().to_owned()),
                    None => Node::Int(n.into()),
                }
            }
            Kind::Fixed32 => Node::Int(self.fixed(4, end, "fixed32")?.into()),
            Kind::Sfixed32 => Node::Int((self.fixed(4, end, "sfixed32")? as u32 as i32).into()),
            Kind::Float => Node::Float(f32::from_bits(self.fixed(4, end, "float")? as u32).into()),
            Kind::Fixed64 => Node::Int(self.fixed(8, end, "fixed64")?.into()),
            Kind::Sfixed64 => Node::Int((self.fixed(8, end, "sfixed64")? as i64).into()),
            Kind::Double => Node::Float(f64::from_bits(self.fixed(8, end, "double")?)),
            Kind::String => {
                let start = self.pos;
                let value_end = self.length(end, "a string")?;
                let bytes = &self.data[self.pos..value_end];
                self.pos = value_end;
                match std::str::from_utf8(bytes) {
                    Ok(s) => Node::String(s.to_owned()),
                    Err(e) => {
                        return Err(DecodeError::new(
                            value_end - bytes.len() + e.valid_up_to(),
                            format!("the string field at byte {start} is not UTF-8 here"),
                        ));
                    }
                }
            }
            Kind::Bytes => {
                let value_end = self.length(end, "a bytes field")?;
                let bytes = self.data[self.pos..value_end].to_vec();
                self.pos = value_end;
                Node::Bytes(bytes)
            }
            Kind::Message(_) => unreachable!("messages are read by message()"),
        })
    }
}

/// The default value of a map entry's missing key or value.
fn default_of(kind: &Kind) -> Node {
    match kind {
        Kind::String => Node::String(String::new()),
        Kind::Bytes => Node::Bytes(Vec::new()),
        Kind::Bool => Node::Bool(false),
        Kind::Double | Kind::Float => Node::Float(0.0),
        Kind::Message(_) => Node::Map(Vec::new()),
        Kind::Enum(e) => e
            .get_value(0)
            .map_or(Node::Int(0), |v| Node::String(v.name().to_owned())),
        _ => Node::Int(0),
    }
}

/// How a field seen more than once is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Again {
    /// A repeated field: every value, in one array at its first entry (even just one).
    Gather,
    /// A field the schema does not name: one value, or an array once seen again.
    Unknown,
    /// A single field: the last value (protobuf's rule).
    Last,
}

/// Adds a field's value.
fn push(
    entries: &mut Vec<(Node, Node)>,
    slots: &mut Vec<(u32, Slot)>,
    number: u32,
    key: Node,
    value: Node,
    again: Again,
) {
    match slots.iter_mut().find(|(n, _)| *n == number) {
        Some((_, Slot::Many(i))) => {
            if let Node::Array(items) = &mut entries[*i].1 {
                items.push(value);
            }
        }
        Some((_, slot @ Slot::Single(_))) => {
            let Slot::Single(i) = *slot else { return };
            if again == Again::Unknown {
                let first = std::mem::replace(&mut entries[i].1, Node::Null);
                entries[i].1 = Node::Array(vec![first, value]);
                *slot = Slot::Many(i);
            } else {
                entries[i].1 = value;
            }
        }
        None => {
            let at = entries.len();
            if again == Again::Gather {
                entries.push((key, Node::Array(vec![value])));
                slots.push((number, Slot::Many(at)));
            } else {
                entries.push((key, value));
                slots.push((number, Slot::Single(at)));
            }
        }
    }
}

/// Adds a map field's entry.
fn push_map(
    entries: &mut Vec<(Node, Node)>,
    slots: &mut Vec<(u32, Slot)>,
    number: u32,
    key: Node,
    k: Node,
    v: Node,
) {
    match slots.iter().find(|(n, _)| *n == number).map(|(_, s)| s) {
        Some(Slot::Many(i) | Slot::Single(i)) => {
            if let Node::Map(map) = &mut entries[*i].1 {
                match map.iter_mut().find(|(existing, _)| *existing == k) {
                    Some(entry) => entry.1 = v,
                    None => map.push((k, v)),
                }
            }
        }
        None => {
            slots.push((number, Slot::Many(entries.len())));
            entries.push((key, Node::Map(vec![(k, v)])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ProtoSource;
    use super::*;

    const CHAT: &str = r#"
syntax = "proto3";
package chat;
import "common.proto";

message Message {
  string text = 1;
  int64 id = 2;
  repeated int32 scores = 3;
  Kind kind = 4;
  common.Author author = 5;
  map<string, int32> counts = 6;
  bytes blob = 7;
  sint32 delta = 8;
  double ratio = 9;
  enum Kind { PLAIN = 0; SHOUT = 1; }
}

message Counter {
  int64 count = 1;
}
"#;
    const COMMON: &str = r#"
syntax = "proto3";
package common;
message Author { string name = 1; }
"#;

    fn schema() -> (tempfile::TempDir, ProtoSource) {
        let dir = tempfile::tempdir().unwrap();
        let imports = dir.path().join("imports");
        std::fs::create_dir(&imports).unwrap();
        std::fs::write(imports.join("common.proto"), COMMON).unwrap();
        std::fs::write(dir.path().join("chat.proto"), CHAT).unwrap();
        let source = ProtoSource::Proto {
            file: dir.path().join("chat.proto"),
            imports: vec![imports],
        };
        (dir, source)
    }

    #[test]
    fn json_encodes_and_the_walker_decodes_it_back() {
        let (_dir, source) = schema();
        let ty = ProtoType::load(&source, "chat.Message").unwrap();
        let bytes = ty
            .encode_json(
                r#"{"text":"hi","id":"-5","scores":[1,2,300],"kind":"SHOUT","author":{"name":"ann"},
                    "counts":{"a":1},"blob":"AP8=","delta":-3,"ratio":0.5}"#,
            )
            .unwrap();
        let node = ty.decode(&bytes).unwrap();
        assert_eq!(
            node.to_json(),
            r#"{"text":"hi","id":-5,"scores":[1,2,300],"kind":"SHOUT","author":{"name":"ann"},"counts":{"a":1},"blob":"AP8=","delta":-3,"ratio":0.5}"#
        );
        assert_eq!(
            ProtoType::load(&source, "Counter").unwrap().full_name(),
            "chat.Counter"
        );
    }

    #[test]
    fn unknown_fields_are_kept_by_number() {
        let (_dir, source) = schema();
        let ty = ProtoType::load(&source, "chat.Counter").unwrap();
        // count = 7, field 9 varint 150, field 10 bytes "ab", field 11 fixed32 1.
        let node = ty
            .decode(&[
                0x08, 0x07, 0x48, 0x96, 0x01, 0x52, 0x02, b'a', b'b', 0x5d, 1, 0, 0, 0,
            ])
            .unwrap();
        assert_eq!(node.text(), r#"{"count":7,#9:150,#10:h'6162',#11:1}"#);
        let twice = ty.decode(&[0x48, 0x01, 0x48, 0x02]).unwrap();
        assert_eq!(twice.text(), "{#9:[1,2]}");
    }

    #[test]
    fn a_payload_of_another_type_fails_at_its_byte() {
        let (_dir, source) = schema();
        let message = ProtoType::load(&source, "chat.Message").unwrap();
        let counter = ProtoType::load(&source, "chat.Counter").unwrap();
        let bytes = message.encode_json(r#"{"text":"hello"}"#).unwrap();
        let e = counter.decode(&bytes).unwrap_err();
        assert_eq!(e.offset, 0, "{e}");
        assert!(
            e.reason.contains("count") && e.reason.contains("length-delimited"),
            "{e}"
        );
        let e = message.decode(&[0x0a, 0x05, b'a']).unwrap_err();
        assert_eq!(e.offset, 1, "a length past the end: {e}");
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.proto");
        std::fs::write(
            &file,
            "syntax = \"proto3\";\n\nmessage Bad {\n  string text = 1\n}\n",
        )
        .unwrap();
        let e = ProtoType::load(
            &ProtoSource::Proto {
                file,
                imports: vec![],
            },
            "Bad",
        )
        .unwrap_err();
        let LoadError::Proto {
            file, line, column, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(file.as_deref(), Some("bad.proto"));
        assert_eq!((*line, *column), (Some(5), Some(1)), "{e}");
        assert!(e.to_string().starts_with("bad.proto:5:1: "), "{e}");
    }

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        let (_dir, source) = schema();
        let e = ProtoType::load(&source, "chat.Nope").unwrap_err();
        assert!(e.to_string().contains("chat.Counter"), "{e}");
    }
}
