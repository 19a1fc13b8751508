//! `/audit`: the log of every write, a page at a time.

use std::sync::Arc;

use casting_core::{AuditEntry, Principal};
use serde::Serialize;

use crate::http::error::ApiError;
use crate::http::query;
use crate::http::response::{HttpResponse, ok};
use crate::state::{App, Rows};

/// `{"success": true, "entries": [...], "next": id or null}`: `next` is
/// always there, as the log is always paged.
#[derive(Serialize)]
struct Entries {
    success: bool,
    entries: Vec<AuditEntry>,
    next: Option<u64>,
}

/// `GET /audit`
pub async fn list(
    app: &App,
    principal: &Arc<Principal>,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let request = query::audit(query)?;
    let page = app
        .read(
            principal,
            Rows::AtMost(request.limit.into()),
            move |agency, p| agency.audit(p, &request),
        )
        .await?;
    Ok(ok(&Entries {
        success: true,
        entries: page.entries,
        next: page.next,
    })?)
}
