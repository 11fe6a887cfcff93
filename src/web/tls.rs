//! The web remote's certificate: made on first start and kept in the state folder, so a
//! phone that accepted (or installed) it once keeps trusting the same one, and an operator
//! can check its fingerprint against the one the laptop prints.

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_rustls::rustls;

/// How long a made certificate is valid: Apple refuses server certificates from an installed
/// root that are valid for more than 825 days.
const VALID_DAYS: u32 = 800;
/// A kept certificate this close to its end is made again (its fingerprint changes, and the
/// laptop says so), rather than have phones refuse it in the middle of a run.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

const CERT_FILE: &str = "web-remote.crt";
const KEY_FILE: &str = "web-remote.key";

/// The certificate the remote is served with.
pub struct Identity {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate, as browsers show it: 32 pairs of hex digits.
    pub fingerprint: String,
}

/// The kept certificate in `state_dir`, or a new one made (and kept there) for `names`: the
/// names and addresses phones open the remote by. Without a state folder the certificate is
/// made anew each start, and phones must accept it again.
pub fn identity(state_dir: Option<&Path>, names: &[String]) -> anyhow::Result<Identity> {
    let (cert, key) = match state_dir {
        Some(dir) => kept_or_made(dir, names)?,
        None => {
            tracing::warn!(
                "web: no state folder, so the remote's certificate is new each start and phones must accept it again (give --state-dir)"
            );
            let made = made(names)?;
            (made.cert, made.key)
        }
    };
    let fingerprint = fingerprint(&cert);
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS")?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .context("the web remote's certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        config: Arc::new(config),
        fingerprint,
    })
}

/// The certificate and key kept in `dir`, if they are there, whole and not about to end;
/// else new ones, kept there.
fn kept_or_made(
    dir: &Path,
    names: &[String],
) -> anyhow::Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let cert_file = dir.join(CERT_FILE);
    let key_file = dir.join(KEY_FILE);
    match kept(&cert_file, &key_file) {
        Ok(Some(pair)) => return Ok(pair),
        Ok(None) => {}
        Err(why) => {
            tracing::warn!("web: {why}; making a new certificate (its fingerprint changes)")
        }
    }
    let made = made(names)?;
    // The key first: a certificate on disk without its key would be refused next start.
    crate::keep::write_atomically(&key_file, made.key_pem.as_bytes())
        .with_context(|| format!("cannot keep the web remote's key in {}", key_file.display()))?;
    crate::keep::write_atomically(&cert_file, made.cert_pem.as_bytes()).with_context(|| {
        format!(
            "cannot keep the web remote's certificate in {}",
            cert_file.display()
        )
    })?;
    tracing::info!(
        "web: made a certificate for {}, kept in {}",
        names.join(", "),
        cert_file.display()
    );
    Ok((made.cert, made.key))
}

/// The kept pair: None on a first start, why not when it cannot be used.
fn kept(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>, String> {
    let cert_pem = match std::fs::read(cert_file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", cert_file.display())),
    };
    let cert = CertificateDer::from_pem_slice(&cert_pem)
        .map_err(|e| format!("{} is damaged ({e})", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("cannot use {} ({e})", key_file.display()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert)
        .map_err(|e| format!("{} is damaged ({e})", cert_file.display()))?;
    let ends = SystemTime::UNIX_EPOCH
        + Duration::from_secs(parsed.validity().not_after.timestamp().max(0) as u64);
    if ends < SystemTime::now() + RENEW_BEFORE {
        return Err(format!(
            "{} ends within {} days",
            cert_file.display(),
            RENEW_BEFORE.as_secs() / 86_400
        ));
    }
    Ok(Some((cert, key)))
}

/// A certificate and its key, as served and as kept.
struct Made {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    cert_pem: String,
    key_pem: String,
}

/// A new self-signed certificate for `names`, marked as its own authority so that a phone
/// may also install it as trusted (iOS and Android list only authorities there).
fn made(names: &[String]) -> anyhow::Result<Made> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let key = KeyPair::generate().context("making the web remote's key")?;
    let mut params = CertificateParams::new(names.to_vec()).context("the certificate's names")?;
    params.distinguished_name.push(
        DnType::CommonName,
        format!(
            "candela web remote on {}",
            names.first().map_or("this laptop", String::as_str)
        ),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = jiff::Timestamp::now();
    let day = |t: jiff::Timestamp| {
        let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
        rcgen::date_time_ymd(d.year().into(), d.month() as u8, d.day() as u8)
    };
    params.not_before = day(now - jiff::SignedDuration::from_hours(24));
    params.not_after = day(now + jiff::SignedDuration::from_hours(24 * i64::from(VALID_DAYS)));
    let cert = params
        .self_signed(&key)
        .context("signing the web remote's certificate")?;
    let key_der = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| anyhow::anyhow!("the web remote's key: {e}"))?;
    Ok(Made {
        cert: cert.der().clone(),
        key: key_der,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The SHA-256 fingerprint as browsers' certificate viewers show it.
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_certificate_is_the_same_next_start_and_a_damaged_one_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let first = identity(Some(dir.path()), &names).unwrap();
        let again = identity(Some(dir.path()), &names).unwrap();
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
        std::fs::write(dir.path().join(CERT_FILE), "not a certificate").unwrap();
        let remade = identity(Some(dir.path()), &names).unwrap();
        assert_ne!(remade.fingerprint, first.fingerprint);
    }

    #[test]
    fn the_fingerprint_is_sha256_in_pairs() {
        // SHA-256("abc"), FIPS 180-2's example.
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
