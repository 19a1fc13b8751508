//! Development mode's own issuer: an RSA key pair kept beside the database,
//! tokens for the built-in roles signed with it, and its public key set.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use casting_core::Role;
use jsonwebtoken::Algorithm;
use serde_json::json;

use super::keys::KeySet;

/// The issuer of development tokens.
pub const DEV_ISSUER: &str = "casting-dev";
/// The audience of development tokens.
pub const DEV_AUDIENCE: &str = "casting-agency";

const PEM_LABEL: &str = "PRIVATE KEY";

/// The development key could not be created or read.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key kept there is not an RSA private key.
    #[error("{0}: not a PEM RSA private key; delete it to make a new one")]
    Malformed(String),
    /// The database that keeps the key failed.
    #[error("the development key in the database: {0}")]
    Store(#[from] casting_core::StoreError),
    /// The key could not be generated or used.
    #[error("the signing key failed: {0}")]
    Crypto(String),
    /// No key exists where one was looked for, and none may be made there.
    #[error(
        "no development key at {0}: start the server once with --dev and the same --db (CASTING_DB), which creates it; tokens signed with another key would be refused"
    )]
    Missing(String),
    /// The directory the key belongs in does not exist.
    #[error(
        "the directory {0} does not exist: create it, or give --db (CASTING_DB) a path in an existing directory"
    )]
    NoDirectory(PathBuf),
}

/// The development signing key.
pub struct DevIssuer {
    key_pair: KeyPair,
    kid: String,
    /// The public key set, as served at `/.well-known/jwks.json`.
    jwks: String,
    /// Where the key is kept: its file, or the database.
    place: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("kid", &self.kid)
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

/// Where the key of the database at `db` lives: beside it, named after it.
pub fn key_path(db: &Path) -> PathBuf {
    let mut name = db
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "casting.redb".into());
    name.push(".dev-key.pem");
    db.with_file_name(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DevKeyError + '_ {
    move |source| DevKeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    pem
}

fn from_pem(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix(&format!("-----BEGIN {PEM_LABEL}-----"))?
        .strip_suffix(&format!("-----END {PEM_LABEL}-----"))?;
    let body: String = body.split_whitespace().collect();
    STANDARD.decode(body).ok()
}

/// Writes `contents` to `path` only if no file is there, readable by the
/// owner alone. Two processes racing both end with the one file: the key
/// is written in full to a temporary name, then linked into place, which
/// fails rather than replaces.
fn create_exclusive(path: &Path, contents: &[u8]) -> Result<bool, DevKeyError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp))?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

impl DevIssuer {
    /// Reads the key beside the database at `db`, creating it on first use.
    ///
    /// # Errors
    /// When the key file cannot be read, written or parsed.
    pub fn load_or_create(db: &Path) -> Result<Self, DevKeyError> {
        let path = key_path(db);
        let directory = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !directory.is_dir() {
            return Err(DevKeyError::NoDirectory(directory.to_path_buf()));
        }
        if !path.exists() && create_exclusive(&path, Self::generate_pem()?.as_bytes())? {
            tracing::info!(path = %path.display(), "created the development signing key");
        }
        Self::load(db)
    }

    /// Reads the key beside the database at `db`; never creates one, so
    /// that a token printed for a server always verifies there.
    ///
    /// # Errors
    /// When no key is there (the error says where it looked), or it cannot
    /// be read or parsed.
    pub fn load(db: &Path) -> Result<Self, DevKeyError> {
        let path = key_path(db);
        let pem = match fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let shown = std::path::absolute(&path).unwrap_or(path);
                return Err(DevKeyError::Missing(shown.display().to_string()));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        Self::from_pem(&pem, path.display().to_string())
    }

    /// A new RSA key pair, as the PEM text it is kept in.
    ///
    /// # Errors
    /// When the key cannot be generated.
    pub fn generate_pem() -> Result<String, DevKeyError> {
        let key_pair =
            KeyPair::generate(KeySize::Rsa2048).map_err(|e| DevKeyError::Crypto(e.to_string()))?;
        let der = key_pair
            .as_der()
            .map_err(|e| DevKeyError::Crypto(e.to_string()))?;
        Ok(to_pem(der.as_ref()))
    }

    /// The issuer of the key in `pem`, kept at `place` (shown in messages).
    ///
    /// # Errors
    /// When `pem` is not an RSA private key.
    pub fn from_pem(pem: &str, place: String) -> Result<Self, DevKeyError> {
        let Some(der) = from_pem(pem) else {
            return Err(DevKeyError::Malformed(place));
        };
        match KeyPair::from_pkcs8(&der) {
            Ok(key_pair) => Ok(DevIssuer::from_key_pair(key_pair, place)),
            Err(_) => Err(DevKeyError::Malformed(place)),
        }
    }

    fn from_key_pair(key_pair: KeyPair, place: String) -> Self {
        let public = key_pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // The RFC 7638 thumbprint: members in lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, thumbprint_input.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}]}).to_string();
        DevIssuer {
            key_pair,
            kid,
            jwks,
            place,
        }
    }

    /// Where the key is kept: its file, or the database.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The public key set, as JSON.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// The public key set, for verification.
    ///
    /// # Errors
    /// Never for a key made here; kept fallible rather than trusted.
    pub fn key_set(&self) -> Result<KeySet, DevKeyError> {
        KeySet::from_json(self.jwks.as_bytes(), &[Algorithm::RS256])
            .map_err(|e| DevKeyError::Crypto(e.to_string()))
    }

    /// A token for `role`, valid for `ttl` seconds from `now` (seconds since
    /// the epoch).
    ///
    /// # Errors
    /// When signing fails.
    pub fn token(&self, role: Role, now: u64, ttl: u64) -> Result<String, DevKeyError> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let permissions: Vec<&str> = role.permissions().iter().map(|p| p.as_str()).collect();
        let claims = json!({
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": format!("dev|{role}"),
            "iat": now,
            "exp": now.saturating_add(ttl),
            "permissions": permissions,
        });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|e| DevKeyError::Crypto(e.to_string()))?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_lives_beside_the_database() {
        assert_eq!(
            key_path(Path::new("/data/casting.redb")),
            Path::new("/data/casting.redb.dev-key.pem")
        );
        assert_eq!(
            key_path(Path::new("x.redb")),
            Path::new("x.redb.dev-key.pem")
        );
    }

    #[test]
    fn the_key_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("casting.redb");
        let first = DevIssuer::load_or_create(&db).unwrap();
        let mode = fs::metadata(first.place()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = DevIssuer::load_or_create(&db).unwrap();
        assert_eq!(first.kid, second.kid);
        assert_eq!(first.jwks(), second.jwks());
    }

    #[test]
    fn a_malformed_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("casting.redb");
        fs::write(key_path(&db), "nonsense").unwrap();
        assert!(matches!(
            DevIssuer::load_or_create(&db),
            Err(DevKeyError::Malformed(_))
        ));
    }

    #[test]
    fn pem_round_trips() {
        let der: Vec<u8> = (0..=255).collect();
        assert_eq!(from_pem(&to_pem(&der)), Some(der));
    }
}
