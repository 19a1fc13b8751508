//! TLS to the database: rustls, verifying the server's certificate chain
//! and name, against Mozilla's roots or the certificate authorities of an
//! `sslrootcert` file (a managed database's own CA, such as a cloud
//! provider's).
//!
//! The client library knows `sslmode` `disable`, `prefer` and `require`
//! only and refuses other parameters, so the URL is read here first:
//! `sslrootcert=FILE` is taken out, and `verify-ca` and `verify-full`
//! become `require`, which verifies the chain and the name. Unlike libpq,
//! `require` without `sslrootcert` still verifies, against Mozilla's
//! roots. `prefer`, which would take plain text from any server, encrypts
//! without verifying, as libpq does: verifying there would refuse a
//! server with a private CA while protecting against no one.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::backend::StoreError;

/// What the URL says about TLS beyond what the client library reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct TlsParams {
    /// The file of CA certificates to trust instead of Mozilla's roots.
    pub(super) root_cert: Option<PathBuf>,
}

/// Decodes `%XX` escapes, as a URL's query writes them.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` as the client library takes it, and the TLS parameters taken out.
pub(super) fn split(url: &str) -> (String, TlsParams) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), TlsParams::default());
    };
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslrootcert", file)) => params.root_cert = Some(percent_decode(file).into()),
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require"),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, params)
}

/// The roots a connection trusts.
fn roots(params: &TlsParams) -> Result<rustls::RootCertStore, StoreError> {
    let Some(file) = &params.root_cert else {
        return Ok(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let refuse =
        |why: String| StoreError::Unavailable(format!("sslrootcert {}: {why}", file.display()));
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| refuse(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse(e.to_string()))?;
    if certs.is_empty() {
        return Err(refuse("no PEM certificate in it".into()));
    }
    let mut store = rustls::RootCertStore::empty();
    let (_, refused) = store.add_parsable_certificates(certs);
    if store.is_empty() {
        return Err(refuse(format!(
            "none of its {refused} certificates is a usable CA"
        )));
    }
    Ok(store)
}

/// The connector for `prefer` (`verify` false) and `require` (true), with
/// its own crypto provider so that nothing depends on a process-wide
/// default being installed.
pub(super) fn connector(
    params: &TlsParams,
    verify: bool,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Unavailable(format!("TLS setup: {e}")))?;
    let config = if verify {
        builder
            .with_root_certificates(roots(params)?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth()
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// For `prefer` only: any certificate is taken, but the handshake's
/// signatures are still checked, so the session is encrypted to whoever
/// holds the certificate's key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_certificate_is_taken_out_and_verify_modes_become_require() {
        let (url, params) = split(
            "postgres://u:p@db.example/casting?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20bundle.pem&application_name=x",
        );
        assert_eq!(
            url,
            "postgres://u:p@db.example/casting?sslmode=require&application_name=x"
        );
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/ca bundle.pem")));
        let (url, params) = split("postgres://db/casting?sslrootcert=ca.pem");
        assert_eq!(url, "postgres://db/casting");
        assert_eq!(params.root_cert, Some(PathBuf::from("ca.pem")));
        assert_eq!(
            split("postgres://db/casting").0,
            "postgres://db/casting",
            "a URL without a query is left alone"
        );
    }

    #[test]
    fn a_root_certificate_file_without_a_ca_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for file in [empty, dir.path().join("missing.pem")] {
            let params = TlsParams {
                root_cert: Some(file.clone()),
            };
            let error = connector(&params, true).err().expect("refused").to_string();
            assert!(error.contains(&file.display().to_string()), "{error}");
        }
    }
}
