//! A profile's variables ([`Profile::variables`]): rows of name, value and a secret flag, as
//! the user edits them, turned into the [`Variables`] a connection expands `{{…}}` with.
//!
//! Secrets: the profile's own file in the store keeps a secret's value (it is the user's
//! config folder, like a password manager's local vault it is only as safe as that folder);
//! an exported profile ([`Profile::for_export`]) keeps the row and its secret flag but never
//! the value, so whoever imports it sees which values to fill in. Captures mask secret
//! values ([`crate::capture::mask`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::profile::Profile;
use crate::vars::{Value, Variables, is_valid_name};

/// One profile variable, as the user edits it (a half-typed name is kept as typed).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariableRow {
    /// The name, used as `{{name}}` (see [`is_valid_name`]); rows with no name are skipped.
    pub name: String,
    /// The text inserted, as is.
    pub value: String,
    /// A secret (a token, a password): masked in the UI and in captures, left out of
    /// exports.
    pub secret: bool,
}

impl VariableRow {
    /// A plain (not secret) row.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            secret: false,
        }
    }

    /// A secret row.
    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            secret: true,
        }
    }
}

impl fmt::Debug for VariableRow {
    /// A secret value is masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret {
            &crate::vars::MASK
        } else {
            &self.value
        };
        f.debug_struct("VariableRow")
            .field("name", &self.name)
            .field("value", value)
            .field("secret", &self.secret)
            .finish()
    }
}

impl Profile {
    /// The profile's variables, for a new connection (its counter at the start): every row
    /// with a valid name (trimmed); of two rows with the same name, the later wins. Rows
    /// that do not count are what [`variable_problems`](Self::variable_problems) lists.
    pub fn variables(&self) -> Variables {
        let mut vars = Variables::new();
        self.update_variables(&mut vars);
        vars
    }

    /// Replaces the user variables of `vars` with the profile's, keeping its counter and
    /// sources: for a connection under way after the user edited the rows.
    pub fn update_variables(&self, vars: &mut Variables) {
        let old: Vec<String> = vars.iter().map(|(name, _)| name.to_owned()).collect();
        for name in old {
            vars.remove(&name);
        }
        for row in &self.variables {
            let value = Value {
                text: row.value.clone(),
                secret: row.secret,
            };
            // An invalid name is reported by `variable_problems`, not here.
            let _ = vars.set(row.name.trim(), value);
        }
    }

    /// Why rows do not count, one sentence each: an invalid name, or a name used twice.
    /// Rows with no name are not a problem (a row being typed).
    pub fn variable_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, row) in self.variables.iter().enumerate() {
            let name = row.name.trim();
            if name.is_empty() {
                continue;
            }
            if !is_valid_name(name) {
                let why = Variables::new()
                    .set(name, Value::plain(""))
                    .err()
                    .map_or_else(String::new, |e| e.to_string());
                problems.push(format!("row {}: {why}", i + 1));
            } else if self.variables[i + 1..]
                .iter()
                .any(|later| later.name.trim() == name)
            {
                problems.push(format!(
                    "row {}: {name:?} is set again further down, which wins",
                    i + 1
                ));
            }
        }
        problems
    }

    /// The non-empty values of the secret rows: what a capture of a connection made with
    /// this profile must mask ([`crate::capture::mask::Secrets`]).
    pub fn secret_values(&self) -> Vec<String> {
        self.variables
            .iter()
            .filter(|row| row.secret && !row.value.is_empty())
            .map(|row| row.value.clone())
            .collect()
    }

    /// The profile as an export writes it: every secret row's value emptied (the row and
    /// its flag stay, so whoever imports it knows what to fill in).
    pub fn for_export(&self) -> Profile {
        let mut profile = self.clone();
        for row in profile.variables.iter_mut().filter(|row| row.secret) {
            row.value.clear();
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            variables: vec![
                VariableRow::plain("user", "ada"),
                VariableRow::secret("token", "s3cr3t"),
                VariableRow::plain(" spaced ", "trimmed name"),
                VariableRow::plain("", "a row being typed"),
                VariableRow::plain("bad name", "x"),
                VariableRow::plain("counter", "reserved"),
                VariableRow::plain("user", "grace"),
            ],
            ..Profile::default()
        }
    }

    #[test]
    fn rows_become_variables() {
        let vars = profile().variables();
        let names: Vec<&str> = vars.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["spaced", "token", "user"]);
        assert_eq!(
            vars.get("user").unwrap().text,
            "grace",
            "the later row wins"
        );
        assert!(vars.get("token").unwrap().secret);
        assert_eq!(vars.mask("s3cr3t!"), "••••!");
        assert_eq!(vars.counter(), 0);
    }

    #[test]
    fn problems_name_the_row() {
        let problems = profile().variable_problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("row 1: \"user\" is set again"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("row 5: \"bad name\" is not a valid variable name"),
            "{problems:?}"
        );
        assert!(problems[2].contains("built-in"), "{problems:?}");
        assert!(Profile::default().variable_problems().is_empty());
    }

    #[test]
    fn an_update_keeps_the_counter() {
        let mut profile = profile();
        let mut vars = profile.variables();
        vars.expand("{{counter}}").unwrap();
        profile.variables = vec![VariableRow::plain("fresh", "1")];
        profile.update_variables(&mut vars);
        let names: Vec<&str> = vars.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["fresh"]);
        assert_eq!(vars.counter(), 1);
    }

    #[test]
    fn exports_leave_secret_values_out() {
        let profile = profile();
        assert_eq!(profile.secret_values(), ["s3cr3t"]);
        let exported = profile.for_export();
        assert_eq!(exported.variables[1], VariableRow::secret("token", ""));
        assert_eq!(exported.variables[0], profile.variables[0]);
        assert!(exported.secret_values().is_empty());
        // Debug masks secret values.
        let debug = format!("{:?}", profile.variables);
        assert!(
            !debug.contains("s3cr3t") && debug.contains("ada"),
            "{debug}"
        );
    }

    #[test]
    fn ron_round_trip() {
        let row = VariableRow::secret("t", "v");
        let text = ron::to_string(&row).unwrap();
        assert_eq!(ron::from_str::<VariableRow>(&text).unwrap(), row);
        let sparse: VariableRow = ron::from_str("(name: \"n\")").unwrap();
        assert_eq!(sparse, VariableRow::plain("n", ""));
    }
}
