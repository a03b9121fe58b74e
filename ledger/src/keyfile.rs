//! Private key files as a validator's keys should be kept: PKCS#8 PEM that
//! OpenSSL reads, created owner-only (0600, in a 0700 folder if the folder
//! is new), atomically, never over an existing file; refused when group or
//! others may read or write them; optionally encrypted with a passphrase
//! (PBES2: scrypt, AES-256-CBC — `openssl pkey -passin` reads it).
//!
//! Used by `shanlian-node` (`init`, `testnet`, `run`) and the `shanlian`
//! client (`key new`, `key import`, signing).

use crate::crypto::Keypair;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: already exists (key files are never overwritten; move it away first)")]
    Exists(PathBuf),
    #[error("{path}: the private key can be {what} by other users (mode {mode:04o}); run `chmod 600 {path}`")]
    Permissions {
        path: PathBuf,
        mode: u32,
        what: &'static str,
    },
    #[error("{path}: not a PKCS#8 Ed25519 key: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: the key is encrypted: give its passphrase (`member_key_passphrase` in the config, or --passphrase-fd)")]
    NeedsPassphrase { path: PathBuf },
    #[error("{path}: wrong passphrase, or a damaged key file")]
    BadPassphrase { path: PathBuf },
    #[error("passphrase: {0}")]
    Passphrase(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a new private file: mode 0600, its folder created 0700 if
/// missing; written to a temporary file in the same folder, synced, then
/// linked into place, which fails if `path` exists (so a crash leaves
/// either nothing or the whole file, and nothing is ever overwritten).
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    if path.exists() {
        return Err(KeyFileError::Exists(path.to_path_buf()));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "key".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(contents).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(KeyFileError::Exists(path.to_path_buf()))
            }
            Err(e) => Err(io(path)(e)),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuses a key file that group or others can read or write.
pub fn check_private(path: &Path) -> Result<(), KeyFileError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o7777;
    let what = match (mode & 0o044 != 0, mode & 0o022 != 0) {
        (true, true) => "read and written",
        (true, false) => "read",
        (false, true) => "written",
        (false, false) => return Ok(()),
    };
    Err(KeyFileError::Permissions {
        path: path.to_path_buf(),
        mode,
        what,
    })
}

/// PBKDF2 iterations for encrypted keys (OWASP's figure for
/// PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// A key's PKCS#8 PEM, encrypted with `passphrase` when one is given
/// (PBES2: PBKDF2-HMAC-SHA256, [`PBKDF2_ITERATIONS`], a random 16-byte
/// salt; AES-256-CBC with a random IV).
pub fn to_pem(key: &Keypair, passphrase: Option<&[u8]>) -> Result<String, KeyFileError> {
    let Some(pass) = passphrase else {
        return key
            .to_pkcs8_pem()
            .map_err(|e| KeyFileError::Passphrase(e.to_string()));
    };
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyFileError::Passphrase(e.to_string()))?;
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| KeyFileError::Passphrase(e.to_string()))?;
    use rand_core::RngCore;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut iv);
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| KeyFileError::Passphrase(e.to_string()))?;
    let enc = info
        .encrypt_with_params(params, pass)
        .map_err(|e| KeyFileError::Passphrase(e.to_string()))?;
    enc.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .map(|s| s.to_string())
        .map_err(|e| KeyFileError::Passphrase(e.to_string()))
}

/// Whether a PEM text holds an encrypted key.
pub fn is_encrypted(pem: &str) -> bool {
    pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

/// Parses a key's PEM (plain or encrypted) from `path`'s text.
pub fn from_pem(
    path: &Path,
    pem: &str,
    passphrase: Option<&[u8]>,
) -> Result<Keypair, KeyFileError> {
    let format = |reason: String| KeyFileError::Format {
        path: path.to_path_buf(),
        reason,
    };
    if !is_encrypted(pem) {
        return Keypair::from_pkcs8_pem(pem).map_err(|e| format(e.to_string()));
    }
    let pass = passphrase.ok_or_else(|| KeyFileError::NeedsPassphrase {
        path: path.to_path_buf(),
    })?;
    let (label, doc) = pkcs8::SecretDocument::from_pem(pem).map_err(|e| format(e.to_string()))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(format(format!("unexpected PEM label {label:?}")));
    }
    let enc = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
        .map_err(|e| format(e.to_string()))?;
    let der = enc.decrypt(pass).map_err(|_| KeyFileError::BadPassphrase {
        path: path.to_path_buf(),
    })?;
    Keypair::from_pkcs8_der(der.as_bytes()).map_err(|e| format(e.to_string()))
}

/// Reads a private key file: refuses it if others can read or write it
/// (unless `allow_insecure`), then parses it, decrypting with `passphrase`
/// if it is encrypted.
pub fn read(
    path: &Path,
    passphrase: Option<&[u8]>,
    allow_insecure: bool,
) -> Result<Keypair, KeyFileError> {
    if !allow_insecure {
        check_private(path)?;
    }
    let pem = std::fs::read_to_string(path).map_err(io(path))?;
    from_pem(path, &pem, passphrase)
}

/// Where a passphrase comes from — never the command line, where every
/// user of the machine can read it: `env:NAME` (an environment variable),
/// `file:PATH` (a file, which must be private too) or `fd:N` (a file
/// descriptor the launcher opened, read to its end). Trailing newlines are
/// removed.
pub fn read_passphrase(source: &str) -> Result<Vec<u8>, KeyFileError> {
    let bad = |m: String| KeyFileError::Passphrase(m);
    let mut text = if let Some(name) = source.strip_prefix("env:") {
        std::env::var(name).map_err(|_| bad(format!("environment variable {name} is not set")))?
    } else if let Some(p) = source.strip_prefix("file:") {
        let p = Path::new(p);
        check_private(p)?;
        std::fs::read_to_string(p).map_err(|e| bad(format!("{}: {e}", p.display())))?
    } else if let Some(n) = source.strip_prefix("fd:") {
        let fd: i32 = n
            .parse()
            .map_err(|_| bad(format!("fd:{n}: not a file descriptor number")))?;
        read_fd(fd).map_err(|e| bad(format!("fd:{fd}: {e}")))?
    } else {
        return Err(bad(format!(
            "{source:?}: say where the passphrase is: env:NAME, file:PATH or fd:N"
        )));
    };
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    if text.is_empty() {
        return Err(bad(format!("{source}: the passphrase is empty")));
    }
    Ok(text.into_bytes())
}

/// Reads a file descriptor the process inherited to its end.
fn read_fd(fd: i32) -> std::io::Result<String> {
    use std::io::Read;
    let path = PathBuf::from(format!("/proc/self/fd/{fd}"));
    let mut f = std::fs::File::open(path)?;
    let mut s = String::new();
    f.read_to_string(&mut s)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_private_atomic_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("keys");
        let path = folder.join("member.pem");
        let key = Keypair::generate();
        write_new(&path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&folder), 0o700);
        check_private(&path).unwrap();
        assert_eq!(read(&path, None, false).unwrap().public(), key.public());
        let before = std::fs::read(&path).unwrap();
        let err = write_new(&path, b"other").unwrap_err();
        assert!(matches!(err, KeyFileError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    }

    #[test]
    fn readable_keys_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.pem");
        write_new(
            &path,
            Keypair::generate().to_pkcs8_pem().unwrap().as_bytes(),
        )
        .unwrap();
        for (mode, what) in [
            (0o644, "read"),
            (0o620, "written"),
            (0o666, "read and written"),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read(&path, None, false).unwrap_err().to_string();
            assert!(
                err.contains(&format!("can be {what} by other users")),
                "{err}"
            );
            assert!(
                err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
            read(&path, None, true).unwrap();
        }
    }

    #[test]
    fn encrypted_keys_need_their_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.pem");
        let key = Keypair::generate();
        let pem = to_pem(&key, Some(b"correct horse")).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{pem}"
        );
        write_new(&path, pem.as_bytes()).unwrap();
        assert_eq!(
            read(&path, Some(b"correct horse"), false).unwrap().public(),
            key.public()
        );
        assert!(matches!(
            read(&path, None, false),
            Err(KeyFileError::NeedsPassphrase { .. })
        ));
        assert!(matches!(
            read(&path, Some(b"wrong"), false),
            Err(KeyFileError::BadPassphrase { .. })
        ));
        // OpenSSL reads it with the passphrase and finds the same public key.
        let out = std::process::Command::new("openssl")
            .args([
                "pkey",
                "-pubout",
                "-outform",
                "DER",
                "-passin",
                "pass:correct horse",
                "-in",
            ])
            .arg(&path)
            .output()
            .expect("openssl is needed (apt-get install openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&out.stdout[out.stdout.len() - 32..], &key.public().0);
        // And a key OpenSSL encrypts (PBKDF2 + AES-256-CBC) reads back.
        let plain = dir.path().join("plain.pem");
        write_new(&plain, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let out = std::process::Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:p4ss",
                "-in",
            ])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            from_pem(&plain, &theirs, Some(b"p4ss")).unwrap().public(),
            key.public()
        );
    }

    #[test]
    fn passphrase_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("SHANLIAN_TEST_PASSPHRASE", "from env\n");
        assert_eq!(
            read_passphrase("env:SHANLIAN_TEST_PASSPHRASE").unwrap(),
            b"from env"
        );
        assert!(read_passphrase("env:SHANLIAN_NO_SUCH_VARIABLE").is_err());
        let f = dir.path().join("pass");
        write_new(&f, b"from file\n").unwrap();
        assert_eq!(
            read_passphrase(&format!("file:{}", f.display())).unwrap(),
            b"from file"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_passphrase(&format!("file:{}", f.display())).is_err());
        let err = read_passphrase("hunter2").unwrap_err().to_string();
        assert!(err.contains("env:NAME, file:PATH or fd:N"), "{err}");
    }
}
