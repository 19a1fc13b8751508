//! Who may do what: the ten permissions of the original Auth0 API and
//! `read:audit` beside them, sets of them, the three built-in roles, and the principal a request acts as.

mod principal;
mod role;
mod set;

use std::fmt;
use std::str::FromStr;

pub use principal::{ClaimsError, Principal};
pub use role::{Role, UnknownRole};
pub use set::PermissionSet;

/// One permission, spelt on the wire exactly as the original API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `get:movies`: list and read movies.
    GetMovies,
    /// `get:actors`: list and read actors.
    GetActors,
    /// `post:movies`: create movies.
    PostMovies,
    /// `post:actors`: create actors.
    PostActors,
    /// `patch:movies`: change movies.
    PatchMovies,
    /// `patch:actors`: change actors.
    PatchActors,
    /// `delete:movies`: delete movies.
    DeleteMovies,
    /// `delete:actors`: delete actors.
    DeleteActors,
    /// `search:movies`: search movies.
    SearchMovies,
    /// `search:actors`: search actors.
    SearchActors,
    /// `read:audit`: read the audit log. Not in the original API: who
    /// changed what is for the producers to see, not every reader.
    ReadAudit,
}

/// The string is not one of the eleven permissions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission")]
pub struct UnknownPermission;

impl Permission {
    /// Every permission, in the contract's order.
    pub const ALL: [Permission; 11] = [
        Permission::GetMovies,
        Permission::GetActors,
        Permission::PostMovies,
        Permission::PostActors,
        Permission::PatchMovies,
        Permission::PatchActors,
        Permission::DeleteMovies,
        Permission::DeleteActors,
        Permission::SearchMovies,
        Permission::SearchActors,
        Permission::ReadAudit,
    ];

    /// The wire spelling, such as `get:movies`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::GetMovies => "get:movies",
            Permission::GetActors => "get:actors",
            Permission::PostMovies => "post:movies",
            Permission::PostActors => "post:actors",
            Permission::PatchMovies => "patch:movies",
            Permission::PatchActors => "patch:actors",
            Permission::DeleteMovies => "delete:movies",
            Permission::DeleteActors => "delete:actors",
            Permission::SearchMovies => "search:movies",
            Permission::SearchActors => "search:actors",
            Permission::ReadAudit => "read:audit",
        }
    }

    /// The bit of this permission in a [`PermissionSet`].
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(UnknownPermission)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_permission_parses_from_its_spelling() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
        }
    }

    #[test]
    fn near_misses_are_unknown() {
        for s in [
            "",
            "get:movie",
            "GET:MOVIES",
            " get:movies",
            "read:movies",
            "get:movies ",
        ] {
            assert_eq!(s.parse::<Permission>(), Err(UnknownPermission), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_of_any_string_is_a_known_spelling_or_an_error(s in "\\PC{0,20}") {
            match s.parse::<Permission>() {
                Ok(p) => prop_assert_eq!(p.as_str(), s.as_str()),
                Err(e) => prop_assert_eq!(e, UnknownPermission),
            }
        }
    }
}
