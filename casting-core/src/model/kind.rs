//! The two kinds of record the agency keeps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of a record: what an error or an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A movie.
    Movie,
    /// An actor.
    Actor,
}

/// The string is neither `movie` nor `actor`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind: expected movie or actor")]
pub struct UnknownKind;

impl RecordKind {
    /// The wire spelling: `movie` or `actor`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordKind::Movie => "movie",
            RecordKind::Actor => "actor",
        }
    }
}

impl FromStr for RecordKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "movie" => Ok(RecordKind::Movie),
            "actor" => Ok(RecordKind::Actor),
            _ => Err(UnknownKind),
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_wire_spelling_only() {
        for kind in [RecordKind::Movie, RecordKind::Actor] {
            assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(kind));
        }
        for bad in ["", "Movie", "movies", "actor "] {
            assert_eq!(bad.parse::<RecordKind>(), Err(UnknownKind), "{bad:?}");
        }
    }
}
