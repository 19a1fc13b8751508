//! Walking a list or a search record by record: a [`RecordStream`] asks for
//! one page at a time, following the `next` cursor, so memory stays bounded
//! by the page size however many records there are.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use casting_core::{Page, PageRequest};
use futures_util::Stream;
use futures_util::stream::{self, BoxStream};

use crate::error::{Error, TransportKind};

/// The page size of a stream whose request gives no `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The records of a list or search, in ascending id order, fetched one page
/// at a time as the stream is polled.
///
/// After an error the stream ends. Every record it yielded before is one
/// the server sent, so a caller can resume with a new stream whose
/// request's `after` is the id of the last record it saw.
pub struct RecordStream<T> {
    inner: BoxStream<'static, Result<T, Error>>,
}

impl<T> fmt::Debug for RecordStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordStream").finish_non_exhaustive()
    }
}

impl<T> Stream for RecordStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Where a stream stands between polls.
struct Cursor<T, F> {
    /// Fetches one page.
    fetch: F,
    /// The request of the next page; `None` once the last page was fetched
    /// or an error ended the stream.
    request: Option<PageRequest>,
    /// The records of the current page not yet yielded.
    items: std::vec::IntoIter<T>,
    /// An error to yield once `items` are all out.
    error: Option<Error>,
}

impl<T: Send + 'static> RecordStream<T> {
    /// A stream starting at `first` (with [`DEFAULT_PAGE_SIZE`] when it gives
    /// no limit), fetching each page with `fetch`.
    pub(crate) fn new<F, Fut>(first: PageRequest, fetch: F) -> Self
    where
        F: FnMut(PageRequest) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
    {
        let first = PageRequest {
            limit: Some(first.limit.unwrap_or(DEFAULT_PAGE_SIZE)),
            after: first.after,
        };
        let cursor = Cursor {
            fetch,
            request: Some(first),
            items: Vec::new().into_iter(),
            error: None,
        };
        let inner = stream::unfold(cursor, |mut cursor| async move {
            loop {
                if let Some(item) = cursor.items.next() {
                    return Some((Ok(item), cursor));
                }
                if let Some(error) = cursor.error.take() {
                    return Some((Err(error), cursor));
                }
                let request = cursor.request.take()?;
                match (cursor.fetch)(request).await {
                    Ok(page) => {
                        cursor.items = page.items.into_iter();
                        match page.next {
                            None => {}
                            Some(next) if request.after.is_none_or(|after| next > after) => {
                                cursor.request = Some(request.after(next));
                            }
                            // A cursor that does not move on would ask for
                            // the same page for ever.
                            Some(next) => cursor.error = Some(stalled(request, next)),
                        }
                    }
                    Err(error) => return Some((Err(error), cursor)),
                }
            }
        });
        RecordStream {
            inner: Box::pin(inner),
        }
    }
}

fn stalled(request: PageRequest, next: u64) -> Error {
    Error::Transport {
        kind: TransportKind::Decode,
        message: format!(
            "the server's next cursor {next} does not move past after={}",
            request.after.unwrap_or(0)
        ),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn page(items: Vec<u64>, next: Option<u64>) -> Page<u64> {
        Page {
            total: 0,
            items,
            next,
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn pages_are_followed_until_next_is_null() {
        let stream = RecordStream::new(PageRequest::first(2), |request| async move {
            Ok(match request.after {
                None => page(vec![1, 2], Some(2)),
                Some(2) => page(vec![5, 7], Some(7)),
                Some(7) => page(vec![9], None),
                other => panic!("unexpected after={other:?}"),
            })
        });
        let items: Vec<u64> = block_on(stream.map(Result::unwrap).collect());
        assert_eq!(items, [1, 2, 5, 7, 9]);
    }

    #[test]
    fn a_request_without_a_limit_gets_the_default_page_size() {
        let stream = RecordStream::new(PageRequest::default(), |request| async move {
            assert_eq!(request.limit, Some(DEFAULT_PAGE_SIZE));
            Ok(page(vec![1], None))
        });
        assert_eq!(block_on(stream.count()), 1);
    }

    #[test]
    fn an_error_is_yielded_once_and_ends_the_stream() {
        let stream = RecordStream::new(PageRequest::first(1), |request| async move {
            match request.after {
                None => Ok(page(vec![1], Some(1))),
                _ => Err(Error::NotFound {
                    message: "gone".into(),
                }),
            }
        });
        let items: Vec<Result<u64, Error>> = block_on(stream.collect());
        assert_eq!(items.len(), 2);
        assert!(matches!(items[0], Ok(1)));
        assert!(matches!(items[1], Err(Error::NotFound { .. })));
    }

    #[test]
    fn a_cursor_that_does_not_advance_is_an_error_not_a_loop() {
        let stream = RecordStream::new(PageRequest::first(2).after(4), |_| async move {
            Ok(page(vec![5, 6], Some(4)))
        });
        let items: Vec<Result<u64, Error>> = block_on(stream.collect());
        assert_eq!(items.len(), 3);
        assert!(matches!(
            items[2],
            Err(Error::Transport {
                kind: TransportKind::Decode,
                ..
            })
        ));
    }
}
