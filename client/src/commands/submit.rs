//! Signing and submitting one record, waiting for its commit, and, for a
//! donation, writing the donor's receipt file with its verified bundle.

use crate::api::Nodes;
use crate::receipt::{DonorSecret, ReceiptFile};
use crate::Report;
use anyhow::{bail, Context, Result};
use serde_json::json;
use shanlian_ledger::bundle::{self, ReceiptBundle};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::{Payload, Record, RecordBody, SignedRecord};
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Now, in UTC milliseconds.
pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

/// A random nonce (two records with equal bodies are one record).
pub fn nonce() -> u64 {
    use rand_core::RngCore;
    rand_core::OsRng.next_u64()
}

/// Signs a payload: created now, expiring `expires_in` later.
pub fn sign(
    key: &Keypair,
    genesis_hash: &Hash32,
    payload: Payload,
    expires_in: Duration,
) -> Record {
    let created = now();
    let body = RecordBody {
        created,
        expires: Timestamp(created.0 + expires_in.as_millis() as u64),
        nonce: nonce(),
        payload,
    };
    Record::new(SignedRecord::sign(body, key, genesis_hash))
}

/// How to submit.
pub struct Submit<'a> {
    pub nodes: &'a Nodes,
    pub key: &'a Keypair,
    pub genesis: &'a Genesis,
    pub wait: bool,
    pub timeout: Duration,
    pub expires_in: Duration,
}

/// What a donation needs besides its payload to give the donor a receipt.
pub struct DonationReceipt {
    pub out: Option<PathBuf>,
    /// The salt of the donor commitment, when this command made it.
    pub salt: Option<[u8; 32]>,
}

/// Signs and submits `payload`; with `wait`, returns once committed.
pub async fn one(
    s: &Submit<'_>,
    payload: Payload,
    receipt: Option<DonationReceipt>,
) -> Result<Report> {
    let gh = s.genesis.hash();
    let record = sign(s.key, &gh, payload, s.expires_in);
    let kind = record.signed.body.payload.kind();
    s.nodes.submit(&record.bytes).await?;
    let mut j = json!({"id": record.id.to_hex(), "kind": kind, "status": "pending"});
    let mut text = format!("submitted {kind} {}", record.id);
    if !s.wait {
        if receipt.is_some() {
            text += "\n  (no receipt file without --wait: the bundle exists once the donation is committed; run `shanlian receipt` later)";
        }
        text += "\n  not waited for: `shanlian status <id>` tells when it is committed";
        return Ok(Report::ok(j, text));
    }
    let (height, index) = s.nodes.wait(&record.id, &record.bytes, s.timeout).await?;
    j["status"] = json!("committed");
    j["height"] = json!(height);
    j["index"] = json!(index);
    text = format!(
        "{kind} {} committed in block {height} (index {index})",
        record.id
    );
    if let Some(r) = receipt {
        let (path, link) = write_receipt(s.nodes, s.genesis, &record, r).await?;
        j["receipt_file"] = json!(path.display().to_string());
        j["link"] = json!(link);
        text += &format!(
            "\n  receipt file: {} (the bundle verifies offline: `shanlian verify {}`)\n  link: {link}\n{}",
            path.display(),
            path.display(),
            qr(&link)
        );
    }
    Ok(Report::ok(j, text))
}

/// Fetches and verifies the committed donation's bundle, and writes the
/// receipt file (owner-only: it holds the donor's salt).
pub async fn write_receipt(
    nodes: &Nodes,
    genesis: &Genesis,
    record: &Record,
    r: DonationReceipt,
) -> Result<(PathBuf, String)> {
    let Payload::RecordDonation(d) = &record.signed.body.payload else {
        bail!("a receipt is for a donation");
    };
    let v = nodes
        .get(&format!("/api/v1/records/{}/bundle", record.id.to_hex()))
        .await?;
    let b = ReceiptBundle::from_json(&v).context("the explorer's bundle")?;
    let proved = bundle::verify(genesis, &b)
        .map_err(|e| anyhow::anyhow!("the explorer's bundle does not verify: {e}"))?;
    if proved.id != record.id {
        bail!("the explorer sent the bundle of another record");
    }
    let charity = Address::of_key(&record.signed.signer);
    let charity = proved.signer.as_ref().map(|m| m.address).unwrap_or(charity);
    let path = r
        .out
        .unwrap_or_else(|| PathBuf::from(format!("receipt-{}.json", safe_name(&d.receipt.0))));
    let gh = hex::encode(genesis.hash());
    let file = ReceiptFile {
        format: crate::receipt::FORMAT.into(),
        chain_id: genesis.chain_id.clone(),
        genesis_hash: gh.clone(),
        charity: Some(charity.to_hex()),
        receipt: Some(d.receipt.0.clone()),
        record: record.id.to_hex(),
        explorers: nodes.urls.clone(),
        bundle: b.to_json(),
        donor_secret: r.salt.map(|salt| DonorSecret {
            salt: hex::encode(salt),
            note: "Keep this salt private: with your identity it proves the donation is yours (`shanlian verify --identity`). It is never sent anywhere.".into(),
        }),
    };
    file.write(&path)?;
    let link = format!(
        "{}/#/donation/{}/{}?g={gh}&id={}",
        nodes.urls[0],
        charity.to_hex(),
        d.receipt.0,
        record.id.to_hex()
    );
    Ok((path, link))
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A QR code of `text`, drawn with half blocks for a terminal.
pub fn qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
        Err(_) => String::new(),
    }
}

/// The file name a donation's receipt is written to by default.
pub fn default_receipt_path(receipt: &str) -> PathBuf {
    Path::new(&format!("receipt-{}.json", safe_name(receipt))).to_path_buf()
}
