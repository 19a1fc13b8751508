//! The caller a request acts as, built from verified token claims.

use serde_json::{Map, Value};

use super::{Permission, PermissionSet, Role};

/// Who is calling, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`, or empty when it has none; for logs only.
    pub subject: String,
    /// What the caller may do.
    pub permissions: PermissionSet,
}

/// The claims do not describe a principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// `permissions` is present but not an array of strings.
    #[error("permissions: must be an array of strings")]
    Permissions,
    /// `scope` is present but not a string.
    #[error("scope: must be a string")]
    Scope,
}

impl Principal {
    /// A principal with the given subject and permissions.
    pub fn new(subject: impl Into<String>, permissions: PermissionSet) -> Self {
        Principal {
            subject: subject.into(),
            permissions,
        }
    }

    /// The embedding program acting on its own behalf: every permission and
    /// no subject, so its audit entries name nobody (`sub` is null). Writes
    /// still pass the input's checks.
    pub fn owner() -> Self {
        Principal::new(String::new(), Role::Producer.permissions())
    }

    /// A principal holding the permissions of `role`, for embedders and tests.
    pub fn with_role(subject: impl Into<String>, role: Role) -> Self {
        Principal::new(subject, role.permissions())
    }

    /// Builds a principal from the claims of a token that has already been
    /// verified: permissions from the `permissions` array (as Auth0 RBAC
    /// issues it), else from the space-separated `scope`. Unknown
    /// permission strings are ignored.
    ///
    /// # Errors
    /// When `permissions` is not an array of strings, or `scope` (read
    /// only without `permissions`) is not a string.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, ClaimsError> {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let permissions = match (claims.get("permissions"), claims.get("scope")) {
            (Some(Value::Array(items)), _) => items
                .iter()
                .map(|item| item.as_str().ok_or(ClaimsError::Permissions))
                .collect::<Result<Vec<_>, _>>()
                .map(PermissionSet::parse_lenient)?,
            (Some(_), _) => return Err(ClaimsError::Permissions),
            (None, Some(Value::String(scope))) => {
                PermissionSet::parse_lenient(scope.split_whitespace())
            }
            (None, Some(_)) => return Err(ClaimsError::Scope),
            (None, None) => PermissionSet::EMPTY,
        };
        Ok(Principal::new(subject, permissions))
    }

    /// Whether the caller holds `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn permissions_come_from_the_permissions_array() {
        let p = Principal::from_claims(&claims(
            json!({"sub": "auth0|1", "permissions": ["get:movies", "x"]}),
        ))
        .unwrap();
        assert_eq!(p.subject, "auth0|1");
        assert_eq!(p.permissions, PermissionSet::of(&[Permission::GetMovies]));
    }

    #[test]
    fn the_array_wins_over_scope() {
        let p = Principal::from_claims(&claims(json!({"permissions": [], "scope": "get:movies"})))
            .unwrap();
        assert!(p.permissions.is_empty());
    }

    #[test]
    fn scope_is_read_when_the_array_is_absent() {
        let p = Principal::from_claims(&claims(json!({"scope": "openid get:actors  post:actors"})))
            .unwrap();
        assert_eq!(
            p.permissions,
            PermissionSet::of(&[Permission::GetActors, Permission::PostActors])
        );
    }

    #[test]
    fn no_claim_means_no_permission() {
        assert!(
            Principal::from_claims(&Map::new())
                .unwrap()
                .permissions
                .is_empty()
        );
    }

    #[test]
    fn malformed_permissions_are_errors() {
        for bad in [
            json!({"permissions": "get:movies"}),
            json!({"permissions": ["get:movies", 1]}),
            json!({"permissions": null}),
        ] {
            assert_eq!(
                Principal::from_claims(&claims(bad)),
                Err(ClaimsError::Permissions)
            );
        }
        assert_eq!(
            Principal::from_claims(&claims(json!({"scope": ["get:movies"]}))),
            Err(ClaimsError::Scope)
        );
    }
}
