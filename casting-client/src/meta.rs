//! The public routes: the health check and the OpenAPI document.

use serde::Deserialize;

use crate::client::Client;
use crate::error::Error;

/// The answer of `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Health {
    /// `ok` when the server is serving.
    pub status: String,
}

impl Health {
    /// Whether the server says it is fine.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

impl Client {
    /// `GET /health`; needs no token.
    ///
    /// # Errors
    /// [`Error::Transport`] when the server cannot be reached.
    pub async fn health(&self) -> Result<Health, Error> {
        self.get(&["health"], &[]).await
    }

    /// `GET /openapi.json`: the OpenAPI 3.1 description of every route;
    /// needs no token.
    ///
    /// # Errors
    /// [`Error::Transport`] when the server cannot be reached.
    pub async fn openapi(&self) -> Result<serde_json::Value, Error> {
        self.get(&["openapi.json"], &[]).await
    }
}
