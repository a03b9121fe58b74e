//! Keys, domain-separated signing, verification and commitments.
//!
//! The validity rule for every signature is ZIP-215 (docs/SPEC.md §4): the
//! cofactored Ed25519 equation `[8](R − (s·B − k·A)) = 0`, with `s < ℓ` and
//! `A`, `R` decoded leniently, as ed25519-zebra implements it. Under this
//! rule batch verification ([`verify_batch`]) and single verification
//! ([`Verifier::verify_message`]) give the same verdict for every
//! signature, so consensus may batch. Member keys must be canonical,
//! torsion-free encodings of points of large order ([`check_member_key`]).
//!
//! Signed messages are `context || 0x00 || genesis_hash || body`, with one
//! fixed ASCII context per structure kind ([`Domain`]).

use crate::types::{Commitment, Hash32, PublicKey, Signature};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey};

/// The structure kinds that are signed, each with its own context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A record body.
    Record,
    /// A consensus vote (prevote or precommit).
    Vote,
    /// A consensus proposal.
    Proposal,
    /// A key-rotation consent signed by the old key.
    RotateKey,
    /// A witness co-signature on a checkpoint.
    Witness,
}

impl Domain {
    pub fn context(self) -> &'static [u8] {
        match self {
            Domain::Record => b"shanlian/record/v1",
            Domain::Vote => b"shanlian/vote/v1",
            Domain::Proposal => b"shanlian/proposal/v1",
            Domain::RotateKey => b"shanlian/rotate-key/v1",
            Domain::Witness => b"shanlian/witness/v1",
        }
    }
}

/// Builds the exact bytes that are signed: `context || 0x00 || genesis || body`.
pub fn signing_message(domain: Domain, genesis: &Hash32, body: &[u8]) -> Vec<u8> {
    let ctx = domain.context();
    let mut m = Vec::with_capacity(ctx.len() + 33 + body.len());
    m.extend_from_slice(ctx);
    m.push(0);
    m.extend_from_slice(genesis);
    m.extend_from_slice(body);
    m
}

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("public key is not a valid Edwards point")]
    InvalidKey,
    #[error("public key is not the canonical encoding of its point")]
    NonCanonicalKey,
    #[error("public key has a small-order component (weak key)")]
    WeakKey,
    #[error("signature does not verify (Ed25519, ZIP-215 rule)")]
    BadSignature,
    #[error("key file: {0}")]
    KeyFile(String),
}

/// A parsed public key, ready to verify (parsing decompresses the point,
/// ~5 µs; keep these).
#[derive(Clone, Debug)]
pub struct Verifier {
    key: ed25519_zebra::VerificationKey,
}

impl Verifier {
    /// Decodes a public key as ZIP-215 does: any 32 bytes that decompress to
    /// a curve point, canonical or not, of any order. Whether a key may
    /// belong to a member is [`check_member_key`]'s question.
    pub fn parse(key: &PublicKey) -> Result<Verifier, CryptoError> {
        ed25519_zebra::VerificationKey::try_from(key.0)
            .map(|key| Verifier { key })
            .map_err(|_| CryptoError::InvalidKey)
    }
    /// The key's 32 bytes as given (ZIP-215 hashes them as given).
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.into())
    }
    /// Verification of `sig` over `context || 0 || genesis || body`.
    pub fn verify(
        &self,
        domain: Domain,
        genesis: &Hash32,
        body: &[u8],
        sig: &Signature,
    ) -> Result<(), CryptoError> {
        self.verify_message(&signing_message(domain, genesis, body), sig)
    }
    /// Verification (ZIP-215) over an already built message.
    pub fn verify_message(&self, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        self.key
            .verify(&ed25519_zebra::Signature::from_bytes(&sig.0), msg)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// The admission rule for member and validator keys: the canonical
/// encoding of a point that is not of small order and has no small-order
/// component (ℓ·A = identity). The signature rule itself accepts any
/// decodable key; this rule keeps every member key unique as bytes and
/// free of torsion, so a member's signatures mean the same under every
/// Ed25519 variant that accepts them.
pub fn check_member_key(key: &PublicKey) -> Result<Verifier, CryptoError> {
    let v = Verifier::parse(key)?;
    let point = curve25519_dalek::edwards::CompressedEdwardsY(key.0)
        .decompress()
        .ok_or(CryptoError::InvalidKey)?;
    if point.compress().0 != key.0 {
        return Err(CryptoError::NonCanonicalKey);
    }
    if point.is_small_order() || !point.is_torsion_free() {
        return Err(CryptoError::WeakKey);
    }
    Ok(v)
}

/// One signature to check: the key, the signed message, the signature.
pub type SignedMessage<'a> = (&'a Verifier, &'a [u8], &'a Signature);

/// Below this many signatures a batch is not worth its setup: verify them
/// one by one (also the leaves of the search for bad signatures).
const SMALL_BATCH: usize = 4;

/// Verifies many signatures; returns, per item, the verdict of
/// [`Verifier::verify_message`]. The items are checked as one ZIP-215
/// batch (random 128-bit weights from the OS, cofactored equation, one
/// term per distinct key); a batch that fails is split in halves until
/// every invalid signature is isolated and checked singly, so `k` bad
/// signatures among `n` cost about `k·log2(n)` extra small batches.
///
/// Under ZIP-215 a batch passes only if every signature in it passes
/// single verification, except with probability below 2⁻¹²⁵ over the
/// weights, which no signer can influence.
pub fn verify_batch(items: &[SignedMessage]) -> Vec<bool> {
    let prepared: Vec<ed25519_zebra::batch::Item> = items
        .iter()
        .map(|(v, msg, sig)| {
            ed25519_zebra::batch::Item::from((
                ed25519_zebra::VerificationKeyBytes::from(v.key),
                ed25519_zebra::Signature::from_bytes(&sig.0),
                *msg,
            ))
        })
        .collect();
    let mut out = vec![false; items.len()];
    verify_items(&prepared, &mut out);
    out
}

fn verify_items(items: &[ed25519_zebra::batch::Item], out: &mut [bool]) {
    if items.len() <= SMALL_BATCH {
        for (item, ok) in items.iter().zip(out.iter_mut()) {
            *ok = item.clone().verify_single().is_ok();
        }
        return;
    }
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for item in items {
        batch.queue(item.clone());
    }
    if batch.verify(rand_core::OsRng).is_ok() {
        out.fill(true);
        return;
    }
    let mid = items.len() / 2;
    let (left, right) = out.split_at_mut(mid);
    verify_items(&items[..mid], left);
    verify_items(&items[mid..], right);
}

fn getrandom_fill(buf: &mut [u8]) {
    use rand_core::RngCore;
    rand_core::OsRng.fill_bytes(buf);
}

/// A member's private key.
pub struct Keypair {
    sk: SigningKey,
}

/// Shows the public key only: a private key never reaches a log.
impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

impl Keypair {
    pub fn generate() -> Keypair {
        let mut seed = [0u8; 32];
        getrandom_fill(&mut seed);
        Keypair {
            sk: SigningKey::from_bytes(&seed),
        }
    }
    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair {
            sk: SigningKey::from_bytes(&seed),
        }
    }
    /// The deterministic, INSECURE development key for `name`: seed =
    /// blake3("shanlian insecure dev key" || name). For the demo network
    /// and tests only; never for a real member.
    #[cfg(feature = "dev")]
    pub fn insecure_dev(name: &str) -> Keypair {
        let mut h = blake3::Hasher::new();
        h.update(b"shanlian insecure dev key");
        h.update(name.as_bytes());
        Keypair::from_seed(*h.finalize().as_bytes())
    }
    pub fn public(&self) -> PublicKey {
        PublicKey(self.sk.verifying_key().to_bytes())
    }
    pub fn seed(&self) -> [u8; 32] {
        self.sk.to_bytes()
    }
    pub fn sign(&self, domain: Domain, genesis: &Hash32, body: &[u8]) -> Signature {
        Signature(
            self.sk
                .sign(&signing_message(domain, genesis, body))
                .to_bytes(),
        )
    }
    /// PKCS#8 v1 PEM (no public key inside), as `openssl genpkey -algorithm
    /// ed25519` writes it; OpenSSL 3.0 refuses the v2 form.
    pub fn to_pkcs8_pem(&self) -> Result<String, CryptoError> {
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.sk.to_bytes(),
            public_key: None,
        };
        v1.to_pkcs8_pem(Default::default())
            .map(|s| s.to_string())
            .map_err(|e| CryptoError::KeyFile(e.to_string()))
    }
    /// PKCS#8 v1 DER (no public key inside).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, CryptoError> {
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.sk.to_bytes(),
            public_key: None,
        };
        v1.to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| CryptoError::KeyFile(e.to_string()))
    }
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Keypair, CryptoError> {
        SigningKey::from_pkcs8_der(der)
            .map(|sk| Keypair { sk })
            .map_err(|e| CryptoError::KeyFile(e.to_string()))
    }
    pub fn from_pkcs8_pem(pem: &str) -> Result<Keypair, CryptoError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(|sk| Keypair { sk })
            .map_err(|e| CryptoError::KeyFile(e.to_string()))
    }
}

/// The hash of a document named by its hash on the ledger (evidence,
/// in-kind valuations, final and audit reports): `blake3(document bytes)`
/// (SPEC §2.1 `Evidence`).
pub fn document_hash(document: &[u8]) -> Hash32 {
    *blake3::hash(document).as_bytes()
}

/// A salted commitment to an identity: `blake3("shanlian/commitment/v1" ||
/// 0x00 || u64 LE length of identity || identity || salt)`.
pub fn commitment(identity: &str, salt: &[u8; 32]) -> Commitment {
    let mut h = blake3::Hasher::new();
    h.update(b"shanlian/commitment/v1\0");
    h.update(&(identity.len() as u64).to_le_bytes());
    h.update(identity.as_bytes());
    h.update(salt);
    Commitment(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_domains() {
        let k = Keypair::insecure_dev("alice");
        let g = [1u8; 32];
        let sig = k.sign(Domain::Record, &g, b"body");
        let v = check_member_key(&k.public()).unwrap();
        assert!(v.verify(Domain::Record, &g, b"body", &sig).is_ok());
        assert_eq!(
            v.verify(Domain::Vote, &g, b"body", &sig),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            v.verify(Domain::Record, &[2; 32], b"body", &sig),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            v.verify(Domain::Record, &g, b"bodY", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) and a torsioned key.
        let mut ident = [0u8; 32];
        ident[0] = 1;
        assert!(check_member_key(&PublicKey(ident)).is_err());
        let k = Keypair::insecure_dev("bob");
        let p = curve25519_dalek::edwards::CompressedEdwardsY(k.public().0)
            .decompress()
            .unwrap();
        let t = curve25519_dalek::constants::EIGHT_TORSION[1];
        let mixed = PublicKey((p + t).compress().to_bytes());
        assert_eq!(check_member_key(&mixed).unwrap_err(), CryptoError::WeakKey);
    }

    #[test]
    fn batch_finds_every_bad_signature() {
        let g = [0u8; 32];
        let keys: Vec<Keypair> = (0..300)
            .map(|i| Keypair::insecure_dev(&(i % 7).to_string()))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..300u32)
            .map(|i| signing_message(Domain::Record, &g, &i.to_le_bytes()))
            .collect();
        let mut sigs: Vec<Signature> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| Signature(k.sk.sign(m).to_bytes()))
            .collect();
        let vs: Vec<Verifier> = keys
            .iter()
            .map(|k| Verifier::parse(&k.public()).unwrap())
            .collect();
        let all = |sigs: &[Signature]| -> Vec<bool> {
            let items: Vec<_> = (0..300)
                .map(|i| (&vs[i], msgs[i].as_slice(), &sigs[i]))
                .collect();
            verify_batch(&items)
        };
        assert!(all(&sigs).iter().all(|b| *b));
        // A flipped bit in s, in R, a non-canonical s, a signature moved
        // to another message: each found, the rest still valid.
        sigs[7].0[40] ^= 1;
        sigs[290].0[3] ^= 0x80;
        sigs[150].0[63] |= 0x80;
        sigs[0] = sigs[1];
        let ok = all(&sigs);
        let bad: Vec<usize> = (0..300).filter(|i| !ok[*i]).collect();
        assert_eq!(bad, vec![0, 7, 150, 290]);
        // Batch and single verification agree item by item.
        for i in 0..300 {
            assert_eq!(ok[i], vs[i].verify_message(&msgs[i], &sigs[i]).is_ok());
        }
        // Empty and tiny inputs.
        assert!(verify_batch(&[]).is_empty());
        assert_eq!(
            verify_batch(&[(&vs[1], msgs[1].as_slice(), &sigs[1])]),
            vec![true]
        );
    }

    #[test]
    fn pem_round_trip() {
        let k = Keypair::insecure_dev("carol");
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(Keypair::from_pkcs8_pem(&pem).unwrap().public(), k.public());
        assert!(Keypair::from_pkcs8_pem("garbage").is_err());
        // OpenSSL must read it and derive the same public key. Without
        // openssl this fails: .ci/run installs it.
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(pem.as_bytes())?;
                c.wait_with_output()
            })
            .expect(
                "openssl is needed to check that OpenSSL reads our keys (apt-get install openssl)",
            );
        assert!(out.status.success(), "openssl refused our PEM");
        assert_eq!(&out.stdout[out.stdout.len() - 32..], &k.public().0);
    }

    #[test]
    fn commitments_bind_identity_and_salt() {
        let a = commitment("110101199001011234", &[1; 32]);
        assert_ne!(a, commitment("110101199001011234", &[2; 32]));
        assert_ne!(a, commitment("110101199001011235", &[1; 32]));
        assert_eq!(a, commitment("110101199001011234", &[1; 32]));
    }
}

#[cfg(test)]
mod zip215_vectors {
    use super::*;

    struct Case {
        name: String,
        why: String,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
        valid: bool,
    }

    /// The Ed25519 edge cases the JavaScript verifier also runs
    /// (`ledger/tests/data/ed25519/zip215.json`, made by
    /// `explorer/web/test/gen-ed25519-vectors.js` with verdicts set by
    /// construction).
    fn cases() -> Vec<Case> {
        let text = include_str!("../../tests/data/ed25519/zip215.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let hex32 = |k: &str| {
                    let mut out = [0u8; 32];
                    hex::decode_to_slice(c[k].as_str().unwrap(), &mut out).unwrap();
                    out
                };
                let mut sig = [0u8; 64];
                hex::decode_to_slice(c["signature"].as_str().unwrap(), &mut sig).unwrap();
                Case {
                    name: c["name"].as_str().unwrap().to_string(),
                    why: c["why"].as_str().unwrap().to_string(),
                    key: PublicKey(hex32("public_key")),
                    msg: hex::decode(c["message"].as_str().unwrap()).unwrap(),
                    sig: Signature(sig),
                    valid: c["valid"].as_bool().unwrap(),
                }
            })
            .collect()
    }

    /// Single verification through [`Verifier`] gives every case its
    /// recorded verdict.
    #[test]
    fn single_verification_agrees_with_the_shared_vectors() {
        let cases = cases();
        assert!(cases.len() >= 196 + 30, "{} cases", cases.len());
        for c in &cases {
            let got = Verifier::parse(&c.key)
                .and_then(|v| v.verify_message(&c.msg, &c.sig))
                .is_ok();
            assert_eq!(got, c.valid, "{}: {}", c.name, c.why);
        }
    }

    /// Batch verification gives the same verdicts: all cases in one batch,
    /// and each invalid case hidden among valid signatures.
    #[test]
    fn batch_verification_agrees_with_the_shared_vectors() {
        let cases = cases();
        let parsed: Vec<(&Case, Verifier)> = cases
            .iter()
            .filter_map(|c| Verifier::parse(&c.key).ok().map(|v| (c, v)))
            .collect();
        // Keys that do not decode never reach a batch (callers parse first).
        for c in &cases {
            if Verifier::parse(&c.key).is_err() {
                assert!(!c.valid, "{}", c.name);
            }
        }
        let items: Vec<_> = parsed
            .iter()
            .map(|(c, v)| (v, c.msg.as_slice(), &c.sig))
            .collect();
        let got = verify_batch(&items);
        for ((c, _), ok) in parsed.iter().zip(&got) {
            assert_eq!(*ok, c.valid, "batch of all: {}: {}", c.name, c.why);
        }
        let honest = Keypair::insecure_dev("zip215-batch");
        let hv = Verifier::parse(&honest.public()).unwrap();
        let msgs: Vec<Vec<u8>> = (0..15u8).map(|i| vec![i; 40]).collect();
        let sigs: Vec<Signature> = msgs
            .iter()
            .map(|m| Signature(honest.sk.sign(m).to_bytes()))
            .collect();
        for (c, v) in &parsed {
            let mut items: Vec<(&Verifier, &[u8], &Signature)> = msgs
                .iter()
                .zip(&sigs)
                .map(|(m, s)| (&hv, m.as_slice(), s))
                .collect();
            items.insert(9, (v, c.msg.as_slice(), &c.sig));
            let got = verify_batch(&items);
            let mut want = vec![true; 16];
            want[9] = c.valid;
            assert_eq!(got, want, "among valid ones: {}: {}", c.name, c.why);
        }
    }
}

#[cfg(test)]
mod encodings {
    use super::*;

    /// SPEC §4: public keys are decoded as dalek decodes them, which accepts
    /// the non-canonical `y + p` encodings (`y < 19`) and `x = 0` with the
    /// sign bit set. None of those points passes the member-key rule, so
    /// every member key is a canonical encoding: checked here exhaustively.
    #[test]
    fn no_non_canonical_encoding_is_a_member_key() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut accepted = Vec::new();
        for y in 0u8..19 {
            for sign in [0u8, 0x80] {
                let mut enc = p;
                enc[0] = enc[0].wrapping_add(y);
                enc[31] |= sign;
                if check_member_key(&PublicKey(enc)).is_ok() {
                    accepted.push((y, sign));
                }
            }
        }
        // x = 0 (sign bit set): y = 1 (identity) and y = p − 1 (order 2).
        let mut one = [0u8; 32];
        one[0] = 1;
        one[31] |= 0x80;
        let mut minus_one = p;
        minus_one[0] -= 1;
        minus_one[31] |= 0x80;
        for enc in [one, minus_one] {
            if check_member_key(&PublicKey(enc)).is_ok() {
                accepted.push((0, 0x80));
            }
        }
        assert!(
            accepted.is_empty(),
            "non-canonical member keys: {accepted:?}"
        );
    }
}
