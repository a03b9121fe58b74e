//! Genesis: the chain's founding document, read from TOML (see
//! genesis/README.md for every field) and hashed in canonical form.
//!
//! The genesis hash is `blake3(encode(Genesis))` and is part of every
//! signed message, so a record or vote for one chain can never count on
//! another.

use crate::codec;
use crate::crypto::check_member_key;
#[cfg(feature = "dev")]
use crate::crypto::Keypair;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::Deserialize;

/// Chain-wide parameters.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Largest encoded record, in bytes.
    pub max_record_bytes: u32,
    /// Most records in one block.
    pub max_records_per_block: u32,
    /// A record's expiry may be at most this long after its creation (ms).
    pub max_expiry_window_ms: u64,
    /// A record may be created at most this far after the block time (ms).
    pub clock_skew_ms: u64,
    /// A `SetValidator` takes effect at least this many heights after the
    /// block that records it.
    pub validator_change_delay: u64,
    /// Minimum share of a year's welfare-fund allocations for elderly
    /// services, in basis points (default 5,500 = 55%).
    pub elderly_min_share_bp: u32,
    /// Charity Law art. 60: charitable-activity spending of a charity with
    /// public-fundraising status, as a share of the previous year's income.
    pub charity_activity_min_bp: u32,
    /// Charity Law art. 60: management costs as a share of the year's spending.
    pub charity_management_max_bp: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_record_bytes: 4096,
            max_records_per_block: 10_000,
            max_expiry_window_ms: 3_600_000,
            clock_skew_ms: 30_000,
            validator_change_delay: 2,
            elderly_min_share_bp: 5_500,
            charity_activity_min_bp: 7_000,
            charity_management_max_bp: 1_000,
        }
    }
}

/// A member present from the start.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GenesisMember {
    pub name: String,
    pub role: Role,
    pub uscc: Uscc,
    pub public_key: PublicKey,
    pub node: NodeKey,
    /// Validator voting power; 0 = not a validator.
    pub power: u64,
}

impl GenesisMember {
    pub fn address(&self) -> Address {
        Address::of_key(&self.public_key)
    }
}

/// A welfare-lottery game and how its sales are split, in basis points.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Game {
    pub id: GameId,
    pub name: String,
    /// Prize fund share of sales.
    pub prize_bp: u32,
    /// Issuance-fee share of sales.
    pub issuance_fee_bp: u32,
    /// Public-welfare fund share of sales (≥ 2,000).
    pub welfare_bp: u32,
    /// Central share of the welfare fund (the rest is local).
    pub central_bp: u32,
}

/// The genesis document in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Genesis {
    pub chain_id: String,
    pub time: Timestamp,
    pub params: Params,
    pub members: Vec<GenesisMember>,
    pub games: Vec<Game>,
}

/// Why a genesis file was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis TOML: {0}")]
    Toml(String),
    #[error("genesis field `{field}`: {reason}")]
    Field { field: String, reason: String },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> GenesisError {
    GenesisError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlGenesis {
    chain_id: String,
    genesis_time: toml::value::Datetime,
    #[serde(default)]
    params: Option<Params>,
    members: Vec<TomlMember>,
    #[serde(default)]
    games: Vec<TomlGame>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlMember {
    name: String,
    role: String,
    uscc: String,
    public_key: String,
    node_peer_id: String,
    #[serde(default)]
    power: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlGame {
    id: String,
    name: String,
    prize_bp: u32,
    issuance_fee_bp: u32,
    welfare_bp: u32,
    central_bp: u32,
}

pub fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "bureau" => Role::Bureau,
        "charity" => Role::Charity,
        "lottery_centre" => Role::LotteryCentre,
        "auditor" => Role::Auditor,
        _ => return None,
    })
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Bureau => "bureau",
        Role::Charity => "charity",
        Role::LotteryCentre => "lottery_centre",
        Role::Auditor => "auditor",
    }
}

/// Parses an RFC 3339 UTC time (`2026-01-01T00:00:00Z`) to a timestamp.
fn utc_ms(dt: &toml::value::Datetime) -> Result<Timestamp, GenesisError> {
    let (Some(d), Some(t)) = (dt.date, dt.time) else {
        return Err(field("genesis_time", "needs a date and a time"));
    };
    match dt.offset {
        Some(toml::value::Offset::Z) => {}
        Some(toml::value::Offset::Custom { minutes: 0 }) => {}
        _ => return Err(field("genesis_time", "must be UTC (end it with Z)")),
    }
    if d.year < 1970 {
        return Err(field("genesis_time", "before 1970"));
    }
    if !(1..=12).contains(&d.month) || !(1..=31).contains(&d.day) {
        return Err(field("genesis_time", "not a calendar date"));
    }
    let ms = ((t.hour as u64 * 60 + t.minute as u64) * 60 + t.second as u64) * 1000
        + (t.nanosecond / 1_000_000) as u64;
    let ts = Timestamp::from_utc(d.year as u32, d.month as u32, d.day as u32, ms);
    Ok(ts)
}

impl Genesis {
    /// Reads and validates a genesis TOML document.
    pub fn from_toml(src: &str) -> Result<Genesis, GenesisError> {
        let t: TomlGenesis = toml::from_str(src).map_err(|e| GenesisError::Toml(e.to_string()))?;
        let mut members = Vec::new();
        for (i, m) in t.members.iter().enumerate() {
            let f = |n: &str| format!("members[{i}].{n}");
            let role = parse_role(&m.role).ok_or_else(|| {
                field(f("role"), "one of bureau, charity, lottery_centre, auditor")
            })?;
            let uscc = Uscc::new(m.uscc.clone()).map_err(|e| field(f("uscc"), e))?;
            let public_key = PublicKey::from_hex(&m.public_key)
                .map_err(|e| field(f("public_key"), format!("64 hex digits: {e}")))?;
            let node =
                NodeKey::from_peer_id(&m.node_peer_id).map_err(|e| field(f("node_peer_id"), e))?;
            members.push(GenesisMember {
                name: m.name.clone(),
                role,
                uscc,
                public_key,
                node,
                power: m.power,
            });
        }
        let mut games = Vec::new();
        for (i, g) in t.games.iter().enumerate() {
            games.push(Game {
                id: GameId::new(g.id.clone()).map_err(|e| field(format!("games[{i}].id"), e))?,
                name: g.name.clone(),
                prize_bp: g.prize_bp,
                issuance_fee_bp: g.issuance_fee_bp,
                welfare_bp: g.welfare_bp,
                central_bp: g.central_bp,
            });
        }
        let g = Genesis {
            chain_id: t.chain_id,
            time: utc_ms(&t.genesis_time)?,
            params: t.params.unwrap_or_default(),
            members,
            games,
        };
        g.validate()?;
        Ok(g)
    }

    /// Checks every rule a genesis must satisfy.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.is_empty() || self.chain_id.len() > 64 || !self.chain_id.is_ascii() {
            return Err(field("chain_id", "1 to 64 ASCII characters"));
        }
        let p = &self.params;
        if p.max_record_bytes < 512 || p.max_records_per_block == 0 {
            return Err(field(
                "params",
                "max_record_bytes ≥ 512 and max_records_per_block ≥ 1",
            ));
        }
        if p.max_expiry_window_ms == 0 || p.validator_change_delay < 1 {
            return Err(field(
                "params",
                "expiry window and validator change delay must be positive",
            ));
        }
        for (n, v) in [
            ("elderly_min_share_bp", p.elderly_min_share_bp),
            ("charity_activity_min_bp", p.charity_activity_min_bp),
            ("charity_management_max_bp", p.charity_management_max_bp),
        ] {
            if v > 10_000 {
                return Err(field(format!("params.{n}"), "at most 10,000 basis points"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut codes = std::collections::HashSet::new();
        let mut nodes = std::collections::HashSet::new();
        for (i, m) in self.members.iter().enumerate() {
            let f = |n: &str| format!("members[{i}].{n}");
            check_member_key(&m.public_key).map_err(|e| field(f("public_key"), e.to_string()))?;
            if !seen.insert(m.address()) {
                return Err(field(f("public_key"), "used by another member"));
            }
            let name_ok = !m.name.trim().is_empty()
                && m.name.len() <= crate::record::MAX_TEXT
                && !m.name.chars().any(char::is_control);
            if !name_ok {
                return Err(field(
                    f("name"),
                    "1 to 1,024 bytes without control characters",
                ));
            }
            m.uscc.check().map_err(|e| field(f("uscc"), e))?;
            if !codes.insert(m.uscc.clone()) {
                return Err(field(f("uscc"), "used by another member"));
            }
            crate::crypto::Verifier::parse(&PublicKey(m.node.0))
                .map_err(|_| field(f("node_peer_id"), "not a valid Ed25519 key"))?;
            if !nodes.insert(m.node) {
                return Err(field(f("node_peer_id"), "used by another member"));
            }
        }
        if !self.members.iter().any(|m| m.role == Role::Bureau) {
            return Err(field("members", "at least one bureau member is needed"));
        }
        let total: u128 = self.members.iter().map(|m| m.power as u128).sum();
        if total == 0 || total > u64::MAX as u128 / 4 {
            return Err(field(
                "members",
                "total validator power must be positive and < 2^62",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, g) in self.games.iter().enumerate() {
            let f = |n: &str| format!("games[{i}].{n}");
            if !ids.insert(g.id.clone()) {
                return Err(field(f("id"), "duplicate game id"));
            }
            if g.prize_bp as u64 + g.issuance_fee_bp as u64 + g.welfare_bp as u64 != 10_000 {
                return Err(field(
                    f("*_bp"),
                    "prize, issuance fee and welfare shares must sum to 10,000",
                ));
            }
            if g.welfare_bp < 2_000 {
                return Err(field(
                    f("welfare_bp"),
                    "the welfare share is at least 20% of sales",
                ));
            }
            if g.central_bp > 10_000 {
                return Err(field(f("central_bp"), "at most 10,000"));
            }
        }
        Ok(())
    }

    /// The genesis hash: blake3 of the canonical encoding.
    pub fn hash(&self) -> Hash32 {
        *blake3::hash(&codec::encode(self)).as_bytes()
    }

    pub fn game(&self, id: &GameId) -> Option<&Game> {
        self.games.iter().find(|g| &g.id == id)
    }

    /// Renders this genesis as TOML that [`Genesis::from_toml`] reads back
    /// to an equal value.
    pub fn to_toml(&self) -> String {
        // TOML basic strings, escaped.
        let q = |v: &str| toml::Value::String(v.to_string()).to_string();
        let mut s = String::new();
        s += &format!("chain_id = {}\n", q(&self.chain_id));
        s += &format!("genesis_time = {}\n\n", self.time);
        let p = &self.params;
        s += "[params]\n";
        s += &format!("max_record_bytes = {}\n", p.max_record_bytes);
        s += &format!("max_records_per_block = {}\n", p.max_records_per_block);
        s += &format!("max_expiry_window_ms = {}\n", p.max_expiry_window_ms);
        s += &format!("clock_skew_ms = {}\n", p.clock_skew_ms);
        s += &format!("validator_change_delay = {}\n", p.validator_change_delay);
        s += &format!("elderly_min_share_bp = {}\n", p.elderly_min_share_bp);
        s += &format!("charity_activity_min_bp = {}\n", p.charity_activity_min_bp);
        s += &format!(
            "charity_management_max_bp = {}\n",
            p.charity_management_max_bp
        );
        for m in &self.members {
            s += "\n[[members]]\n";
            s += &format!("name = {}\n", q(&m.name));
            s += &format!("role = \"{}\"\n", role_name(m.role));
            s += &format!("uscc = {}\n", q(&m.uscc.0));
            s += &format!("public_key = \"{}\"\n", m.public_key);
            s += &format!("node_peer_id = \"{}\"\n", m.node.peer_id());
            if m.power > 0 {
                s += &format!("power = {}\n", m.power);
            }
        }
        for g in &self.games {
            s += "\n[[games]]\n";
            s += &format!("id = {}\nname = {}\n", q(&g.id.0), q(&g.name));
            s += &format!(
                "prize_bp = {}\nissuance_fee_bp = {}\nwelfare_bp = {}\ncentral_bp = {}\n",
                g.prize_bp, g.issuance_fee_bp, g.welfare_bp, g.central_bp
            );
        }
        s
    }
}

/// The welfare-lottery games of the published rules this project starts
/// from (SPEC §11): the two-colour ball (双色球)
/// with 36% of sales for public welfare, and the keno-type game (快乐8) with
/// 30%; each welfare fund split 50% central, 50% local. Used by the demo
/// genesis and by `shanlian-node testnet`.
pub fn standard_games() -> Vec<Game> {
    vec![
        Game {
            id: GameId("SSQ".into()),
            name: "双色球 two-colour ball".into(),
            prize_bp: 5_100,
            issuance_fee_bp: 1_300,
            welfare_bp: 3_600,
            central_bp: 5_000,
        },
        Game {
            id: GameId("KL8".into()),
            name: "快乐8 keno".into(),
            prize_bp: 5_800,
            issuance_fee_bp: 1_200,
            welfare_bp: 3_000,
            central_bp: 5_000,
        },
    ]
}

/// One member of the demo network, with its INSECURE dev keys.
#[cfg(feature = "dev")]
pub struct DevMember {
    pub label: &'static str,
    pub key: Keypair,
    pub node_key: Keypair,
}

/// The demo network's members: (label, name, role, USCC first 16, power).
#[cfg(feature = "dev")]
const DEV_MEMBERS: [(&str, &str, Role, &str, u64); 6] = [
    (
        "bureau",
        "深圳市民政局 (demo)",
        Role::Bureau,
        "11440300MB2C0000",
        10,
    ),
    (
        "charity-federation",
        "深圳市慈善会 (demo)",
        Role::Charity,
        "53440300MJL00000",
        10,
    ),
    (
        "red-cross",
        "深圳市红十字会 (demo)",
        Role::Charity,
        "12440300MB2D0000",
        0,
    ),
    (
        "one-foundation",
        "深圳壹基金公益基金会 (demo)",
        Role::Charity,
        "53440300MJL00001",
        0,
    ),
    (
        "lottery-centre",
        "深圳市福利彩票发行中心 (demo)",
        Role::LotteryCentre,
        "12440300MB2E0000",
        10,
    ),
    (
        "auditor",
        "深圳示例会计师事务所 (demo)",
        Role::Auditor,
        "91440300MA5G0000",
        10,
    ),
];

/// The deterministic demo network: members with INSECURE dev keys (see
/// [`Keypair::insecure_dev`]; labels `dev/<label>` and
/// `dev/<label>/node`), four validators, two lottery games.
#[cfg(feature = "dev")]
pub fn dev_genesis() -> (Genesis, Vec<DevMember>) {
    let mut members = Vec::new();
    let mut keys = Vec::new();
    for (label, name, role, first16, power) in DEV_MEMBERS {
        let key = Keypair::insecure_dev(&format!("dev/{label}"));
        let node_key = Keypair::insecure_dev(&format!("dev/{label}/node"));
        // A syntactically valid code: 16 fixed characters, one digit, and
        // the check character. These organisations' real codes differ.
        let first17 = format!("{first16}1");
        let check = Uscc::check_char(&first17).unwrap_or('0');
        members.push(GenesisMember {
            name: name.into(),
            role,
            uscc: Uscc(format!("{first17}{check}")),
            public_key: key.public(),
            node: NodeKey(node_key.public().0),
            power,
        });
        keys.push(DevMember {
            label,
            key,
            node_key,
        });
    }
    let games = standard_games();
    let g = Genesis {
        chain_id: "shanlian-dev".into(),
        time: Timestamp(1_767_225_600_000), // 2026-01-01T00:00:00Z
        params: Params::default(),
        members,
        games,
    };
    (g, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_genesis_file_matches_code() {
        let (g, _) = dev_genesis();
        g.validate().unwrap();
        let text = include_str!("../../../genesis/dev.toml");
        let parsed = Genesis::from_toml(text).unwrap();
        assert_eq!(
            parsed, g,
            "genesis/dev.toml is out of date: regenerate it (see genesis/README.md)"
        );
        assert_eq!(Genesis::from_toml(&g.to_toml()).unwrap(), g);
    }

    #[test]
    fn bad_genesis_is_refused_with_the_field() {
        let (g, _) = dev_genesis();
        let good = g.to_toml();
        let cases = [
            ("prize_bp = 5100", "prize_bp = 5101", "sum to 10,000"),
            ("role = \"auditor\"", "role = \"boss\"", "members[5].role"),
            (
                "genesis_time = 2026-01-01T00:00:00Z",
                "genesis_time = 2026-01-01T08:00:00+08:00",
                "UTC",
            ),
            (
                "max_record_bytes = 4096",
                "max_record_bytes = 4096\nsurprise = 1",
                "unknown field",
            ),
            ("welfare_bp = 3000", "welfare_bp = 1000", "sum to 10,000"),
        ];
        for (from, to, want) in cases {
            assert!(good.contains(from), "{from}");
            let err = Genesis::from_toml(&good.replacen(from, to, 1))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{to}: {err}");
        }
        let k = &g.members[1].public_key.to_hex();
        let dup = good.replacen(&g.members[2].public_key.to_hex(), k, 1);
        assert!(Genesis::from_toml(&dup)
            .unwrap_err()
            .to_string()
            .contains("another member"));
        let dup = good.replacen(&g.members[2].uscc.0, &g.members[1].uscc.0, 1);
        assert!(Genesis::from_toml(&dup)
            .unwrap_err()
            .to_string()
            .contains("members[2].uscc"));
        let peer = g.members[1].node.peer_id();
        let dup = good.replacen(&g.members[2].node.peer_id(), &peer, 1);
        assert!(Genesis::from_toml(&dup)
            .unwrap_err()
            .to_string()
            .contains("members[2].node_peer_id"));
    }

    #[test]
    fn names_with_quotes_round_trip() {
        let (mut g, _) = dev_genesis();
        g.members[0].name = "民政局 \"demo\" \\ test".into();
        assert_eq!(Genesis::from_toml(&g.to_toml()).unwrap(), g);
        g.members[0].name = "bad\u{7}bell".into();
        assert!(g.validate().is_err());
    }

    #[test]
    fn times_round_trip() {
        for ms in [0u64, 1_767_225_600_000, 1_709_164_800_000 + 3_723_000] {
            let s = Timestamp(ms).to_string();
            let dt: toml::value::Datetime = s.parse().unwrap();
            assert_eq!(utc_ms(&dt).unwrap(), Timestamp(ms), "{s}");
        }
    }
}
