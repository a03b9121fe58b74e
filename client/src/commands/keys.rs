//! `shanlian key new|show|import`: Ed25519 keys as PKCS#8 PEM files that
//! OpenSSL reads, written owner-only and never over an existing file.

use crate::Report;
use anyhow::{Context, Result};
use serde_json::json;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::types::{Address, NodeKey};
use std::path::Path;

fn describe(key: &Keypair, path: &Path, what: &str) -> Report {
    let public = key.public();
    let address = Address::of_key(&public);
    let peer = NodeKey(public.0).peer_id();
    Report::ok(
        json!({"file": path.display().to_string(), "address": address.to_hex(),
            "public_key": public.to_hex(), "peer_id": peer.to_string()}),
        format!(
            "{what} {}\n  address:    {address}\n  public key: {}\n  peer id (as a node key): {peer}",
            path.display(),
            public.to_hex()
        ),
    )
}

/// A new random key, written to `out` (encrypted if a passphrase source is
/// given).
pub fn new(out: &Path, passphrase: Option<&str>) -> Result<Report> {
    let key = Keypair::generate();
    write(&key, out, passphrase)?;
    Ok(describe(&key, out, "wrote"))
}

fn write(key: &Keypair, out: &Path, passphrase: Option<&str>) -> Result<()> {
    let pass = passphrase
        .map(shanlian_ledger::keyfile::read_passphrase)
        .transpose()
        .context("passphrase")?;
    let pem = shanlian_ledger::keyfile::to_pem(key, pass.as_deref())?;
    shanlian_ledger::keyfile::write_new(out, pem.as_bytes())
        .with_context(|| format!("key file {}", out.display()))
}

/// What a key file holds (its address, public key and peer id).
pub fn show(path: &Path, passphrase: Option<&str>) -> Result<Report> {
    let key = crate::profile::read_key(path, passphrase)?;
    Ok(describe(&key, path, "key"))
}

/// Imports a key from PKCS#8 (PEM or DER) or a 32-byte seed in hex into a
/// new key file.
pub fn import(from: &Path, out: &Path, passphrase: Option<&str>) -> Result<Report> {
    let bytes = std::fs::read(from).with_context(|| format!("{}", from.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let key = if text.contains("-----BEGIN") {
        shanlian_ledger::keyfile::from_pem(from, &text, None)
            .with_context(|| format!("{}", from.display()))?
    } else if let Ok(seed) = hex::decode(text.trim()) {
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            anyhow::anyhow!("{}: a seed is 32 bytes (64 hex digits)", from.display())
        })?;
        Keypair::from_seed(seed)
    } else {
        Keypair::from_pkcs8_der(&bytes).map_err(|e| {
            anyhow::anyhow!("{}: not PKCS#8 PEM, DER or a hex seed: {e}", from.display())
        })?
    };
    write(&key, out, passphrase)?;
    Ok(describe(&key, out, "imported into"))
}
