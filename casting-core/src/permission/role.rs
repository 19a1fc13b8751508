//! The three built-in roles of the agency.

use std::fmt;
use std::str::FromStr;

use super::{Permission, PermissionSet};

/// A built-in role. The server trusts only the permissions inside a token;
/// roles name the usual sets, for development tokens and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `assistant`: reads and searches.
    Assistant,
    /// `director`: the assistant's, plus adding, changing and deleting
    /// actors and changing movies.
    Director,
    /// `producer`: everything, the audit log included.
    Producer,
}

/// The string names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role: expected assistant, director or producer")]
pub struct UnknownRole;

const ASSISTANT: PermissionSet = PermissionSet::of(&[
    Permission::GetActors,
    Permission::GetMovies,
    Permission::SearchActors,
    Permission::SearchMovies,
]);
const DIRECTOR: PermissionSet = ASSISTANT.union(PermissionSet::of(&[
    Permission::PostActors,
    Permission::PatchActors,
    Permission::PatchMovies,
    Permission::DeleteActors,
]));
const PRODUCER: PermissionSet = DIRECTOR.union(PermissionSet::of(&[
    Permission::PostMovies,
    Permission::DeleteMovies,
    Permission::ReadAudit,
]));

impl Role {
    /// The three roles, least to most privileged.
    pub const ALL: [Role; 3] = [Role::Assistant, Role::Director, Role::Producer];

    /// The permissions the role carries.
    pub const fn permissions(self) -> PermissionSet {
        match self {
            Role::Assistant => ASSISTANT,
            Role::Director => DIRECTOR,
            Role::Producer => PRODUCER,
        }
    }

    /// The short name: `assistant`, `director` or `producer`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Assistant => "assistant",
            Role::Director => "director",
            Role::Producer => "producer",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_carry_the_contract_permissions() {
        assert_eq!(
            Role::Assistant.permissions().to_string(),
            "get:movies get:actors search:movies search:actors"
        );
        assert_eq!(
            Role::Director.permissions().to_string(),
            "get:movies get:actors post:actors patch:movies patch:actors delete:actors search:movies search:actors"
        );
        assert_eq!(Role::Producer.permissions().len(), 11);
        assert!(Role::Producer.permissions().contains(Permission::ReadAudit));
    }

    #[test]
    fn a_director_may_not_create_or_delete_movies() {
        let director = Role::Director.permissions();
        assert!(!director.contains(Permission::PostMovies));
        assert!(!director.contains(Permission::DeleteMovies));
    }

    #[test]
    fn only_the_producer_may_read_the_audit_log() {
        assert!(
            !Role::Assistant
                .permissions()
                .contains(Permission::ReadAudit)
        );
        assert!(!Role::Director.permissions().contains(Permission::ReadAudit));
        assert!(Role::Producer.permissions().contains(Permission::ReadAudit));
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole));
    }
}
