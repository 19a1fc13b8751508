//! A set of permissions in one machine word.

use std::fmt;

use super::Permission;

/// A set of [`Permission`]s, as compact as a `u16`; checking one is a mask.
///
/// ```
/// use casting_core::{Permission, PermissionSet};
///
/// let set = PermissionSet::parse_lenient(["get:movies", "fly:planes"]);
/// assert!(set.contains(Permission::GetMovies));
/// assert_eq!(set.len(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u16);

impl PermissionSet {
    /// The empty set.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// The set of the given permissions.
    pub const fn of(permissions: &[Permission]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= permissions[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// The set of the known permissions among `strings`; unknown strings
    /// are ignored, as the contract says.
    pub fn parse_lenient<'a>(strings: impl IntoIterator<Item = &'a str>) -> Self {
        strings
            .into_iter()
            .filter_map(|s| s.parse::<Permission>().ok())
            .collect()
    }

    /// Whether `permission` is in the set.
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// This set with `permission` added.
    pub const fn with(self, permission: Permission) -> Self {
        PermissionSet(self.0 | permission.bit())
    }

    /// The union of two sets.
    pub const fn union(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 | other.0)
    }

    /// How many permissions are in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in the contract's order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter()
            .fold(PermissionSet::EMPTY, PermissionSet::with)
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::as_str))
            .finish()
    }
}

/// The space-separated spellings, as in an OAuth `scope` claim.
impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_empty_set_contains_nothing() {
        assert!(PermissionSet::EMPTY.is_empty());
        assert!(
            Permission::ALL
                .iter()
                .all(|p| !PermissionSet::EMPTY.contains(*p))
        );
    }

    #[test]
    fn unknown_strings_are_ignored() {
        let set = PermissionSet::parse_lenient(["get:actors", "admin", "", "get:actors"]);
        assert_eq!(set, PermissionSet::of(&[Permission::GetActors]));
    }

    #[test]
    fn display_is_a_scope_string() {
        let set = PermissionSet::of(&[Permission::SearchActors, Permission::GetMovies]);
        assert_eq!(set.to_string(), "get:movies search:actors");
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(bits in 0u16..(1 << 11)) {
            let set: PermissionSet = Permission::ALL.into_iter().filter(|p| bits & p.bit() != 0).collect();
            let text = set.to_string();
            prop_assert_eq!(PermissionSet::parse_lenient(text.split(' ')), set);
            prop_assert_eq!(set.len(), bits.count_ones() as usize);
        }
    }
}
