//! The audit log through the SDK: a page, a filtered stream, and the
//! permission it needs.

use casting_client::{AuditAction, AuditQuery, Error, RecordKind};
use casting_core::Role;
use futures_util::TryStreamExt;

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

#[tokio::test]
async fn a_stream_walks_every_entry_of_a_kind_in_order() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    for name in ["A", "B", "C", "D", "E"] {
        producer
            .create_actor(&actor(name, 30, "Female", Some(film.id)))
            .await
            .unwrap();
    }
    let query = AuditQuery {
        limit: 2,
        kind: Some(RecordKind::Actor),
        ..AuditQuery::default()
    };
    let entries: Vec<_> = producer.stream_audit(query).try_collect().await.unwrap();
    let records: Vec<u64> = entries.iter().map(|e| e.record).collect();
    assert_eq!(records, [1, 2, 3, 4, 5]);
    assert!(entries.iter().all(|e| e.action == AuditAction::Create));
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(entries[0].sub.as_deref(), Some("dev|producer"));
}

#[tokio::test]
async fn a_page_says_where_the_next_one_starts() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    for title in ["U", "V", "W"] {
        producer
            .create_movie(&movie(title, "2010-10-13"))
            .await
            .unwrap();
    }
    let first = producer
        .list_audit(&AuditQuery {
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.entries.len(), 2);
    assert_eq!(first.next, Some(2));
    let last = producer
        .list_audit(&AuditQuery {
            limit: 2,
            after: first.next,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(last.entries.len(), 1);
    assert_eq!(last.next, None);
}

#[tokio::test]
async fn a_director_may_not_read_the_log() {
    let server = TestServer::start();
    let refused = server
        .client(Role::Director)
        .list_audit(&AuditQuery::default())
        .await;
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
}
