//! One record or audit entry as a copy moves it between stores.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::model::{Actor, Movie};

/// One line of a copy: as NDJSON, `{"movie": Movie}`, `{"actor": Actor}`
/// or `{"audit": Entry}`, in the contract's wire format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    /// A movie; its `actors` follow from the actors' `movie_id`.
    Movie(Movie),
    /// An actor.
    Actor(Actor),
    /// An audit entry.
    Audit(AuditEntry),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_one_object_named_for_its_kind() {
        let actor = Actor {
            id: 3,
            name: "A".into(),
            age: 40,
            gender: "Female".into(),
            movie_id: None,
        };
        let line = serde_json::to_string(&Item::Actor(actor.clone())).unwrap();
        assert_eq!(
            line,
            r#"{"actor":{"id":3,"name":"A","age":40,"gender":"Female","movie_id":null}}"#
        );
        assert_eq!(
            serde_json::from_str::<Item>(&line).unwrap(),
            Item::Actor(actor)
        );
    }
}
