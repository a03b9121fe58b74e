//! The donor's receipt file: the donation's receipt bundle (SPEC §13), what
//! chain and explorers it belongs to, and — in a section of its own that the
//! donor keeps private — the salt of the donor commitment. With the genesis
//! file, it verifies offline, forever.
//!
//! ```json
//! {"format": "shanlian-receipt/1", "chain_id": "…", "genesis_hash": "…",
//!  "charity": "<address>", "receipt": "SZ-…", "record": "<id>",
//!  "explorers": ["https://…"], "bundle": { …SPEC §13.2… },
//!  "donor_secret": {"salt": "<hex>", "note": "…"}}
//! ```
//!
//! A bare bundle (the JSON form of SPEC §13.2) is read as a receipt
//! without the other fields.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use shanlian_ledger::bundle::ReceiptBundle;
use std::path::Path;

pub const FORMAT: &str = "shanlian-receipt/1";

/// The private part: the salt that, with the donor's identity, opens the
/// commitment on the ledger. Never sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DonorSecret {
    pub salt: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFile {
    pub format: String,
    pub chain_id: String,
    pub genesis_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    pub record: String,
    #[serde(default)]
    pub explorers: Vec<String>,
    pub bundle: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_secret: Option<DonorSecret>,
}

impl ReceiptFile {
    /// Reads a receipt file, or a bare bundle.
    pub fn read(path: &Path) -> Result<ReceiptFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("receipt file {}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("receipt file {}: not JSON", path.display()))?;
        match v["format"].as_str() {
            Some(FORMAT) => serde_json::from_value(v)
                .with_context(|| format!("receipt file {}", path.display())),
            Some(f) if f == shanlian_ledger::bundle::JSON_FORMAT => {
                let b = ReceiptBundle::from_json(&v)
                    .with_context(|| format!("bundle {}", path.display()))?;
                let id = shanlian_ledger::types::RecordId::of_bytes(&b.record.record);
                Ok(ReceiptFile {
                    format: FORMAT.into(),
                    chain_id: b.block.checkpoint.header.chain_id.clone(),
                    genesis_hash: String::new(),
                    charity: None,
                    receipt: None,
                    record: id.to_hex(),
                    explorers: Vec::new(),
                    bundle: v,
                    donor_secret: None,
                })
            }
            other => bail!(
                "{}: not a receipt file or a receipt bundle (format {other:?})",
                path.display()
            ),
        }
    }

    pub fn bundle(&self) -> Result<ReceiptBundle> {
        ReceiptBundle::from_json(&self.bundle).context("the receipt's bundle")
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        // The donor's salt is private: owner-only, never overwritten.
        shanlian_ledger::keyfile::write_new(path, text.as_bytes())
            .with_context(|| format!("receipt file {}", path.display()))
    }
}
