//! The decoders' errors: [`DecodeError`] (a payload, at a byte), [`LoadError`] (a schema that
//! cannot be loaded: a `.proto` file with its line and column) and [`EncodeError`] (a value to
//! send that the format cannot carry).

use std::fmt;
use std::path::PathBuf;

/// A payload that did not decode: where, and why. The payload itself stays as it was (the
/// log keeps the raw bytes; a view shows them with this error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The byte of the payload (from 0) where decoding failed: the start of the value that
    /// is wrong or cut short. For a text protocol, the byte of the text.
    pub offset: usize,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl DecodeError {
    /// An error at `offset`.
    pub fn new(offset: usize, reason: impl Into<String>) -> Self {
        Self {
            offset,
            reason: reason.into(),
        }
    }

    /// The same error, `by` bytes further on (the error of an inner part of a payload,
    /// moved to the payload's numbering).
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// A decoder that cannot be set up: its schema file is missing, unreadable or wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The error, in plain words.
        reason: String,
    },
    /// A `.proto` file has a mistake (a syntax error, an unknown type, an import not found
    /// in the import folders).
    Proto {
        /// The file, as named among its import folders (or as given), if known.
        file: Option<String>,
        /// The line, from 1, if the error points into the file.
        line: Option<usize>,
        /// The column, from 1.
        column: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A compiled descriptor set that does not read as one.
    DescriptorSet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The message type is not in the schema.
    UnknownType {
        /// The type asked for.
        name: String,
        /// Some of the message types the schema has, to pick from.
        known: Vec<String>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::Proto {
                file,
                line,
                column,
                reason,
            } => {
                match (file, line, column) {
                    (Some(file), Some(line), Some(column)) => {
                        write!(f, "{file}:{line}:{column}: ")?;
                    }
                    (Some(file), Some(line), None) => write!(f, "{file}:{line}: ")?,
                    (Some(file), None, _) => write!(f, "{file}: ")?,
                    (None, _, _) => {}
                }
                f.write_str(reason)
            }
            Self::DescriptorSet { path, reason } => write!(
                f,
                "{}: not a compiled descriptor set (protoc --descriptor_set_out): {reason}",
                path.display()
            ),
            Self::UnknownType { name, known } => {
                write!(f, "no message type {name:?} in the schema")?;
                if !known.is_empty() {
                    write!(f, " (it has {})", known.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// A value to send that could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// What is wrong, in plain words (for JSON that does not parse: its line and column).
    pub reason: String,
}

impl EncodeError {
    /// An error saying `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for EncodeError {}
