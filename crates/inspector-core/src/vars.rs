//! Variables in URLs, headers and messages: `{{uuid}}`, `{{counter}}`, `{{env.HOME}}`, a
//! profile's `{{token}}`…, expanded just before a message is sent (the composer, profiles and
//! `wsi --var NAME=VALUE`).
//!
//! [`Variables`] holds the user's variables (name → [`Value`], a value possibly marked
//! secret), the connection's counter, and the [`Sources`] of time, randomness and the
//! process environment (replaceable, for tests: [`FixedSources`]). [`Variables::expand`]
//! turns a template into the text to send, [`Variables::preview`] shows what it would send
//! with secrets masked and without using up a counter value, and [`Variables::mask`] hides
//! secret values in any text (for the UI, captures and exports).
//!
//! # Syntax
//!
//! A placeholder is `{{`, a name, optional arguments separated by whitespace, and `}}`;
//! whitespace just inside the braces is allowed (`{{ uuid }}`). The names:
//!
//! | Placeholder            | Expands to |
//! |------------------------|------------|
//! | `{{uuid}}`             | a random UUID v4, lowercase (`8-4-4-4-12` hex digits); a new one for every occurrence |
//! | `{{timestamp}}`        | Unix time in milliseconds, such as `1700000000123` |
//! | `{{iso_time}}`         | RFC 3339 in UTC with milliseconds, such as `2023-11-14T22:13:20.123Z` |
//! | `{{counter}}`          | the connection's counter: 1 on the first expansion using it, then 2, 3… |
//! | `{{random_int MIN MAX}}` | a whole number from MIN to MAX, both included (`i64`); drawn anew for every occurrence |
//! | `{{env.NAME}}`         | the process environment variable `NAME` (an error if unset or not Unicode) |
//! | `{{NAME}}`             | the user's (profile's or `--var`'s) variable `NAME`, inserted as is (never expanded itself) |
//!
//! One expansion reads the clock once: every `{{timestamp}}` and `{{iso_time}}` of a template
//! names the same instant. Every `{{counter}}` of one template has the same value, and the
//! counter advances by one per successful expansion that uses it (a failed expansion sends
//! nothing, so it uses up no value; neither does a [preview](Variables::preview)).
//!
//! User variable names ([`is_valid_name`]): ASCII letters, digits, `_`, `-` and `.`, starting
//! with a letter or `_`; the built-in names (`uuid`, `timestamp`, `iso_time`, `counter`,
//! `random_int`) and names starting with `env.` are reserved. [`parse_assignment`] reads
//! `NAME=VALUE` (as `wsi --var` takes it).
//!
//! # Escapes
//!
//! Only `{{` is special, and backslashes only in a run right before a `{{`:
//!
//! - `\{{` is a literal `{{` (what follows is plain text: `\{{uuid}}` sends `{{uuid}}`);
//! - in a run of backslashes right before `{{`, each `\\` is one literal backslash, and an
//!   odd one left over escapes the `{{`: `\\{{uuid}}` sends `\` and a UUID, `\\\{{x}}` sends
//!   `\{{x}}`;
//! - every other backslash is itself (`"a\nb"` in a JSON message stays as typed), and so are
//!   a single `{` and any `}` outside a placeholder (`}}` needs no escape).
//!
//! A template without `{{` therefore always expands to itself.
//!
//! # Errors
//!
//! An unknown name, a wrong argument, an unclosed `{{`, an unset environment variable: each
//! is a [`VarError`] that names the placeholder and its byte offset in the template, in plain
//! words (`{{random_int 1 x}} at byte 5: "x" is not a whole number`), and the caller sends
//! nothing.
//!
//! # Why not a templating crate
//!
//! handlebars and minijinja both render an unknown variable as an empty string by default
//! (a strict mode must be turned on), and accept far more than this: handlebars HTML-escapes
//! what it inserts by default and has blocks, partials and comments; minijinja gives
//! `{% … %}` and `{# … #}` a meaning too (text a WebSocket message may well contain), and
//! would call `random_int(1, 100)`, not `random_int 1 100`. Their errors speak of their own
//! grammar. This syntax is small enough to parse by hand, with errors that name the
//! placeholder and its offset.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What [`Variables::mask`] puts in place of a secret value.
pub const MASK: &str = "••••";

/// The built-in names, as a user sees them in "known" lists.
const BUILT_INS: [&str; 6] = [
    "uuid",
    "timestamp",
    "iso_time",
    "counter",
    "random_int MIN MAX",
    "env.NAME",
];

/// The names a user variable cannot take (besides those starting with `env.`).
const RESERVED: [&str; 5] = ["uuid", "timestamp", "iso_time", "counter", "random_int"];

/// A user variable's value: its text and whether it is secret.
///
/// A secret value is masked in the UI ([`Variables::mask`], [`Variables::preview`]) and must
/// never be written to captures or exports; [`Expanded::secrets_used`] tells which secrets a
/// message carries. In RON or JSON, `secret` may be left out (it defaults to `false`). Its
/// `Debug` output masks a secret text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Value {
    /// The text inserted for the variable, as is.
    pub text: String,
    /// Whether the text is secret (a token, a password).
    #[serde(default)]
    pub secret: bool,
}

impl Value {
    /// A value that is not secret.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            secret: false,
        }
    }

    /// A secret value.
    pub fn secret(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            secret: true,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: &dyn fmt::Debug = if self.secret { &MASK } else { &self.text };
        f.debug_struct("Value")
            .field("text", text)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Where [`Variables`] get the time, random numbers and the process environment from:
/// [`SystemSources`] for real use, [`FixedSources`] for tests (or anything else that must be
/// reproducible).
pub trait Sources: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// 64 random bits (need not be cryptographically strong).
    fn random_u64(&self) -> u64;
    /// The environment variable `name`, if set.
    fn env(&self, name: &str) -> Option<OsString>;
}

/// The system's clock, the process environment, and a SplitMix64 generator seeded by the
/// operating system ([`getrandom`]).
#[derive(Debug)]
pub struct SystemSources {
    rng: SplitMix64,
}

impl SystemSources {
    /// Sources seeded from the operating system (from the clock if that fails).
    pub fn new() -> Self {
        let seed = getrandom::u64().unwrap_or_else(|_| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
        });
        Self {
            rng: SplitMix64::new(seed),
        }
    }
}

impl Default for SystemSources {
    fn default() -> Self {
        Self::new()
    }
}

impl Sources for SystemSources {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn random_u64(&self) -> u64 {
        self.rng.next()
    }

    fn env(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// A clock that does not move, a seeded generator and an environment of its own: the same
/// expansions every time.
#[derive(Debug)]
pub struct FixedSources {
    /// What [`Sources::now`] answers.
    pub now: SystemTime,
    /// The environment [`Sources::env`] reads (the process's own is never read).
    pub env: BTreeMap<String, OsString>,
    rng: SplitMix64,
}

impl FixedSources {
    /// The clock stopped at `now`, a generator seeded with `seed`, an empty environment.
    pub fn new(now: SystemTime, seed: u64) -> Self {
        Self {
            now,
            env: BTreeMap::new(),
            rng: SplitMix64::new(seed),
        }
    }

    /// The same, with the environment variable `name` set to `value`.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<OsString>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }
}

impl Sources for FixedSources {
    fn now(&self) -> SystemTime {
        self.now
    }

    fn random_u64(&self) -> u64 {
        self.rng.next()
    }

    fn env(&self, name: &str) -> Option<OsString> {
        self.env.get(name).cloned()
    }
}

/// SplitMix64 (Steele, Lea and Flood), lock-free: the state advances by one atomic add.
#[derive(Debug)]
struct SplitMix64(AtomicU64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }

    fn next(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .0
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A template expanded: the text to send and the secret variables it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The text, every placeholder replaced and every escape resolved.
    pub text: String,
    /// The names of the secret variables inserted, each once, in the order of their first
    /// use: empty when the text carries no secret. A caller masks the text
    /// ([`Variables::mask`]) before showing or recording it.
    pub secrets_used: Vec<String>,
}

impl fmt::Debug for Expanded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: &dyn fmt::Debug = if self.secrets_used.is_empty() {
            &self.text
        } else {
            &"<holds secrets>"
        };
        f.debug_struct("Expanded")
            .field("text", text)
            .field("secrets_used", &self.secrets_used)
            .finish()
    }
}

/// Why a template could not be expanded, or a variable not set. Its `Display` says it in
/// plain words, naming the placeholder as written and its byte offset in the template.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarError {
    /// A `{{` with no `}}` after it (or another `{{` before its `}}`).
    Unclosed {
        /// The offset of the `{{`.
        offset: usize,
    },
    /// `{{}}` or `{{ }}`.
    Empty {
        /// The offset of the `{{`.
        offset: usize,
    },
    /// A name that is neither built in nor a user variable.
    Unknown {
        /// The placeholder as written, braces included.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// The name.
        name: String,
        /// A known name close to it (a typo?), if there is one.
        suggestion: Option<String>,
        /// Every name known: the built-ins (`random_int MIN MAX`, `env.NAME`), then the user
        /// variables in order.
        known: Vec<String>,
    },
    /// Arguments given to a name that takes none, or the wrong number of them.
    ArgumentCount {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// The name.
        name: String,
        /// What it takes, in words (`no arguments`, `two whole numbers, MIN and MAX`).
        expected: &'static str,
        /// How many were given.
        given: usize,
    },
    /// An argument that is not what the name takes.
    BadArgument {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// The argument.
        argument: String,
        /// The offset of the argument in the template.
        argument_offset: usize,
        /// What is wrong with it (`is not a whole number`).
        reason: String,
    },
    /// `{{random_int MIN MAX}}` with MIN greater than MAX.
    EmptyRange {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// MIN.
        min: i64,
        /// MAX.
        max: i64,
    },
    /// `{{env.NAME}}` with `NAME` not set (or `{{env.}}`, with no name).
    EnvUnset {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// The environment variable's name.
        name: String,
    },
    /// `{{env.NAME}}` with a value that is not Unicode.
    EnvNotUnicode {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
        /// The environment variable's name.
        name: String,
    },
    /// `{{timestamp}}` or `{{iso_time}}` with the clock before 1970.
    ClockBeforeEpoch {
        /// The placeholder as written.
        placeholder: String,
        /// The offset of its `{{`.
        offset: usize,
    },
    /// A user variable name that breaks the rules ([`is_valid_name`]).
    InvalidName {
        /// The name.
        name: String,
        /// Which rule, in words.
        reason: &'static str,
    },
    /// An assignment without `=` ([`parse_assignment`]).
    NotAnAssignment {
        /// What was given.
        given: String,
    },
}

impl VarError {
    /// The byte offset in the template of the placeholder at fault (its `{{`); `None` for
    /// the errors of names and assignments.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Self::Unclosed { offset }
            | Self::Empty { offset }
            | Self::Unknown { offset, .. }
            | Self::ArgumentCount { offset, .. }
            | Self::BadArgument { offset, .. }
            | Self::EmptyRange { offset, .. }
            | Self::EnvUnset { offset, .. }
            | Self::EnvNotUnicode { offset, .. }
            | Self::ClockBeforeEpoch { offset, .. } => Some(*offset),
            Self::InvalidName { .. } | Self::NotAnAssignment { .. } => None,
        }
    }
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed { offset } => {
                write!(f, "unclosed {{{{ at byte {offset}: no }}}} closes it")
            }
            Self::Empty { offset } => write!(f, "empty {{{{}}}} at byte {offset}: no name"),
            Self::Unknown {
                placeholder,
                offset,
                suggestion,
                known,
                ..
            } => {
                write!(f, "unknown variable {placeholder} at byte {offset}")?;
                if let Some(s) = suggestion {
                    write!(f, ", did you mean {{{{{s}}}}}?")?;
                }
                write!(f, " (known: {})", known.join(", "))
            }
            Self::ArgumentCount {
                placeholder,
                offset,
                name,
                expected,
                given,
            } => write!(
                f,
                "{placeholder} at byte {offset}: {name} takes {expected}, {given} given"
            ),
            Self::BadArgument {
                placeholder,
                offset,
                argument,
                reason,
                ..
            } => write!(f, "{placeholder} at byte {offset}: {argument:?} {reason}"),
            Self::EmptyRange {
                placeholder,
                offset,
                min,
                max,
            } => write!(
                f,
                "{placeholder} at byte {offset}: MIN {min} is greater than MAX {max}"
            ),
            Self::EnvUnset {
                placeholder,
                offset,
                name,
            } if name.is_empty() => write!(
                f,
                "{placeholder} at byte {offset}: no environment variable named after env."
            ),
            Self::EnvUnset {
                placeholder,
                offset,
                name,
            } => write!(
                f,
                "{placeholder} at byte {offset}: environment variable {name} is not set"
            ),
            Self::EnvNotUnicode {
                placeholder,
                offset,
                name,
            } => write!(
                f,
                "{placeholder} at byte {offset}: environment variable {name} is not valid Unicode"
            ),
            Self::ClockBeforeEpoch {
                placeholder,
                offset,
            } => write!(
                f,
                "{placeholder} at byte {offset}: the clock reads a time before 1970"
            ),
            Self::InvalidName { name, reason } => {
                write!(f, "{name:?} is not a valid variable name: {reason}")
            }
            Self::NotAnAssignment { given } => {
                write!(f, "{given:?} is not NAME=VALUE: no \"=\"")
            }
        }
    }
}

impl std::error::Error for VarError {}

/// Whether `name` may name a user variable: ASCII letters, digits, `_`, `-` and `.`, the
/// first a letter or `_`, and neither a built-in name (`uuid`, `timestamp`, `iso_time`,
/// `counter`, `random_int`) nor starting with `env.`.
pub fn is_valid_name(name: &str) -> bool {
    check_name(name).is_ok()
}

fn check_name(name: &str) -> Result<(), VarError> {
    let invalid = |reason| {
        Err(VarError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return invalid("it is empty");
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return invalid("it must start with a letter or \"_\"");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return invalid("only letters, digits, \"_\", \"-\" and \".\" are allowed");
    }
    if RESERVED.contains(&name) {
        return invalid("it is a built-in variable");
    }
    if name.starts_with("env.") {
        return invalid("names starting with \"env.\" read the environment");
    }
    Ok(())
}

/// Splits `NAME=VALUE` (as `wsi --var` takes it) at its first `=`: the name must be valid
/// ([`is_valid_name`]), the value is everything after the `=`, kept as is (it may be empty,
/// hold `=` or spaces, and is never expanded).
pub fn parse_assignment(assignment: &str) -> Result<(String, String), VarError> {
    let Some((name, value)) = assignment.split_once('=') else {
        return Err(VarError::NotAnAssignment {
            given: assignment.to_owned(),
        });
    };
    check_name(name)?;
    Ok((name.to_owned(), value.to_owned()))
}

/// The variables of one connection: the user's, the counter, and the sources of time,
/// randomness and environment. See the [module](self) for the syntax.
///
/// Cloning gives a set with the same variables, counter and sources; a new connection starts
/// from a clone with [`reset_counter`](Self::reset_counter). Its `Debug` output masks secret
/// values.
#[derive(Clone)]
pub struct Variables {
    values: BTreeMap<String, Value>,
    /// The last counter value used (0: none yet).
    counter: u64,
    sources: Arc<dyn Sources>,
}

impl fmt::Debug for Variables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Variables")
            .field("values", &self.values)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl Default for Variables {
    fn default() -> Self {
        Self::new()
    }
}

/// What one expansion produced, before it is committed.
struct Expansion {
    text: String,
    secrets_used: Vec<String>,
    uses_counter: bool,
}

impl Variables {
    /// No user variables, the counter at its start, the system's [`Sources`].
    pub fn new() -> Self {
        Self::with_sources(Arc::new(SystemSources::new()))
    }

    /// No user variables, the counter at its start, time, randomness and environment from
    /// `sources`.
    pub fn with_sources(sources: Arc<dyn Sources>) -> Self {
        Self {
            values: BTreeMap::new(),
            counter: 0,
            sources,
        }
    }

    /// Sets the variable `name` (which must be valid: [`is_valid_name`]), returning its
    /// previous value.
    pub fn set(&mut self, name: &str, value: Value) -> Result<Option<Value>, VarError> {
        check_name(name)?;
        Ok(self.values.insert(name.to_owned(), value))
    }

    /// Sets a plain (not secret) variable from `NAME=VALUE` ([`parse_assignment`]), as
    /// `wsi --var` does.
    pub fn assign(&mut self, assignment: &str) -> Result<(), VarError> {
        let (name, text) = parse_assignment(assignment)?;
        self.values.insert(name, Value::plain(text));
        Ok(())
    }

    /// The variable `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Removes the variable `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.values.remove(name)
    }

    /// The user variables, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether any user variable is secret.
    pub fn has_secrets(&self) -> bool {
        self.values.values().any(|v| v.secret)
    }

    /// The last value `{{counter}}` expanded to; 0 before its first use.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Starts the counter again: the next `{{counter}}` is 1.
    pub fn reset_counter(&mut self) {
        self.counter = 0;
    }

    /// Expands `template` ([module](self) syntax). On success, advances the counter if the
    /// template uses `{{counter}}`; on error, changes nothing (and the caller sends nothing).
    pub fn expand(&mut self, template: &str) -> Result<Expanded, VarError> {
        let expansion = self.run(template)?;
        if expansion.uses_counter {
            self.counter += 1;
        }
        Ok(Expanded {
            text: expansion.text,
            secrets_used: expansion.secrets_used,
        })
    }

    /// What [`expand`](Self::expand) would send, with secret values masked
    /// ([`mask`](Self::mask)), without advancing the counter: `{{counter}}` shows the value
    /// the next expansion will use. `{{uuid}}`, `{{random_int}}` and the clock give values
    /// of their own (the message sent will have others).
    pub fn preview(&self, template: &str) -> Result<String, VarError> {
        let expansion = self.run(template)?;
        Ok(self.mask(&expansion.text))
    }

    /// `text` with every occurrence of a secret value replaced by [`MASK`] (`••••`); where
    /// secret values overlap, the longest that starts first is masked. Empty secrets are
    /// ignored.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.secret_texts();
        if secrets.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'outer: while let Some(c) = rest.chars().next() {
            for secret in &secrets {
                if let Some(after) = rest.strip_prefix(secret.as_str()) {
                    out.push_str(MASK);
                    rest = after;
                    continue 'outer;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// [`mask`](Self::mask) for bytes (a binary message, a raw handshake): every occurrence
    /// of a secret value's UTF-8 bytes replaced by those of [`MASK`].
    pub fn mask_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let secrets = self.secret_texts();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        'outer: while i < bytes.len() {
            for secret in &secrets {
                if bytes[i..].starts_with(secret.as_bytes()) {
                    out.extend_from_slice(MASK.as_bytes());
                    i += secret.len();
                    continue 'outer;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        out
    }

    /// The non-empty secret texts, longest first.
    fn secret_texts(&self) -> Vec<&String> {
        let mut secrets: Vec<&String> = self
            .values
            .values()
            .filter(|v| v.secret && !v.text.is_empty())
            .map(|v| &v.text)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        secrets
    }

    /// Expands without changing anything: the counter's value is the next one.
    fn run(&self, template: &str) -> Result<Expansion, VarError> {
        let mut out = Expansion {
            text: String::with_capacity(template.len()),
            secrets_used: Vec::new(),
            uses_counter: false,
        };
        let mut now: Option<SystemTime> = None;
        let mut pos = 0;
        while let Some(found) = template[pos..].find("{{") {
            let open = pos + found;
            // The run of backslashes right before the `{{` (within the text not yet copied).
            let backslashes = template[pos..open]
                .bytes()
                .rev()
                .take_while(|&b| b == b'\\')
                .count();
            out.text.push_str(&template[pos..open - backslashes]);
            out.text.extend(std::iter::repeat_n('\\', backslashes / 2));
            if backslashes % 2 == 1 {
                out.text.push_str("{{");
                pos = open + 2;
                continue;
            }
            let inner_start = open + 2;
            let Some(close) = template[inner_start..].find("}}") else {
                return Err(VarError::Unclosed { offset: open });
            };
            let inner_end = inner_start + close;
            let inner = &template[inner_start..inner_end];
            if inner.contains("{{") {
                return Err(VarError::Unclosed { offset: open });
            }
            let placeholder = Placeholder {
                text: &template[open..inner_end + 2],
                offset: open,
                inner_offset: inner_start,
                inner,
            };
            self.substitute(&placeholder, &mut now, &mut out)?;
            pos = inner_end + 2;
        }
        out.text.push_str(&template[pos..]);
        Ok(out)
    }

    /// Appends the value of one placeholder to `out.text`.
    fn substitute(
        &self,
        p: &Placeholder<'_>,
        now: &mut Option<SystemTime>,
        out: &mut Expansion,
    ) -> Result<(), VarError> {
        let words = p.words();
        let Some(&(_, name)) = words.first() else {
            return Err(VarError::Empty { offset: p.offset });
        };
        let args = &words[1..];
        let mut clock = || *now.get_or_insert_with(|| self.sources.now());
        match name {
            "uuid" => {
                p.no_arguments(name, args)?;
                out.text.push_str(&self.uuid_v4());
            }
            "timestamp" => {
                p.no_arguments(name, args)?;
                let millis = clock()
                    .duration_since(UNIX_EPOCH)
                    .map_err(|_| p.clock_error())?
                    .as_millis();
                out.text.push_str(&millis.to_string());
            }
            "iso_time" => {
                p.no_arguments(name, args)?;
                let now = clock();
                if now < UNIX_EPOCH {
                    return Err(p.clock_error());
                }
                out.text
                    .push_str(&humantime::format_rfc3339_millis(now).to_string());
            }
            "counter" => {
                p.no_arguments(name, args)?;
                out.uses_counter = true;
                out.text.push_str(&(self.counter + 1).to_string());
            }
            "random_int" => {
                let [(min_at, min), (max_at, max)] = args else {
                    return Err(VarError::ArgumentCount {
                        placeholder: p.text.to_owned(),
                        offset: p.offset,
                        name: name.to_owned(),
                        expected: "two whole numbers, MIN and MAX",
                        given: args.len(),
                    });
                };
                let (min, max) = (p.integer(*min_at, min)?, p.integer(*max_at, max)?);
                if min > max {
                    return Err(VarError::EmptyRange {
                        placeholder: p.text.to_owned(),
                        offset: p.offset,
                        min,
                        max,
                    });
                }
                out.text.push_str(&self.random_in(min, max).to_string());
            }
            _ => {
                if let Some(env_name) = name.strip_prefix("env.") {
                    p.no_arguments(name, args)?;
                    let value = (!env_name.is_empty())
                        .then(|| self.sources.env(env_name))
                        .flatten()
                        .ok_or_else(|| VarError::EnvUnset {
                            placeholder: p.text.to_owned(),
                            offset: p.offset,
                            name: env_name.to_owned(),
                        })?;
                    let value = value.into_string().map_err(|_| VarError::EnvNotUnicode {
                        placeholder: p.text.to_owned(),
                        offset: p.offset,
                        name: env_name.to_owned(),
                    })?;
                    out.text.push_str(&value);
                } else if let Some(value) = self.values.get(name) {
                    p.no_arguments(name, args)?;
                    out.text.push_str(&value.text);
                    if value.secret && !out.secrets_used.iter().any(|s| s == name) {
                        out.secrets_used.push(name.to_owned());
                    }
                } else {
                    return Err(self.unknown(p, name));
                }
            }
        }
        Ok(())
    }

    fn unknown(&self, p: &Placeholder<'_>, name: &str) -> VarError {
        let known: Vec<String> = BUILT_INS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.values.keys().cloned())
            .collect();
        let suggestion = RESERVED
            .iter()
            .copied()
            .chain(self.values.keys().map(String::as_str))
            .map(|k| (edit_distance(name, k), k))
            .filter(|&(d, k)| d <= 2 && d < k.chars().count())
            .min_by_key(|&(d, _)| d)
            .map(|(_, k)| k.to_owned());
        VarError::Unknown {
            placeholder: p.text.to_owned(),
            offset: p.offset,
            name: name.to_owned(),
            suggestion,
            known,
        }
    }

    /// A random UUID v4 (RFC 9562), lowercase.
    fn uuid_v4(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.sources.random_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.sources.random_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10xx
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        s
    }

    /// A uniform whole number from `min` to `max` (`min <= max`), without modulo bias.
    fn random_in(&self, min: i64, max: i64) -> i64 {
        // The number of values less one: 0..=u64::MAX.
        let span_less_one = max.wrapping_sub(min) as u64;
        let offset = if span_less_one == u64::MAX {
            self.sources.random_u64()
        } else {
            let span = span_less_one + 1;
            // Accept only draws below the largest multiple of `span` that fits.
            let limit = u64::MAX - (u64::MAX % span + 1) % span;
            loop {
                let r = self.sources.random_u64();
                if r <= limit {
                    break r % span;
                }
            }
        };
        min.wrapping_add(offset as i64)
    }
}

/// One `{{…}}` of a template.
struct Placeholder<'a> {
    /// As written, braces included.
    text: &'a str,
    /// The offset of its `{{`.
    offset: usize,
    /// The offset of what is between the braces.
    inner_offset: usize,
    /// What is between the braces.
    inner: &'a str,
}

impl<'a> Placeholder<'a> {
    /// The whitespace-separated words inside the braces, with their offsets in the template.
    fn words(&self) -> Vec<(usize, &'a str)> {
        let inner = self.inner;
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in inner.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    words.push((self.inner_offset + s, &inner[s..i]));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            words.push((self.inner_offset + s, &inner[s..]));
        }
        words
    }

    fn no_arguments(&self, name: &str, args: &[(usize, &str)]) -> Result<(), VarError> {
        if args.is_empty() {
            return Ok(());
        }
        Err(VarError::ArgumentCount {
            placeholder: self.text.to_owned(),
            offset: self.offset,
            name: name.to_owned(),
            expected: "no arguments",
            given: args.len(),
        })
    }

    fn integer(&self, at: usize, arg: &str) -> Result<i64, VarError> {
        arg.parse().map_err(|_| {
            let whole = arg.strip_prefix(['-', '+']).unwrap_or(arg);
            let reason = if !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) {
                "is too large (whole numbers from -9223372036854775808 to 9223372036854775807)"
            } else {
                "is not a whole number"
            };
            VarError::BadArgument {
                placeholder: self.text.to_owned(),
                offset: self.offset,
                argument: arg.to_owned(),
                argument_offset: at,
                reason: reason.to_owned(),
            }
        })
    }

    fn clock_error(&self) -> VarError {
        VarError::ClockBeforeEpoch {
            placeholder: self.text.to_owned(),
            offset: self.offset,
        }
    }
}

/// The Levenshtein distance between `a` and `b`, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::capture::{CaptureLine, FrameRecord, JsonlReader, JsonlWriter, Record};

    /// 2023-11-14T22:13:20.123Z.
    fn instant() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
    }

    fn fixed() -> Variables {
        Variables::with_sources(Arc::new(
            FixedSources::new(instant(), 42).with_env("WSI_TEST_HOME", "/home/ws"),
        ))
    }

    fn expand(vars: &mut Variables, template: &str) -> String {
        vars.expand(template).unwrap().text
    }

    fn is_uuid_v4(s: &str) -> bool {
        let groups: Vec<&str> = s.split('-').collect();
        groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && s.bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && groups[2].starts_with('4')
            && matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
    }

    #[test]
    fn uuid_is_v4_and_new_at_every_occurrence() {
        let mut vars = fixed();
        let text = expand(&mut vars, "{{uuid}} {{ uuid }}");
        let (a, b) = text.split_once(' ').unwrap();
        assert!(is_uuid_v4(a), "{a}");
        assert!(is_uuid_v4(b), "{b}");
        assert_ne!(a, b);
        // The same seed, the same UUIDs.
        assert_eq!(expand(&mut fixed(), "{{uuid}} {{ uuid }}"), text);
    }

    #[test]
    fn timestamp_and_iso_time_read_one_instant() {
        let mut vars = fixed();
        assert_eq!(
            expand(&mut vars, "{{timestamp}} {{iso_time}}"),
            "1700000000123 2023-11-14T22:13:20.123Z"
        );
        // Unix epoch: zero, and the milliseconds are always there.
        let mut vars = Variables::with_sources(Arc::new(FixedSources::new(UNIX_EPOCH, 1)));
        assert_eq!(
            expand(&mut vars, "{{timestamp}}|{{iso_time}}"),
            "0|1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn a_clock_before_1970_is_an_error() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        let mut vars = Variables::with_sources(Arc::new(FixedSources::new(before, 1)));
        for template in ["{{timestamp}}", "{{iso_time}}"] {
            let err = vars.expand(template).unwrap_err();
            assert!(matches!(err, VarError::ClockBeforeEpoch { offset: 0, .. }));
            assert!(err.to_string().contains("before 1970"), "{err}");
        }
    }

    #[test]
    fn counter_is_per_expansion_and_shared_within_one() {
        let mut vars = fixed();
        assert_eq!(vars.counter(), 0);
        assert_eq!(expand(&mut vars, "#{{counter}}"), "#1");
        assert_eq!(expand(&mut vars, "{{counter}}={{ counter }}"), "2=2");
        // A template without it leaves it alone.
        assert_eq!(expand(&mut vars, "no counter"), "no counter");
        assert_eq!(expand(&mut vars, "{{counter}}"), "3");
        assert_eq!(vars.counter(), 3);
        // A failed expansion uses up no value.
        assert!(vars.expand("{{counter}} {{nope}}").is_err());
        assert_eq!(expand(&mut vars, "{{counter}}"), "4");
        // Per `Variables`: another connection counts from 1.
        let mut other = vars.clone();
        other.reset_counter();
        assert_eq!(expand(&mut other, "{{counter}}"), "1");
        assert_eq!(expand(&mut vars, "{{counter}}"), "5");
    }

    #[test]
    fn random_int_stays_in_range_and_covers_it() {
        let mut vars = fixed();
        let mut seen = [false; 6];
        for _ in 0..200 {
            let n: i64 = expand(&mut vars, "{{random_int 1 6}}").parse().unwrap();
            assert!((1..=6).contains(&n), "{n}");
            seen[(n - 1) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
        assert_eq!(expand(&mut vars, "{{random_int -3 -3}}"), "-3");
        assert_eq!(expand(&mut vars, "{{ random_int  7\t7 }}"), "7");
        // The whole range of i64, and a range wider than i64::MAX.
        for _ in 0..50 {
            let full = "{{random_int -9223372036854775808 9223372036854775807}}";
            assert!(expand(&mut vars, full).parse::<i64>().is_ok());
            let wide = "{{random_int -9223372036854775808 1}}";
            let n: i64 = expand(&mut vars, wide).parse().unwrap();
            assert!(n <= 1, "{n}");
        }
        // A new number at every occurrence (and reproducible from the seed).
        let text = expand(
            &mut fixed(),
            "{{random_int 1 1000000}} {{random_int 1 1000000}}",
        );
        let (a, b) = text.split_once(' ').unwrap();
        assert_ne!(a, b);
        assert_eq!(
            expand(
                &mut fixed(),
                "{{random_int 1 1000000}} {{random_int 1 1000000}}"
            ),
            text
        );
    }

    #[test]
    fn env_reads_the_sources_environment() {
        let mut vars = fixed();
        assert_eq!(expand(&mut vars, "{{env.WSI_TEST_HOME}}/x"), "/home/ws/x");
        let err = vars.expand("a {{env.WSI_UNSET}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "{{env.WSI_UNSET}} at byte 2: environment variable WSI_UNSET is not set"
        );
        assert!(
            matches!(vars.expand("{{env.}}"), Err(VarError::EnvUnset { name, .. }) if name.is_empty())
        );
    }

    #[cfg(unix)]
    #[test]
    fn env_not_unicode_is_an_error() {
        use std::os::unix::ffi::OsStringExt;
        let sources =
            FixedSources::new(instant(), 1).with_env("BAD", OsString::from_vec(vec![0x66, 0xff]));
        let mut vars = Variables::with_sources(Arc::new(sources));
        let err = vars.expand("{{env.BAD}}").unwrap_err();
        assert!(matches!(err, VarError::EnvNotUnicode { .. }));
        assert!(err.to_string().contains("not valid Unicode"), "{err}");
    }

    #[test]
    fn system_sources_read_the_process() {
        let mut vars = Variables::new();
        let path = std::env::var("PATH").expect("PATH is set for tests");
        assert_eq!(expand(&mut vars, "{{env.PATH}}"), path);
        assert!(is_uuid_v4(&expand(&mut vars, "{{uuid}}")));
        let ms: u128 = expand(&mut vars, "{{timestamp}}").parse().unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(now.as_millis().abs_diff(ms) < 60_000);
        let iso = expand(&mut vars, "{{iso_time}}");
        assert!(
            humantime::parse_rfc3339(&iso).is_ok() && iso.ends_with('Z'),
            "{iso}"
        );
    }

    #[test]
    fn user_variables() {
        let mut vars = fixed();
        vars.set("host", Value::plain("example.com")).unwrap();
        vars.set("a.b-c_1", Value::plain("{{uuid}}")).unwrap();
        assert_eq!(
            expand(&mut vars, "wss://{{host}}/{{ a.b-c_1 }}"),
            "wss://example.com/{{uuid}}",
            "values are inserted as is, never expanded"
        );
        assert_eq!(
            vars.set("host", Value::plain("h")).unwrap(),
            Some(Value::plain("example.com"))
        );
        assert_eq!(vars.get("host"), Some(&Value::plain("h")));
        assert_eq!(vars.remove("host"), Some(Value::plain("h")));
        assert!(vars.expand("{{host}}").is_err());
        let err = vars.expand("{{a.b-c_1 x}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "{{a.b-c_1 x}} at byte 0: a.b-c_1 takes no arguments, 1 given"
        );
        assert!(matches!(
            vars.set("counter", Value::plain("1")),
            Err(VarError::InvalidName { .. })
        ));
    }

    #[test]
    fn escapes() {
        let mut vars = fixed();
        vars.set("x", Value::plain("X")).unwrap();
        let cases = [
            (r"\{{x}}", "{{x}}"),
            (r"\\{{x}}", r"\X"),
            (r"\\\{{x}}", r"\{{x}}"),
            (r"\\\\{{x}}", r"\\X"),
            (r"a\{{b\{{x}}", "a{{b{{x}}"),
            (r"\{{{x}}", "{{{x}}"),
            (r"{{x}}\{{x}}{{x}}", "X{{x}}X"),
            // Backslashes elsewhere, lone braces and `}}` are plain text.
            (r#"{"a":"\n\\","b":{}} \x"#, r#"{"a":"\n\\","b":{}} \x"#),
            (r"\{x} }} {", r"\{x} }} {"),
            (r"{{x}}\", r"X\"),
            (r"{{x}}}", "X}"),
        ];
        for (template, expected) in cases {
            assert_eq!(expand(&mut vars, template), expected, "{template}");
        }
    }

    #[test]
    fn unknown_names_are_named_with_what_is_known() {
        let mut vars = fixed();
        vars.set("name", Value::plain("n")).unwrap();
        vars.set("token", Value::secret("s3cret")).unwrap();
        let err = vars.expand("hi {{nmae}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable {{nmae}} at byte 3, did you mean {{name}}? (known: uuid, \
             timestamp, iso_time, counter, random_int MIN MAX, env.NAME, name, token)"
        );
        assert_eq!(err.offset(), Some(3));
        let VarError::Unknown { suggestion, .. } = vars.expand("{{ uuidd }}").unwrap_err() else {
            panic!()
        };
        assert_eq!(suggestion.as_deref(), Some("uuid"));
        let VarError::Unknown {
            suggestion, name, ..
        } = vars.expand("{{zzzzzz}}").unwrap_err()
        else {
            panic!()
        };
        assert_eq!((suggestion, name.as_str()), (None, "zzzzzz"));
        // Built-ins are lowercase; `{x` is not a name.
        assert!(matches!(
            vars.expand("{{UUID}}"),
            Err(VarError::Unknown { .. })
        ));
        assert!(matches!(
            vars.expand("{{{x}}}"),
            Err(VarError::Unknown { name, .. }) if name == "{x"
        ));
    }

    #[test]
    fn bad_arguments_name_the_argument() {
        let mut vars = fixed();
        let err = vars.expand("n={{random_int 1 x}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"{{random_int 1 x}} at byte 2: "x" is not a whole number"#
        );
        assert!(matches!(
            err,
            VarError::BadArgument {
                argument_offset: 17,
                offset: 2,
                ..
            }
        ));
        assert!(
            vars.expand("{{random_int 1.5 2}}")
                .unwrap_err()
                .to_string()
                .contains(r#""1.5" is not a whole number"#)
        );
        assert!(
            vars.expand("{{random_int 1 99999999999999999999}}")
                .unwrap_err()
                .to_string()
                .contains("is too large")
        );
        assert_eq!(
            vars.expand("{{random_int 10 1}}").unwrap_err().to_string(),
            "{{random_int 10 1}} at byte 0: MIN 10 is greater than MAX 1"
        );
        for (template, given) in [
            ("{{random_int}}", 0),
            ("{{random_int 1}}", 1),
            ("{{random_int 1 2 3}}", 3),
        ] {
            let err = vars.expand(template).unwrap_err();
            assert!(
                matches!(err, VarError::ArgumentCount { given: g, .. } if g == given),
                "{template}"
            );
            assert!(
                err.to_string()
                    .contains("takes two whole numbers, MIN and MAX")
            );
        }
        for name in [
            "uuid",
            "timestamp",
            "iso_time",
            "counter",
            "env.WSI_TEST_HOME",
        ] {
            let err = vars.expand(&format!("{{{{{name} 1}}}}")).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{{{{{name} 1}}}} at byte 0: {name} takes no arguments, 1 given")
            );
        }
    }

    #[test]
    fn unclosed_and_empty_braces() {
        let mut vars = fixed();
        let err = vars.expand("abc {{uuid").unwrap_err();
        assert_eq!(err, VarError::Unclosed { offset: 4 });
        assert_eq!(err.to_string(), "unclosed {{ at byte 4: no }} closes it");
        assert_eq!(
            vars.expand("{{uuid}} {{ {{uuid}}").unwrap_err(),
            VarError::Unclosed { offset: 9 }
        );
        assert_eq!(
            vars.expand("x{{").unwrap_err(),
            VarError::Unclosed { offset: 1 }
        );
        assert_eq!(
            vars.expand("é{{}}").unwrap_err(),
            VarError::Empty { offset: 2 }
        );
        assert_eq!(
            vars.expand("{{ \t }}").unwrap_err(),
            VarError::Empty { offset: 0 }
        );
        assert_eq!(
            vars.expand("{{}}").unwrap_err().to_string(),
            "empty {{}} at byte 0: no name"
        );
    }

    #[test]
    fn secrets_are_listed_and_masked() {
        let mut vars = fixed();
        vars.set("token", Value::secret("s3cret")).unwrap();
        vars.set("token_long", Value::secret("s3cret-and-more"))
            .unwrap();
        vars.set("empty", Value::secret("")).unwrap();
        vars.set("user", Value::plain("ann")).unwrap();
        assert!(vars.has_secrets());
        let expanded = vars
            .expand("{{user}}:{{token}} {{token_long}} {{token}} {{empty}}")
            .unwrap();
        assert_eq!(expanded.text, "ann:s3cret s3cret-and-more s3cret ");
        assert_eq!(expanded.secrets_used, ["token", "token_long", "empty"]);
        assert_eq!(vars.mask(&expanded.text), "ann:•••• •••• •••• ");
        assert_eq!(
            vars.mask_bytes(b"\x00s3cret\xff"),
            [b"\x00".as_slice(), MASK.as_bytes(), b"\xff"].concat()
        );
        assert_eq!(vars.mask("no secret here: s3cre"), "no secret here: s3cre");
        assert!(vars.expand("{{user}}").unwrap().secrets_used.is_empty());
        // Debug output never shows a secret.
        let debug = format!("{vars:?} {expanded:?} {:?}", vars.get("token"));
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("ann"), "{debug}");
    }

    #[test]
    fn preview_masks_and_does_not_count() {
        let mut vars = fixed();
        vars.set("token", Value::secret("s3cret")).unwrap();
        assert_eq!(
            vars.preview("Bearer {{token}} #{{counter}}").unwrap(),
            "Bearer •••• #1"
        );
        assert_eq!(vars.preview("{{counter}}").unwrap(), "1");
        assert_eq!(expand(&mut vars, "{{counter}}"), "1");
        assert_eq!(vars.preview("{{counter}}").unwrap(), "2");
        assert_eq!(
            vars.preview("{{random_int a 1}}").unwrap_err().to_string(),
            r#"{{random_int a 1}} at byte 0: "a" is not a whole number"#
        );
    }

    #[test]
    fn secrets_are_absent_from_a_saved_capture() {
        let mut vars = fixed();
        vars.set("token", Value::secret("s3cret-T0KEN")).unwrap();
        let sent = vars
            .expand(r#"{"auth":"{{token}}","n":{{counter}}}"#)
            .unwrap();
        assert!(sent.text.contains("s3cret-T0KEN"));
        assert_eq!(sent.secrets_used, ["token"]);
        // What a recorder writes of the message sent: the masked text, as a frame (base64)
        // and as plain text.
        let masked = vars.mask_bytes(sent.text.as_bytes());
        let frame = FrameRecord {
            incoming: false,
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: 1,
            mask: Some([1, 2, 3, 4]),
            payload_len: masked.len() as u64,
            payload: masked,
            decompressed_len: None,
            message: None,
        };
        let mut line = CaptureLine::header("vars test");
        let mut writer = JsonlWriter::new(Vec::new());
        writer.write_header("vars test").unwrap();
        line.record = Record::Frame(frame);
        writer.write_line(&line).unwrap();
        line.record = Record::Error {
            message: vars.mask(&sent.text),
        };
        writer.write_line(&line).unwrap();
        let saved = writer.finish().unwrap();
        let saved_text = String::from_utf8(saved.clone()).unwrap();
        assert!(!saved_text.contains("s3cret"), "{saved_text}");
        // Nor in the decoded payloads.
        let mut reader = JsonlReader::new(saved.as_slice());
        let mut lines = 0;
        while let Some(read) = reader.next_line() {
            let read = read.unwrap();
            let text = match &read.record {
                Record::Frame(f) => String::from_utf8(f.payload.clone()).unwrap(),
                Record::Error { message } => message.clone(),
                _ => continue,
            };
            assert_eq!(text, r#"{"auth":"••••","n":1}"#);
            lines += 1;
        }
        assert_eq!(lines, 2);
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("token=a=b c").unwrap(),
            ("token".to_owned(), "a=b c".to_owned())
        );
        assert_eq!(
            parse_assignment("_x.y-z9=").unwrap(),
            ("_x.y-z9".to_owned(), String::new())
        );
        let err = parse_assignment("token").unwrap_err();
        assert_eq!(err.to_string(), r#""token" is not NAME=VALUE: no "=""#);
        assert_eq!(err.offset(), None);
        for (bad, reason) in [
            ("=v", "empty"),
            ("1x=v", "start with a letter"),
            (".x=v", "start with a letter"),
            ("-x=v", "start with a letter"),
            ("a b=v", "only letters"),
            (" a=v", "start with a letter"),
            ("é=v", "start with a letter"),
            ("aé=v", "only letters"),
            ("uuid=v", "built-in"),
            ("random_int=v", "built-in"),
            ("env.HOME=v", "environment"),
        ] {
            let err = parse_assignment(bad).unwrap_err();
            assert!(matches!(err, VarError::InvalidName { .. }), "{bad}");
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
        assert!(is_valid_name("envy") && is_valid_name("env") && !is_valid_name("env.x"));
        let mut vars = fixed();
        vars.assign("host=example.com").unwrap();
        assert_eq!(vars.get("host"), Some(&Value::plain("example.com")));
        assert!(vars.assign("bad name=1").is_err());
        assert_eq!(vars.iter().count(), 1);
    }

    #[test]
    fn value_serde() {
        let plain: Value = ron::from_str(r#"(text: "a")"#).unwrap();
        assert_eq!(plain, Value::plain("a"));
        let secret: Value = ron::from_str(r#"(text: "b", secret: true)"#).unwrap();
        assert_eq!(secret, Value::secret("b"));
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, r#"{"text":"b","secret":true}"#);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), secret);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }

    proptest! {
        #[test]
        fn text_without_braces_expands_to_itself(template in "\\PC*") {
            prop_assume!(!template.contains("{{"));
            let mut vars = fixed();
            let expanded = vars.expand(&template).unwrap();
            prop_assert_eq!(&expanded.text, &template);
            prop_assert!(expanded.secrets_used.is_empty());
            prop_assert_eq!(vars.counter(), 0);
        }

        #[test]
        fn text_of_braces_and_backslashes_expands_to_itself(
            template in "[a{}\\\\ ]*"
        ) {
            prop_assume!(!template.contains("{{"));
            prop_assert_eq!(fixed().expand(&template).unwrap().text, template);
        }

        #[test]
        fn escaped_text_comes_back(text in "[a-z{}\\\\ ]*") {
            // Escaping every `{{` (and the backslashes before it) gives the text back.
            let escaped = escape_for_test(&text);
            prop_assert_eq!(fixed().expand(&escaped).unwrap().text, text);
        }
    }

    /// Doubles the backslashes right before each `{{` and adds one: the escape rules, run
    /// backwards.
    fn escape_for_test(text: &str) -> String {
        let mut out = String::new();
        let mut pos = 0;
        while let Some(found) = text[pos..].find("{{") {
            let open = pos + found;
            let run = text[pos..open]
                .bytes()
                .rev()
                .take_while(|&b| b == b'\\')
                .count();
            out.push_str(&text[pos..open]);
            out.push_str(&"\\".repeat(run + 1));
            out.push_str("{{");
            pos = open + 2;
        }
        out.push_str(&text[pos..]);
        out
    }
}
