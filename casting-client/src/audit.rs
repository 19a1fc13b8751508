//! The audit log: who changed what, a page at a time or as a stream.

use casting_core::{AuditEntry, AuditPage, AuditQuery, Page};

use crate::client::Client;
use crate::error::Error;
use crate::stream::RecordStream;
use crate::wire;

impl Client {
    /// `GET /audit`: one page of the audit log, ascending by id. Needs
    /// `read:audit` (executive producer).
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a limit outside 1 to 1000 or a record id
    /// of 0, [`Error::Forbidden`] without `read:audit`.
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<AuditPage, Error> {
        let list: wire::AuditList = self.get(&["audit"], &wire::audit_params(query)).await?;
        Ok(AuditPage {
            entries: list.entries,
            next: list.next,
        })
    }

    /// Every entry `query`'s filters select, from `query.after` on, fetched
    /// `query.limit` at a time. Needs `read:audit`.
    pub fn stream_audit(&self, query: AuditQuery) -> RecordStream<AuditEntry> {
        let client = self.clone();
        let first = casting_core::PageRequest {
            limit: Some(query.limit),
            after: query.after,
        };
        RecordStream::new(first, move |page| {
            let client = client.clone();
            let query = AuditQuery {
                after: page.after,
                limit: page.limit.unwrap_or(query.limit),
                ..query
            };
            async move {
                let found = client.list_audit(&query).await?;
                // The log has no total; a stream does not read it.
                Ok(Page {
                    items: found.entries,
                    total: 0,
                    next: found.next,
                })
            }
        })
    }
}
