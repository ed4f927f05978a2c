//! `--count` and `--expect`: what a client waits for before it is done.

use regex::Regex;

use crate::exit::Failure;

/// The goals of a run: a number of messages, and regular expressions to match in order.
#[derive(Debug)]
pub struct Goals {
    count: Option<u64>,
    received: u64,
    patterns: Vec<Regex>,
    matched: usize,
}

impl Goals {
    /// Goals from the flags; an invalid regular expression is a usage error.
    pub fn new(count: Option<u64>, patterns: &[String]) -> Result<Self, Failure> {
        let patterns = patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| Failure::usage(format!("--expect {p:?}: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            count,
            received: 0,
            patterns,
            matched: 0,
        })
    }

    /// Whether there is anything to wait for.
    pub fn any(&self) -> bool {
        self.count.is_some() || !self.patterns.is_empty()
    }

    /// Whether there are `--expect` patterns (they have a time limit; `--count` alone has
    /// none).
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// Counts a text or binary message (`text` for a text one) and matches the next
    /// pattern against it; returns whether every goal is now met.
    pub fn offer(&mut self, text: Option<&str>) -> bool {
        self.received += 1;
        if let (Some(text), Some(pattern)) = (text, self.patterns.get(self.matched))
            && pattern.is_match(text)
        {
            self.matched += 1;
        }
        self.met()
    }

    /// Whether every goal is met.
    pub fn met(&self) -> bool {
        self.matched == self.patterns.len() && self.count.is_none_or(|n| self.received >= n)
    }

    /// What is still missing, in plain words.
    pub fn missing(&self) -> String {
        let mut parts = Vec::new();
        if let Some(pattern) = self.patterns.get(self.matched) {
            parts.push(format!(
                "--expect {:?} (expectation {} of {}) was not matched by any message received \
                 after the previous one",
                pattern.as_str(),
                self.matched + 1,
                self.patterns.len()
            ));
        }
        if let Some(n) = self.count
            && self.received < n
        {
            parts.push(format!("--count {n}: only {} received", self.received));
        }
        if parts.is_empty() {
            return "nothing".to_owned();
        }
        format!(
            "{}; {} messages received in all",
            parts.join("; "),
            self.received
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goals(count: Option<u64>, patterns: &[&str]) -> Goals {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Goals::new(count, &patterns).unwrap()
    }

    #[test]
    fn patterns_match_in_order_skipping_messages_between() {
        let mut g = goals(None, &["^a", "b$"]);
        assert!(!g.offer(Some("xb")), "b$ is not first");
        assert!(!g.offer(Some("abc")));
        assert!(!g.offer(None));
        assert!(!g.offer(Some("zzz")));
        assert!(g.offer(Some("bob")));
        assert!(g.missing().contains("nothing"));
    }

    #[test]
    fn count_and_patterns_both_must_be_met() {
        let mut g = goals(Some(2), &["x"]);
        assert!(!g.offer(Some("x")));
        assert!(g.offer(None));
        let mut g = goals(Some(1), &["x"]);
        assert!(!g.offer(Some("y")));
        assert!(g.missing().contains("\"x\""), "{}", g.missing());
    }

    #[test]
    fn a_bad_pattern_is_a_usage_error() {
        let err = Goals::new(None, &["(".to_owned()]).unwrap_err();
        assert_eq!(err.status, crate::exit::Status::Usage);
    }
}
