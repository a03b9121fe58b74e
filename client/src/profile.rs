//! The client's profile: which explorers to talk to, which key signs, which
//! genesis file verifies. Read from `--config FILE`, `$SHANLIAN_CONFIG` or
//! `~/.config/shanlian/config.toml`; command-line options win.
//!
//! ```toml
//! explorers = ["https://explorer.example.org", "http://10.0.0.2:8080"]
//! key = "charity.pem"        # relative to this file
//! genesis = "genesis.toml"
//! ```

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub explorers: Vec<String>,
    pub key: Option<PathBuf>,
    pub genesis: Option<PathBuf>,
    /// Where the key's passphrase is (env:NAME, file:PATH, fd:N), for an
    /// encrypted key.
    pub key_passphrase: Option<String>,
}

impl Profile {
    /// The profile at `path`, or the default one (absent files are empty
    /// profiles unless named explicitly).
    pub fn load(path: Option<&Path>) -> Result<Profile> {
        let (path, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match std::env::var_os("SHANLIAN_CONFIG") {
                Some(p) => (PathBuf::from(p), true),
                None => match std::env::var_os("HOME") {
                    Some(h) => (PathBuf::from(h).join(".config/shanlian/config.toml"), false),
                    None => return Ok(Profile::default()),
                },
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Profile::default())
            }
            Err(e) => return Err(e).with_context(|| format!("profile {}", path.display())),
        };
        let mut p: Profile =
            toml::from_str(&text).with_context(|| format!("profile {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for f in [&mut p.key, &mut p.genesis].into_iter().flatten() {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        Ok(p)
    }
}

/// Reads a genesis file (TOML).
pub fn read_genesis(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("genesis file {}", path.display()))?;
    Genesis::from_toml(&text).with_context(|| format!("genesis file {}", path.display()))
}

/// Reads a signing key (PKCS#8 PEM, encrypted or not): refused if other
/// users can read it.
pub fn read_key(path: &Path, passphrase: Option<&str>) -> Result<Keypair> {
    let pass = match passphrase {
        Some(src) => Some(
            shanlian_ledger::keyfile::read_passphrase(src)
                .with_context(|| format!("passphrase for {}", path.display()))?,
        ),
        None => None,
    };
    let key = shanlian_ledger::keyfile::read(path, pass.as_deref(), false);
    match key {
        Err(shanlian_ledger::keyfile::KeyFileError::NeedsPassphrase { .. }) => bail!(
            "key file {} is encrypted: give --passphrase env:NAME|file:PATH|fd:N (or key_passphrase in the profile)",
            path.display()
        ),
        other => other.with_context(|| format!("key file {}", path.display())),
    }
}
