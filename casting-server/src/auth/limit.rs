//! Per-client limiting of failed authentications: a client (by IP address)
//! whose tokens failed more than a set number of times in a minute gets
//! `429 Too Many Requests` with `Retry-After` on authenticated routes until
//! the minute is over. It slows token guessing and floods of forged tokens,
//! each of which may cost an RSA verification.
//!
//! Off unless configured: the contract knows no 429, and clients behind one
//! address (a NAT, a test suite) would share the budget.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);
/// The most clients tracked; beyond it, expired windows are dropped first.
const MAX_CLIENTS: usize = 65_536;

/// Counts failed authentications per client.
#[derive(Debug)]
pub struct FailureLimiter {
    limit: u32,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    /// A limiter allowing `limit` failures per client per minute.
    pub fn new(limit: u32) -> Self {
        FailureLimiter {
            limit,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when `client` is over its limit.
    pub fn blocked(&self, client: IpAddr) -> Option<u64> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, failures) = clients.get(&client)?;
        let elapsed = start.elapsed();
        (elapsed < WINDOW && *failures >= self.limit).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    /// Counts one failed authentication of `client`.
    pub fn failed(&self, client: IpAddr) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if clients.len() >= MAX_CLIENTS {
                return;
            }
        }
        let entry = clients.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_its_limit_of_failures() {
        let limiter = FailureLimiter::new(3);
        let client: IpAddr = "10.1.2.3".parse().unwrap();
        let other: IpAddr = "10.1.2.4".parse().unwrap();
        for _ in 0..2 {
            limiter.failed(client);
        }
        assert_eq!(limiter.blocked(client), None);
        limiter.failed(client);
        let wait = limiter.blocked(client).unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(limiter.blocked(other), None);
    }
}
