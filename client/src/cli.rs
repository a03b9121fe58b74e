//! The `shanlian` command line.

use crate::api::Nodes;
use crate::commands::{self, import, submit};
use crate::profile::{read_genesis, read_key, Profile};
use crate::Report;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use shanlian_ledger::crypto::{commitment, document_hash, Domain};
use shanlian_ledger::record::*;
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "shanlian",
    version,
    about = "善链 Shanlian: submit and import a charity's records, verify a receipt, trace a donation, audit a chain",
    long_about = "善链 Shanlian, the command line for charities (submit, import), donors (verify, trace, check-evidence) and auditors (audit, compare, reconcile, attest, export).\n\nA profile (--config, $SHANLIAN_CONFIG or ~/.config/shanlian/config.toml) names the explorers, the signing key and the genesis file; options override it. Everything the explorers say is verified here against the genesis file."
)]
pub struct Cli {
    /// The profile (TOML: explorers = [...], key = ..., genesis = ...).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// An explorer to talk to (repeat for failover).
    #[arg(long = "explorer", global = true)]
    explorers: Vec<String>,
    /// The signing key (PKCS#8 PEM).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    /// Where the key's passphrase is: env:NAME, file:PATH or fd:N.
    #[arg(long, global = true)]
    passphrase: Option<String>,
    /// The genesis file everything is verified against.
    #[arg(long, global = true)]
    genesis: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// Options of every command that signs a record.
#[derive(Args, Clone)]
struct SignOpts {
    /// Wait until the record is committed (resubmitting to another node if
    /// one fails or forgets it), and until the other explorers that answer
    /// have it too (at most 10 s more), so the next command sees it.
    #[arg(long)]
    wait: bool,
    /// How long to wait, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The record expires this many seconds after it is signed (at most the
    /// genesis window, one hour by default).
    #[arg(long, default_value_t = 600)]
    expires_in: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Keys: new, show, import.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The network's status, as an explorer tells it.
    Status {
        /// A record id: whether it is committed, pending or refused.
        id: Option<String>,
    },
    /// A project: register, approve (bureau), close.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Record a donation received (writes the donor's receipt file with --wait).
    Donation(DonationArgs),
    /// Record money spent from a fund, with evidence documents (hashed here,
    /// never uploaded).
    Disbursement(DisbursementArgs),
    /// Return (part of) a donation.
    Refund {
        #[arg(long)]
        receipt: String,
        /// Yuan (123.45) or fen (12345fen).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Grant money from one of your funds to another charity's project.
    Grant {
        /// general or project:<id>
        #[arg(long, default_value = "general")]
        from: String,
        /// The receiving project.
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Amend one of your own records (the original stays).
    Correction {
        #[arg(long)]
        target: String,
        #[arg(long)]
        field: String,
        #[arg(long)]
        corrected: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Publish a report (its blake3): a project's progress, a charity's year,
    /// a year of the welfare fund (lottery centre).
    Report {
        /// project:<id>, charity:<year> or welfare:<year>
        #[arg(long)]
        subject: String,
        /// The period it covers, e.g. 2026-Q1.
        #[arg(long)]
        period: String,
        /// The report document (hashed here).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Members (bureau): admit, update, suspend, reinstate, rotate a key.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Set a member's validator power from a height on (bureau).
    Validator {
        #[arg(long)]
        member: String,
        #[arg(long)]
        power: u64,
        #[arg(long)]
        effective_height: u64,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Put an organisation on a public list, or take it off (bureau).
    List {
        #[arg(long)]
        organisation: String,
        /// abnormal or serious
        #[arg(long)]
        list: String,
        #[arg(long)]
        reason: String,
        /// Take it off the list instead.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// The lottery centre: sales, welfare allocations, prize payouts.
    #[command(subcommand)]
    Lottery(LotteryCmd),
    /// An auditor's attestation of a checked height (signed and submitted),
    /// or a witness co-signature on its checkpoint.
    Attest {
        #[arg(long)]
        height: u64,
        /// What was checked.
        #[arg(
            long,
            default_value = "full replay and compliance checks (shanlian audit)"
        )]
        scope: String,
        #[arg(long, default_value_t = 0)]
        findings: u32,
        /// The audit report (hashed here): e.g. the JSON `shanlian audit --json-out` wrote.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Instead of submitting an attestation, co-sign the checkpoint as a
        /// witness and write it to this file.
        #[arg(long)]
        witness_out: Option<PathBuf>,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// An auditor's finding about a record.
    Finding {
        #[arg(long)]
        target: String,
        /// info, minor, major or critical
        #[arg(long)]
        severity: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Import donations, disbursements or lottery sales from a CSV file.
    Import {
        kind: import::Kind,
        file: PathBuf,
        /// Records per request.
        #[arg(long, default_value_t = 2000)]
        batch: usize,
        /// Where to write the salts drawn for donors' and recipients'
        /// identities (key,salt), for their receipts.
        #[arg(long)]
        salts_out: Option<PathBuf>,
    },
    /// Verify a receipt file offline against the genesis file.
    Verify {
        receipt: PathBuf,
        /// Your identity: checks that the donation's commitment is yours
        /// (with the receipt's salt; neither leaves this machine).
        #[arg(long)]
        identity: Option<String>,
        /// Also check consistency with the explorers' newest checkpoint.
        #[arg(long)]
        online: bool,
        /// Or with a saved checkpoint proof (JSON).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Where a donation's money went (proven), or with --reverse what an
    /// outflow drew on.
    Trace {
        /// A receipt file or a record id.
        target: String,
        #[arg(long)]
        reverse: bool,
    },
    /// Whether a document matches an evidence hash of a record.
    CheckEvidence {
        file: PathBuf,
        #[arg(long)]
        record: String,
    },
    /// Audit a chain: replay and verify everything, then the compliance checks.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Write a local chain's records, donations, flows, allocations or
    /// lottery sales as CSV or JSON Lines.
    Export {
        table: commands::export::Table,
        /// A node's store (stopped) or one `shanlian audit download` made.
        #[arg(long)]
        store: PathBuf,
        #[arg(long, value_enum, default_value = "csv")]
        format: commands::export::Format,
        /// The file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// A new random key, written owner-only (never over an existing file).
    New {
        out: PathBuf,
        /// Encrypt it with the passphrase from env:NAME|file:PATH|fd:N.
        #[arg(long)]
        encrypt_with: Option<String>,
    },
    /// The address, public key and peer id of a key file.
    Show { file: PathBuf },
    /// Import a key (PKCS#8 PEM or DER, or a 32-byte hex seed) into a new key file.
    Import {
        from: PathBuf,
        out: PathBuf,
        #[arg(long)]
        encrypt_with: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectCmd {
    Register {
        #[arg(long)]
        id: String,
        #[arg(long)]
        title: String,
        /// elderly, education, health, poverty-relief, disabled, children,
        /// disaster, environment, community, other
        #[arg(long)]
        category: String,
        #[arg(long)]
        target: String,
        /// YYYY-MM-DD (UTC)
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        /// The public-fundraising filing number (the project then awaits the bureau's approval).
        #[arg(long)]
        public_fundraising_ref: Option<String>,
        #[command(flatten)]
        sign: SignOpts,
    },
    Approve {
        #[arg(long)]
        id: String,
        #[arg(long)]
        approval_ref: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    Close {
        #[arg(long)]
        id: String,
        /// The final report (hashed here).
        #[arg(long)]
        final_report: PathBuf,
        #[command(flatten)]
        sign: SignOpts,
    },
}

#[derive(Args)]
struct DonationArgs {
    #[arg(long)]
    receipt: String,
    #[arg(long)]
    amount: String,
    /// general or project:<id>
    #[arg(long, default_value = "general")]
    fund: String,
    /// bank, digital-rmb, online or cash
    #[arg(long)]
    channel: String,
    /// The donor's identity: committed here with a fresh salt, which goes
    /// into the receipt file (never to the ledger).
    #[arg(long, conflicts_with = "donor_commitment")]
    donor_identity: Option<String>,
    /// A commitment the donor made themselves (hex).
    #[arg(long)]
    donor_commitment: Option<String>,
    #[arg(long)]
    restricted: bool,
    #[arg(long)]
    pledge: Option<String>,
    /// Where to write the receipt file (default receipt-<receipt>.json).
    #[arg(long)]
    receipt_out: Option<PathBuf>,
    #[command(flatten)]
    sign: SignOpts,
}

#[derive(Args)]
struct DisbursementArgs {
    #[arg(long, default_value = "general")]
    fund: String,
    #[arg(long)]
    amount: String,
    /// charitable-activity, management or fundraising
    #[arg(long)]
    category: String,
    /// The recipient organisation's name.
    #[arg(long, conflicts_with = "recipient_identity")]
    recipient: Option<String>,
    #[arg(long)]
    recipient_uscc: Option<String>,
    /// A person: committed with a fresh salt (printed for their records).
    #[arg(long)]
    recipient_identity: Option<String>,
    #[arg(long)]
    purpose: String,
    /// Evidence documents, kind=FILE (invoice, contract, photo, bank-slip,
    /// report, other); hashed here with blake3, never uploaded.
    #[arg(long = "evidence", num_args = 1..)]
    evidence: Vec<String>,
    #[arg(long)]
    milestone: Option<String>,
    #[command(flatten)]
    sign: SignOpts,
}

#[derive(Subcommand)]
enum MemberCmd {
    Admit {
        /// The new member's public key (hex) or key file.
        #[arg(long)]
        public_key: String,
        /// bureau, charity, lottery-centre or auditor
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        uscc: String,
        /// Its node's public key (hex) or key file.
        #[arg(long)]
        node: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    Update {
        #[arg(long)]
        member: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        uscc: Option<String>,
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        sign: SignOpts,
    },
    Suspend {
        #[arg(long)]
        member: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    Reinstate {
        #[arg(long)]
        member: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Replace a member's key: the member's old key consents (--old-key),
    /// the bureau signs (--key).
    RotateKey {
        #[arg(long)]
        member: String,
        #[arg(long)]
        old_key: PathBuf,
        /// The new public key (hex) or key file.
        #[arg(long)]
        new_key: String,
        #[command(flatten)]
        sign: SignOpts,
    },
}

#[derive(Subcommand)]
enum LotteryCmd {
    Sales {
        #[arg(long)]
        game: String,
        #[arg(long)]
        period: String,
        #[arg(long)]
        region: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    Allocate {
        #[arg(long)]
        amount: String,
        /// elderly, disabled, orphans, poverty-relief or other
        #[arg(long)]
        purpose: String,
        /// A project that receives it…
        #[arg(long, conflicts_with = "programme")]
        project: Option<String>,
        /// …or a named programme outside the ledger's charities.
        #[arg(long)]
        programme: Option<String>,
        #[command(flatten)]
        sign: SignOpts,
    },
    Payout {
        #[arg(long)]
        game: String,
        #[arg(long)]
        period: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Build a draw's entry set from a CSV (column `entry`): writes
    /// entries.json (public) and proofs.csv (private: each entrant's salt,
    /// index and inclusion path).
    DrawEntries {
        csv: PathBuf,
        /// The folder to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Open a verifiable draw (lottery centre): commits its seed, drawn here
    /// and kept in --seed-out.
    OpenDraw {
        /// The draw id (e.g. FC-REWARD-2026-11).
        draw: String,
        #[arg(long)]
        title: String,
        /// The entry set (entries.json from `draw-entries`).
        #[arg(long)]
        entries: PathBuf,
        #[arg(long)]
        winners: u32,
        /// reward (彩民回馈抽奖) or game.
        #[arg(long, default_value = "reward")]
        kind: String,
        /// Seeds are committed for this many blocks from now.
        #[arg(long, default_value_t = 100)]
        closes_in: u64,
        /// Reveals are taken for this many blocks after the beacon block.
        #[arg(long, default_value_t = 600)]
        reveal_window: u64,
        /// A member (address) besides auditors invited to commit a seed.
        #[arg(long)]
        invite: Vec<String>,
        /// Where to keep the centre's seed (a new owner-only file).
        #[arg(long)]
        seed_out: PathBuf,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Commit a seed to an open draw (an auditor or an invited member).
    CommitSeed {
        draw: String,
        /// Where to keep the seed (a new owner-only file).
        #[arg(long)]
        seed_out: PathBuf,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Reveal a committed seed, once the beacon block is decided (waits for
    /// it with --wait).
    Reveal {
        draw: String,
        #[arg(long)]
        seed: PathBuf,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Settle a draw: the winners computed here from the certified chain.
    Settle {
        draw: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Recompute a draw from what the chain certifies (and check a disclosed
    /// entry set against its root).
    VerifyDraw {
        draw: String,
        /// The disclosed entry set (entries.json).
        #[arg(long)]
        entries: Option<PathBuf>,
    },
    /// An entrant's check: is my entry in the draw, and did it win?
    CheckEntry {
        draw: String,
        /// The entry (ticket serial or identity) as given.
        #[arg(long)]
        entry: String,
        /// The salt handed to you with your entry, hex.
        #[arg(long)]
        salt: String,
        /// Your entry's index.
        #[arg(long)]
        index: u64,
        /// Your entry's inclusion path: hex hashes separated by `;`.
        #[arg(long, default_value = "")]
        path: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Replay and verify a local chain, then run the compliance checks.
    Run {
        /// A node's store (stopped) or one `shanlian audit download` made.
        #[arg(long)]
        store: PathBuf,
        /// Verify every signature on its own, no batches: slower, the same
        /// verdicts (SPEC §4). `--strict` is the old name.
        #[arg(long, alias = "strict")]
        single: bool,
        #[arg(long)]
        json_out: Option<PathBuf>,
        #[arg(long)]
        html_out: Option<PathBuf>,
    },
    /// Download the chain from explorers into a local store, verifying
    /// every block on the way.
    Download {
        #[arg(long)]
        store: PathBuf,
    },
    /// Check that nodes agree; on a fork, print the evidence.
    Compare { urls: Vec<String> },
    /// Match a charity's donations against a bank statement CSV.
    Reconcile {
        #[arg(long)]
        bank: PathBuf,
        #[arg(long)]
        charity: String,
        /// YYYY-MM-DD
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

struct Ctx {
    profile: Profile,
    explorers: Vec<String>,
    key: Option<PathBuf>,
    passphrase: Option<String>,
    genesis: Option<PathBuf>,
}

impl Ctx {
    fn nodes(&self) -> Result<Nodes> {
        let urls = if self.explorers.is_empty() {
            self.profile.explorers.clone()
        } else {
            self.explorers.clone()
        };
        Nodes::new(urls)
    }
    fn genesis(&self) -> Result<shanlian_ledger::genesis::Genesis> {
        let p = self
            .genesis
            .clone()
            .or_else(|| self.profile.genesis.clone())
            .context("no genesis file: pass --genesis FILE or set `genesis` in the profile (verification trusts nothing else)")?;
        read_genesis(&p)
    }
    fn key(&self) -> Result<shanlian_ledger::crypto::Keypair> {
        let p = self
            .key
            .clone()
            .or_else(|| self.profile.key.clone())
            .context("no signing key: pass --key FILE or set `key` in the profile")?;
        let pass = self
            .passphrase
            .clone()
            .or_else(|| self.profile.key_passphrase.clone());
        read_key(&p, pass.as_deref())
    }
}

fn parse_id(s: &str) -> Result<RecordId> {
    RecordId::from_hex(s).map_err(|_| anyhow::anyhow!("{s:?}: a record id is 64 hex digits"))
}

fn parse_address(s: &str) -> Result<Address> {
    Address::from_hex(s).map_err(|_| anyhow::anyhow!("{s:?}: an address is 40 hex digits"))
}

fn money(s: &str) -> Result<Fen> {
    Ok(crate::money::parse(s)?)
}

fn public_key(s: &str, pass: Option<&str>) -> Result<PublicKey> {
    if let Ok(k) = PublicKey::from_hex(s) {
        return Ok(k);
    }
    Ok(read_key(Path::new(s), pass)
        .with_context(|| format!("{s:?}: neither a public key (64 hex) nor a key file"))?
        .public())
}

fn date(s: &str) -> Result<Timestamp> {
    let parts: Vec<u32> = s.split('-').filter_map(|p| p.parse().ok()).collect();
    let [y, m, d] = parts[..] else {
        bail!("{s:?}: a date is YYYY-MM-DD");
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("{s:?}: not a date");
    }
    Ok(Timestamp::from_utc(y, m, d, 0))
}

fn hash_file(p: &Path) -> Result<Hash32> {
    Ok(document_hash(
        &std::fs::read(p).with_context(|| format!("{}", p.display()))?,
    ))
}

fn parse_category(s: &str) -> Result<ProjectCategory> {
    use ProjectCategory::*;
    Ok(match s.to_ascii_lowercase().as_str() {
        "elderly" => Elderly,
        "education" => Education,
        "health" => Health,
        "poverty-relief" => PovertyRelief,
        "disabled" => Disabled,
        "children" => Children,
        "disaster" => Disaster,
        "environment" => Environment,
        "community" => Community,
        "other" => Other,
        _ => bail!("{s:?}: a category is elderly, education, health, poverty-relief, disabled, children, disaster, environment, community or other"),
    })
}

fn parse_purpose(s: &str) -> Result<WelfarePurpose> {
    use WelfarePurpose::*;
    Ok(match s.to_ascii_lowercase().as_str() {
        "elderly" | "扶老" => Elderly,
        "disabled" | "助残" => Disabled,
        "orphans" | "救孤" => Orphans,
        "poverty-relief" | "济困" => PovertyRelief,
        "other" => Other,
        _ => bail!("{s:?}: a purpose is elderly, disabled, orphans, poverty-relief or other"),
    })
}

fn parse_role(s: &str) -> Result<Role> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "bureau" => Role::Bureau,
        "charity" => Role::Charity,
        "lottery-centre" | "lottery" => Role::LotteryCentre,
        "auditor" => Role::Auditor,
        _ => bail!("{s:?}: a role is bureau, charity, lottery-centre or auditor"),
    })
}

fn parse_uscc(s: &str) -> Result<Uscc> {
    let u = Uscc(s.to_string());
    u.check()
        .map_err(|e| anyhow::anyhow!("{s:?}: not a unified social credit code: {e}"))?;
    Ok(u)
}

/// Runs the command line; the process's exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shanlian: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(r) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r.json).unwrap_or_default()
                );
            } else if !r.text.is_empty() {
                println!("{}", r.text);
            }
            if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if json {
                let code = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<crate::api::Refused>())
                    .map(|r| r.code.clone())
                    .unwrap_or_else(|| "error".into());
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "code": code, "error": format!("{e:#}")})
                );
            } else {
                eprintln!("shanlian: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<Report> {
    let cx = Ctx {
        profile: Profile::load(cli.config.as_deref())?,
        explorers: cli.explorers,
        key: cli.key,
        passphrase: cli.passphrase,
        genesis: cli.genesis,
    };
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !cli.json;
    // Signs and submits one payload.
    async fn send(
        cx: &Ctx,
        opts: &SignOpts,
        payload: Payload,
        receipt: Option<submit::DonationReceipt>,
    ) -> Result<Report> {
        let key = cx.key()?;
        let genesis = cx.genesis()?;
        let nodes = cx.nodes()?;
        let s = submit::Submit {
            nodes: &nodes,
            key: &key,
            genesis: &genesis,
            wait: opts.wait,
            timeout: Duration::from_secs(opts.timeout),
            expires_in: Duration::from_secs(opts.expires_in),
        };
        submit::one(&s, payload, receipt).await
    }
    let me = || -> Result<Address> { Ok(Address::of_key(&cx.key()?.public())) };
    match cli.command {
        Command::Key(k) => match k {
            KeyCmd::New { out, encrypt_with } => commands::keys::new(&out, encrypt_with.as_deref()),
            KeyCmd::Show { file } => commands::keys::show(&file, cx.passphrase.as_deref()),
            KeyCmd::Import {
                from,
                out,
                encrypt_with,
            } => commands::keys::import(&from, &out, encrypt_with.as_deref()),
        },
        Command::Status { id } => {
            let nodes = cx.nodes()?;
            match id {
                Some(id) => {
                    let id = parse_id(&id)?;
                    let v = nodes
                        .get(&format!("/api/v1/records/{}/status", id.to_hex()))
                        .await?;
                    let text = format!(
                        "record {id}: {}{}",
                        v["status"].as_str().unwrap_or("?"),
                        v["height"]
                            .as_u64()
                            .map(|h| format!(" in block {h}"))
                            .unwrap_or_default()
                    );
                    Ok(Report::ok(v, text))
                }
                None => {
                    let v = nodes.get("/api/v1/status").await?;
                    let text = format!(
                        "chain {} (genesis {}) at block {}, {} records; {} validators",
                        v["chain_id"].as_str().unwrap_or(""),
                        v["genesis_hash"].as_str().unwrap_or(""),
                        v["height"],
                        v["log_size"],
                        v["validators"].as_array().map_or(0, |a| a.len())
                    );
                    Ok(Report::ok(v, text))
                }
            }
        }
        Command::Project(p) => match p {
            ProjectCmd::Register {
                id,
                title,
                category,
                target,
                start,
                end,
                public_fundraising_ref,
                sign,
            } => {
                let payload = Payload::RegisterProject(RegisterProject {
                    project: ProjectId(id),
                    title,
                    category: parse_category(&category)?,
                    target: money(&target)?,
                    start: date(&start)?,
                    end: date(&end)?,
                    public_fundraising_ref,
                });
                send(&cx, &sign, payload, None).await
            }
            ProjectCmd::Approve {
                id,
                approval_ref,
                sign,
            } => {
                send(
                    &cx,
                    &sign,
                    Payload::ApproveProject(ApproveProject {
                        project: ProjectId(id),
                        approval_ref,
                    }),
                    None,
                )
                .await
            }
            ProjectCmd::Close {
                id,
                final_report,
                sign,
            } => {
                let payload = Payload::CloseProject(CloseProject {
                    project: ProjectId(id),
                    final_report: hash_file(&final_report)?,
                });
                send(&cx, &sign, payload, None).await
            }
        },
        Command::Donation(d) => {
            let me = me()?;
            let fund = import::parse_fund(&d.fund, me).map_err(|e| anyhow::anyhow!(e))?;
            let channel = import::parse_channel(&d.channel).map_err(|e| anyhow::anyhow!(e))?;
            let (donor, salt) = match (&d.donor_identity, &d.donor_commitment) {
                (Some(id), _) => {
                    use rand_core::RngCore;
                    let mut s = [0u8; 32];
                    rand_core::OsRng.fill_bytes(&mut s);
                    (commitment(id, &s), Some(s))
                }
                (None, Some(c)) => {
                    let mut h = [0u8; 32];
                    hex::decode_to_slice(c, &mut h).context("--donor-commitment: 64 hex digits")?;
                    (Commitment(h), None)
                }
                (None, None) => bail!("give --donor-identity (committed here with a fresh salt) or --donor-commitment"),
            };
            let payload = Payload::RecordDonation(RecordDonation {
                receipt: ReceiptNo(d.receipt.clone()),
                donor,
                amount: money(&d.amount)?,
                channel,
                fund,
                restricted: d.restricted,
                pledge: d.pledge,
            });
            let receipt = submit::DonationReceipt {
                out: d.receipt_out,
                salt,
            };
            send(&cx, &d.sign, payload, Some(receipt)).await
        }
        Command::Disbursement(d) => {
            let me = me()?;
            let fund = import::parse_fund(&d.fund, me).map_err(|e| anyhow::anyhow!(e))?;
            let mut evidence = Vec::new();
            for e in &d.evidence {
                evidence.push(
                    import::parse_evidence(e, Path::new(".")).map_err(|e| anyhow::anyhow!(e))?,
                );
            }
            let mut salt_note = None;
            let recipient = match (&d.recipient, &d.recipient_identity) {
                (Some(name), _) => Recipient::Organisation {
                    name: name.clone(),
                    uscc: d.recipient_uscc.as_deref().map(parse_uscc).transpose()?,
                },
                (None, Some(id)) => {
                    use rand_core::RngCore;
                    let mut s = [0u8; 32];
                    rand_core::OsRng.fill_bytes(&mut s);
                    salt_note = Some(hex::encode(s));
                    Recipient::Person(commitment(id, &s))
                }
                (None, None) => bail!(
                    "give --recipient NAME (an organisation) or --recipient-identity (a person)"
                ),
            };
            let payload = Payload::RecordDisbursement(RecordDisbursement {
                fund,
                amount: money(&d.amount)?,
                category: import::parse_category(&d.category).map_err(|e| anyhow::anyhow!(e))?,
                recipient,
                purpose: d.purpose,
                evidence,
                milestone: d.milestone,
            });
            let mut r = send(&cx, &d.sign, payload, None).await?;
            if let Some(s) = salt_note {
                r.text += &format!(
                    "\n  the recipient's salt (give it to them; it is not on the ledger): {s}"
                );
                r.json["recipient_salt"] = serde_json::json!(s);
            }
            Ok(r)
        }
        Command::Refund {
            receipt,
            amount,
            reason,
            sign,
        } => {
            send(
                &cx,
                &sign,
                Payload::RecordRefund(RecordRefund {
                    receipt: ReceiptNo(receipt),
                    amount: money(&amount)?,
                    reason,
                }),
                None,
            )
            .await
        }
        Command::Grant {
            from,
            to,
            amount,
            purpose,
            sign,
        } => {
            let from = import::parse_fund(&from, me()?).map_err(|e| anyhow::anyhow!(e))?;
            send(
                &cx,
                &sign,
                Payload::TransferGrant(TransferGrant {
                    from,
                    to: ProjectId(to),
                    amount: money(&amount)?,
                    purpose,
                }),
                None,
            )
            .await
        }
        Command::Correction {
            target,
            field,
            corrected,
            reason,
            sign,
        } => {
            send(
                &cx,
                &sign,
                Payload::Correction(Correction {
                    target: parse_id(&target)?,
                    field,
                    corrected,
                    reason,
                }),
                None,
            )
            .await
        }
        Command::Report {
            subject,
            period,
            file,
            sign,
        } => {
            let subject = match subject.split_once(':') {
                Some(("project", id)) => ReportSubject::Project(ProjectId(id.into())),
                Some(("charity", y)) => ReportSubject::Charity {
                    year: y.parse().context("charity:<year>")?,
                },
                Some(("welfare", y)) => ReportSubject::WelfareFund {
                    year: y.parse().context("welfare:<year>")?,
                },
                _ => bail!("--subject is project:<id>, charity:<year> or welfare:<year>"),
            };
            send(
                &cx,
                &sign,
                Payload::PublishReport(PublishReport {
                    subject,
                    period,
                    report: hash_file(&file)?,
                }),
                None,
            )
            .await
        }
        Command::Member(m) => match m {
            MemberCmd::Admit {
                public_key: pk,
                role,
                name,
                uscc,
                node,
                sign,
            } => {
                let payload = Payload::AdmitMember(AdmitMember {
                    public_key: public_key(&pk, cx.passphrase.as_deref())?,
                    role: parse_role(&role)?,
                    name,
                    uscc: parse_uscc(&uscc)?,
                    node: NodeKey(public_key(&node, None)?.0),
                });
                send(&cx, &sign, payload, None).await
            }
            MemberCmd::Update {
                member,
                name,
                uscc,
                node,
                sign,
            } => {
                let payload = Payload::UpdateMember(UpdateMember {
                    member: parse_address(&member)?,
                    name,
                    uscc: uscc.as_deref().map(parse_uscc).transpose()?,
                    node: node
                        .as_deref()
                        .map(|n| public_key(n, None).map(|k| NodeKey(k.0)))
                        .transpose()?,
                });
                send(&cx, &sign, payload, None).await
            }
            MemberCmd::Suspend {
                member,
                reason,
                sign,
            } => {
                send(
                    &cx,
                    &sign,
                    Payload::SuspendMember(SuspendMember {
                        member: parse_address(&member)?,
                        reason,
                    }),
                    None,
                )
                .await
            }
            MemberCmd::Reinstate { member, sign } => {
                send(
                    &cx,
                    &sign,
                    Payload::ReinstateMember(ReinstateMember {
                        member: parse_address(&member)?,
                    }),
                    None,
                )
                .await
            }
            MemberCmd::RotateKey {
                member,
                old_key,
                new_key,
                sign,
            } => {
                let genesis = cx.genesis()?;
                let member = parse_address(&member)?;
                let old = read_key(&old_key, cx.passphrase.as_deref())?;
                let new = public_key(&new_key, None)?;
                let consent = old.sign(
                    Domain::RotateKey,
                    &genesis.hash(),
                    &RotateKey::consent_bytes(&member, &new),
                );
                let payload = Payload::RotateKey(RotateKey {
                    member,
                    new_key: new,
                    old_key_signature: consent,
                });
                send(&cx, &sign, payload, None).await
            }
        },
        Command::Validator {
            member,
            power,
            effective_height,
            sign,
        } => {
            send(
                &cx,
                &sign,
                Payload::SetValidator(SetValidator {
                    member: parse_address(&member)?,
                    power,
                    effective_height,
                }),
                None,
            )
            .await
        }
        Command::List {
            organisation,
            list,
            reason,
            remove,
            sign,
        } => {
            let organisation = parse_address(&organisation)?;
            let list = match list.as_str() {
                "abnormal" | "abnormal-activity" => ListKind::AbnormalActivity,
                "serious" | "serious-violation" => ListKind::SeriousViolation,
                _ => bail!("--list is abnormal or serious"),
            };
            let payload = if remove {
                Payload::DelistOrganisation(DelistOrganisation {
                    organisation,
                    list,
                    reason,
                })
            } else {
                Payload::ListOrganisation(ListOrganisation {
                    organisation,
                    list,
                    reason,
                })
            };
            send(&cx, &sign, payload, None).await
        }
        Command::Lottery(l) => match l {
            LotteryCmd::Sales {
                game,
                period,
                region,
                amount,
                sign,
            } => {
                send(
                    &cx,
                    &sign,
                    Payload::RecordLotterySales(RecordLotterySales {
                        game: GameId(game),
                        period,
                        region,
                        sales: money(&amount)?,
                    }),
                    None,
                )
                .await
            }
            LotteryCmd::Allocate {
                amount,
                purpose,
                project,
                programme,
                sign,
            } => {
                let recipient = match (project, programme) {
                    (Some(p), _) => WelfareRecipient::Project(ProjectId(p)),
                    (None, Some(n)) => WelfareRecipient::Programme(n),
                    (None, None) => bail!("give --project ID or --programme NAME"),
                };
                send(
                    &cx,
                    &sign,
                    Payload::AllocateWelfareFund(AllocateWelfareFund {
                        amount: money(&amount)?,
                        purpose: parse_purpose(&purpose)?,
                        recipient,
                    }),
                    None,
                )
                .await
            }
            LotteryCmd::DrawEntries { csv, out } => commands::draw::build_entries(&csv, &out),
            LotteryCmd::OpenDraw {
                draw,
                title,
                entries,
                winners,
                kind,
                closes_in,
                reveal_window,
                invite,
                seed_out,
                sign,
            } => {
                let set = commands::draw::EntrySet::read(&entries)?;
                let draw_kind = match kind.as_str() {
                    "reward" => DrawKind::Reward,
                    "game" => DrawKind::Game,
                    other => bail!("--kind {other}: reward or game"),
                };
                let invited = invite
                    .iter()
                    .map(|a| {
                        Address::from_hex(a).map_err(|_| {
                            anyhow::anyhow!("--invite {a}: a member address is 40 hex digits")
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let nodes = cx.nodes()?;
                let tip = nodes.get("/api/v1/status").await?["height"]
                    .as_u64()
                    .unwrap_or(0);
                let closes = tip + closes_in.max(1);
                let seed = commands::draw::new_seed(&seed_out)?;
                let mut r = send(
                    &cx,
                    &sign,
                    Payload::OpenDraw(OpenDraw {
                        seed_commitment: shanlian_ledger::draw::seed_commitment(&draw, &seed),
                        draw: DrawId(draw),
                        draw_kind,
                        title,
                        entries_root: set.root()?,
                        entries: set.entries,
                        winners,
                        closes,
                        reveal_by: closes + 1 + reveal_window.max(1),
                        invited,
                    }),
                    None,
                )
                .await?;
                r.json["closes"] = serde_json::json!(closes);
                r.text += &format!(
                    "\n  seeds are committed until block {closes}; reveal after block {} is decided (seed kept in {})",
                    closes + 1,
                    seed_out.display()
                );
                Ok(r)
            }
            LotteryCmd::CommitSeed {
                draw,
                seed_out,
                sign,
            } => {
                let seed = commands::draw::new_seed(&seed_out)?;
                send(
                    &cx,
                    &sign,
                    Payload::CommitDrawSeed(CommitDrawSeed {
                        seed_commitment: shanlian_ledger::draw::seed_commitment(&draw, &seed),
                        draw: DrawId(draw),
                    }),
                    None,
                )
                .await
            }
            LotteryCmd::Reveal { draw, seed, sign } => {
                let seed = commands::draw::read_seed(&seed)?;
                let nodes = cx.nodes()?;
                let deadline = std::time::Instant::now() + Duration::from_secs(sign.timeout);
                loop {
                    let v = commands::draw::status(&nodes, &draw).await?;
                    if !v["beacon_block"].is_null() {
                        break;
                    }
                    if !sign.wait || std::time::Instant::now() > deadline {
                        bail!(
                            "draw {draw}: the beacon block {} is not decided yet; reveal after it (or pass --wait)",
                            v["closes"].as_u64().unwrap_or(0) + 1
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                send(
                    &cx,
                    &sign,
                    Payload::RevealDrawSeed(RevealDrawSeed {
                        draw: DrawId(draw),
                        seed,
                    }),
                    None,
                )
                .await
            }
            LotteryCmd::Settle { draw, sign } => {
                let genesis = cx.genesis()?;
                let nodes = cx.nodes()?;
                let d = commands::draw::fetch_certified(&nodes, &genesis, &draw).await?;
                let Some(b) = d.block_hash else {
                    bail!(
                        "draw {draw}: the beacon block {} is not decided yet",
                        d.open.closes + 1
                    );
                };
                let (_, winners) = commands::draw::outcome(&d, b);
                send(
                    &cx,
                    &sign,
                    Payload::SettleDraw(SettleDraw {
                        draw: DrawId(draw),
                        winners,
                    }),
                    None,
                )
                .await
            }
            LotteryCmd::VerifyDraw { draw, entries } => {
                let genesis = cx.genesis()?;
                let nodes = cx.nodes()?;
                commands::draw::verify_draw(&nodes, &genesis, &draw, entries.as_deref()).await
            }
            LotteryCmd::CheckEntry {
                draw,
                entry,
                salt,
                index,
                path,
            } => {
                let genesis = cx.genesis()?;
                let nodes = cx.nodes()?;
                commands::draw::check_entry(&nodes, &genesis, &draw, &entry, &salt, index, &path)
                    .await
            }
            LotteryCmd::Payout {
                game,
                period,
                amount,
                sign,
            } => {
                send(
                    &cx,
                    &sign,
                    Payload::RecordPrizePayout(RecordPrizePayout {
                        game: GameId(game),
                        period,
                        amount: money(&amount)?,
                    }),
                    None,
                )
                .await
            }
        },
        Command::Attest {
            height,
            scope,
            findings,
            report,
            witness_out,
            sign,
        } => {
            let genesis = cx.genesis()?;
            let nodes = cx.nodes()?;
            if let Some(out) = witness_out {
                return commands::audit::witness(&nodes, &genesis, &cx.key()?, height, &out).await;
            }
            let c = commands::audit::verified_checkpoint(&nodes, &genesis, height).await?;
            let payload = Payload::AuditAttestation(AuditAttestation {
                height,
                log_size: c.header.log_size,
                log_root: c.header.log_root,
                scope,
                findings,
                report: report
                    .as_deref()
                    .map(hash_file)
                    .transpose()?
                    .unwrap_or([0; 32]),
            });
            send(&cx, &sign, payload, None).await
        }
        Command::Finding {
            target,
            severity,
            text,
            sign,
        } => {
            let severity = match severity.to_ascii_lowercase().as_str() {
                "info" => Severity::Info,
                "minor" => Severity::Minor,
                "major" => Severity::Major,
                "critical" => Severity::Critical,
                _ => bail!("--severity is info, minor, major or critical"),
            };
            send(
                &cx,
                &sign,
                Payload::Finding(Finding {
                    target: parse_id(&target)?,
                    severity,
                    text,
                }),
                None,
            )
            .await
        }
        Command::Import {
            kind,
            file,
            batch,
            salts_out,
        } => {
            let key = cx.key()?;
            let genesis = cx.genesis()?;
            let nodes = cx.nodes()?;
            import::run(
                kind,
                &file,
                &nodes,
                &key,
                &genesis.hash(),
                batch,
                salts_out.as_deref(),
                tty,
            )
            .await
        }
        Command::Verify {
            receipt,
            identity,
            online,
            checkpoint,
        } => {
            let genesis = cx.genesis()?;
            let nodes = if online { Some(cx.nodes()?) } else { None };
            commands::donor::verify(
                &receipt,
                &genesis,
                identity.as_deref(),
                nodes.as_ref(),
                checkpoint.as_deref(),
            )
            .await
        }
        Command::Trace { target, reverse } => {
            let id = commands::donor::record_of(&target)?;
            commands::donor::trace(&id, reverse, &cx.nodes()?, &cx.genesis()?).await
        }
        Command::CheckEvidence { file, record } => {
            commands::donor::check_evidence(
                &file,
                &parse_id(&record)?,
                &cx.nodes()?,
                &cx.genesis()?,
            )
            .await
        }
        Command::Audit(a) => match a {
            AuditCmd::Run {
                store,
                single,
                json_out,
                html_out,
            } => {
                let genesis = cx.genesis().ok();
                tokio::task::block_in_place(|| {
                    commands::audit::audit(
                        &store,
                        genesis.as_ref(),
                        single,
                        json_out.as_deref(),
                        html_out.as_deref(),
                        tty,
                    )
                })
            }
            AuditCmd::Download { store } => {
                commands::audit::download(&store, &cx.nodes()?, &cx.genesis()?, tty).await
            }
            AuditCmd::Compare { urls } => {
                let urls = if urls.is_empty() {
                    cx.nodes()?.urls
                } else {
                    urls
                };
                commands::audit::compare(&urls, &cx.genesis()?).await
            }
            AuditCmd::Reconcile {
                bank,
                charity,
                from,
                to,
            } => {
                commands::audit::reconcile(
                    &bank,
                    parse_address(&charity)?,
                    &from,
                    &to,
                    &cx.nodes()?,
                )
                .await
            }
        },
        Command::Export {
            table,
            store,
            format,
            out,
        } => {
            let s = commands::audit::open_store(&store)?;
            commands::export::run(&s, table, format, out.as_deref())
        }
    }
}
