//! Domain types that make wrong states hard to write: money is integer fen,
//! identities are fixed-size byte strings, codes are validated strings.

use bincode::{Decode, Encode};
use std::fmt;

/// A 32-byte blake3 digest.
pub type Hash32 = [u8; 32];

/// Money in fen (分, 1/100 yuan). Never a float; arithmetic is checked.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub u64);

impl Fen {
    pub const ZERO: Fen = Fen(0);
    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }
    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }
}

impl fmt::Display for Fen {
    /// Shown as yuan with two decimals: `¥12.34`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// UTC time in milliseconds since the Unix epoch.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The UTC calendar year this instant falls in (proleptic Gregorian).
    pub fn utc_year(self) -> u32 {
        civil_from_days((self.0 / 86_400_000) as i64).0 as u32
    }
    /// Midnight UTC on 1 January of `year`.
    pub fn start_of_year(year: u32) -> Timestamp {
        Timestamp::from_utc(year, 1, 1, 0)
    }
    /// Midnight UTC of a calendar date (1970 or later) plus `ms`.
    pub fn from_utc(year: u32, month: u32, day: u32, ms: u64) -> Timestamp {
        Timestamp((days_from_civil(year as i64, month, day).max(0) as u64) * 86_400_000 + ms)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 UTC, to the second: `2026-01-01T00:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days((self.0 / 86_400_000) as i64);
        let rem = self.0 % 86_400_000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day); H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

macro_rules! bytes_newtype {
    ($(#[$m:meta])* $name:ident, $n:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        pub struct $name(pub [u8; $n]);

        impl Default for $name {
            fn default() -> Self {
                $name([0; $n])
            }
        }

        impl $name {
            pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
                let mut out = [0u8; $n];
                hex::decode_to_slice(s, &mut out)?;
                Ok($name(out))
            }
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        /// JSON form: lowercase hex.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                $name::from_hex(&text).map_err(|e| {
                    serde::de::Error::custom(format!(
                        "{}: expected {} hex digits: {e}",
                        stringify!($name),
                        2 * $n
                    ))
                })
            }
        }
    };
}

bytes_newtype!(
    /// A member's address: the first 20 bytes of blake3(public key) of the
    /// key it was admitted with. It stays the member's identity across key
    /// rotations.
    Address,
    20
);
bytes_newtype!(
    /// An Ed25519 public key (32 bytes, compressed Edwards point).
    PublicKey,
    32
);
bytes_newtype!(
    /// An Ed25519 signature (R || s).
    Signature,
    64
);
bytes_newtype!(
    /// blake3 of the canonical encoding of a signed record.
    RecordId,
    32
);
bytes_newtype!(
    /// A salted identity commitment: blake3 of a documented encoding of an
    /// identity and a 32-byte random salt (see [`crate::commitment`]).
    Commitment,
    32
);
bytes_newtype!(
    /// The Ed25519 public key of a node's libp2p identity; its peer id is
    /// derived from it (see [`NodeKey::peer_id`]).
    NodeKey,
    32
);

impl Address {
    /// The address of a public key: `blake3(key)[0..20]`.
    pub fn of_key(key: &PublicKey) -> Address {
        let h = blake3::hash(&key.0);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h.as_bytes()[..20]);
        Address(a)
    }
}

/// libp2p's peer-id bytes for an Ed25519 key: the identity multihash
/// (0x00, 36) of the protobuf `PublicKey { Type: Ed25519 (1), Data: key }`.
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

impl RecordId {
    /// The id of a record from its canonical bytes: `blake3(bytes)` (SPEC §5).
    pub fn of_bytes(bytes: &[u8]) -> RecordId {
        RecordId(*blake3::hash(bytes).as_bytes())
    }
}

impl NodeKey {
    /// The libp2p peer id (base58btc, `12D3KooW…`) of this node key.
    pub fn peer_id(&self) -> String {
        let mut b = PEER_ID_PREFIX.to_vec();
        b.extend_from_slice(&self.0);
        bs58::encode(b).into_string()
    }
    /// Parses an Ed25519 libp2p peer id (`12D3KooW…`). Other key types are
    /// refused: the ledger pins node identities to Ed25519.
    pub fn from_peer_id(s: &str) -> Result<NodeKey, String> {
        let b = bs58::decode(s)
            .into_vec()
            .map_err(|e| format!("peer id is not base58: {e}"))?;
        if b.len() != 38 || b[..6] != PEER_ID_PREFIX {
            return Err("peer id is not an Ed25519 libp2p peer id".into());
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(&b[6..]);
        Ok(NodeKey(k))
    }
}

/// Checks a code string: 1..=max bytes of ASCII letters, digits and `-_./`.
fn check_code(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("must be 1 to {max} bytes long"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err("may contain only ASCII letters, digits and - _ . /".into());
    }
    Ok(())
}

macro_rules! code_newtype {
    ($(#[$m:meta])* $name:ident, $max:expr) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub const MAX_LEN: usize = $max;
            /// Builds a checked value.
            pub fn new(s: impl Into<String>) -> Result<Self, String> {
                let v = $name(s.into());
                v.check()?;
                Ok(v)
            }
            /// Whether the string is well formed (used on decoded input).
            pub fn check(&self) -> Result<(), String> {
                check_code(&self.0, $max)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_newtype!(
    /// A fundraising project's id, unique ledger-wide (e.g. `SZCF-2026-007`).
    ProjectId,
    64
);
code_newtype!(
    /// An e-receipt number, unique per charity.
    ReceiptNo,
    64
);
code_newtype!(
    /// A verifiable draw's id, unique ledger-wide (e.g. `FC-REWARD-2026-11`).
    DrawId,
    64
);
code_newtype!(
    /// A lottery game id from genesis (e.g. `SSQ` for the two-colour ball).
    GameId,
    32
);

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18
/// characters from `0-9A-Z` without I, O, S, V, Z, the last a check
/// character over the first 17.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Uscc(pub String);

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl Uscc {
    pub fn new(s: impl Into<String>) -> Result<Self, String> {
        let v = Uscc(s.into());
        v.check()?;
        Ok(v)
    }
    /// The check character for the first 17 characters of a code.
    pub fn check_char(first17: &str) -> Result<char, String> {
        let b = first17.as_bytes();
        if b.len() != 17 {
            return Err("a unified social credit code has 18 characters".into());
        }
        let mut sum = 0u32;
        for (i, c) in b.iter().enumerate() {
            let v = USCC_CHARS
                .iter()
                .position(|x| x == c)
                .ok_or_else(|| format!("character {:?} is not allowed", *c as char))?;
            sum += v as u32 * USCC_WEIGHTS[i];
        }
        let check = (31 - sum % 31) % 31;
        Ok(USCC_CHARS[check as usize] as char)
    }
    pub fn check(&self) -> Result<(), String> {
        let s = &self.0;
        if s.len() != 18 || !s.is_ascii() {
            return Err("a unified social credit code has 18 ASCII characters".into());
        }
        let want = Self::check_char(&s[..17])?;
        if s.as_bytes()[17] as char != want {
            return Err(format!("check character should be {want}"));
        }
        Ok(())
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a member may do on the ledger.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum Role {
    /// 民政局: admits members and validators, approves projects, lists organisations.
    Bureau,
    /// A charitable organisation (慈善组织).
    Charity,
    /// The welfare-lottery centre (福利彩票发行中心).
    LotteryCentre,
    /// An independent auditor.
    Auditor,
}

/// How a donation arrived.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub enum Channel {
    Bank,
    /// e-CNY (数字人民币).
    DigitalRmb,
    OnlinePlatform,
    Cash,
    /// Goods; the donation amount is their documented valuation.
    InKind {
        description: String,
        #[serde(with = "crate::hexser::hash32")]
        valuation_evidence: Hash32,
    },
}

/// Where money sits inside a charity: its general fund or one project.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum FundRef {
    General(Address),
    Project(ProjectId),
    /// The local public-welfare pool of lottery sales. Not a charity
    /// fund: records may not name it.
    WelfarePool,
}

impl fmt::Display for FundRef {
    /// `general:<address hex>`, `project:<id>` or `welfare-pool`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FundRef::General(a) => write!(f, "general:{a}"),
            FundRef::Project(p) => write!(f, "project:{p}"),
            FundRef::WelfarePool => f.write_str("welfare-pool"),
        }
    }
}

/// Charity Law spending categories.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum SpendingCategory {
    CharitableActivity,
    Management,
    Fundraising,
}

/// Purpose categories of a fundraising project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum ProjectCategory {
    PovertyRelief,
    Elderly,
    Disabled,
    Children,
    Education,
    Health,
    Disaster,
    Environment,
    Community,
    Other,
}

/// Purposes of welfare-lottery public-welfare fund allocations.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum WelfarePurpose {
    /// 扶老
    Elderly,
    /// 助残
    Disabled,
    /// 救孤
    Orphans,
    /// 济困
    PovertyRelief,
    Other,
}

impl WelfarePurpose {
    pub const ALL: [WelfarePurpose; 5] = [
        WelfarePurpose::Elderly,
        WelfarePurpose::Disabled,
        WelfarePurpose::Orphans,
        WelfarePurpose::PovertyRelief,
        WelfarePurpose::Other,
    ];
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The bureau's public lists.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ListKind {
    /// 活动异常名录
    AbnormalActivity,
    /// 严重违法失信名单
    SeriousViolation,
}

/// What an evidence document is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum EvidenceKind {
    Invoice,
    Contract,
    Photo,
    BankSlip,
    Report,
    Other,
}

/// One evidence document: its kind and blake3 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    #[serde(with = "crate::hexser::hash32")]
    pub hash: Hash32,
}

/// Who received a disbursement.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub enum Recipient {
    /// A person, as a salted commitment only.
    Person(Commitment),
    /// An organisation, by name and (where it has one) credit code.
    Organisation { name: String, uscc: Option<Uscc> },
}

/// Severity of an auditor's finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_money() {
        assert_eq!(Timestamp(0).utc_year(), 1970);
        let t = Timestamp::start_of_year(2026);
        assert_eq!(t.0, 1_767_225_600_000);
        assert_eq!(t.utc_year(), 2026);
        assert_eq!(Timestamp(t.0 - 1).utc_year(), 2025);
        assert_eq!(Timestamp::start_of_year(2024).utc_year(), 2024);
        assert_eq!(Fen(12_345).to_string(), "¥123.45");
        assert_eq!(Fen(u64::MAX).checked_add(Fen(1)), None);
    }

    #[test]
    fn uscc_check_character() {
        // A published code (Shenzhen Charity Federation): 53440300MJL0143327? no —
        // build one from 17 characters and check the round trip instead.
        let first = "53440300MJL01433";
        let c = Uscc::check_char(&format!("{first}2")).unwrap();
        let code = format!("{first}2{c}");
        assert!(Uscc::new(code.clone()).is_ok());
        let mut bad = code.into_bytes();
        bad[17] = if bad[17] == b'0' { b'1' } else { b'0' };
        assert!(Uscc::new(String::from_utf8(bad).unwrap()).is_err());
        assert!(Uscc::new("91440300MA5ILOVEXX").is_err());
        assert!(Uscc::new("short").is_err());
        // Known valid code: 91350100M000100Y43 is the GB 32100 example.
        assert!(Uscc::new("91350100M000100Y43").is_ok());
    }

    #[test]
    fn codes_and_peer_ids() {
        assert!(ProjectId::new("SZCF-2026-007").is_ok());
        assert!(ProjectId::new("").is_err());
        assert!(ProjectId::new("has space").is_err());
        assert!(ReceiptNo::new("x".repeat(65)).is_err());
        let k = NodeKey([7; 32]);
        let p = k.peer_id();
        assert!(p.starts_with("12D3KooW"), "{p}");
        assert_eq!(NodeKey::from_peer_id(&p).unwrap(), k);
        assert!(NodeKey::from_peer_id("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").is_err());
        // Only the one base58 spelling of a 38-byte id decodes to it: an
        // extra leading '1' is an extra zero byte, and the length check
        // refuses it (SPEC §2.4).
        assert!(NodeKey::from_peer_id(&format!("1{p}")).is_err());
        for seed in 0u8..=255 {
            let k = NodeKey([seed; 32]);
            let id = k.peer_id();
            let decoded = NodeKey::from_peer_id(&id).unwrap();
            assert_eq!(decoded.peer_id(), id);
        }
    }
}
