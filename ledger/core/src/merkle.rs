//! Append-only Merkle log in the RFC 6962 / RFC 9162 tree shape.
//!
//! * Leaf hash `H(0x00 || data)`, interior node `H(0x01 || left || right)`; the Merkle Tree
//!   Hash (MTH, RFC 9162 §2.1.1) of the empty tree is `H("")`. The hash is a [`MerkleHasher`];
//!   the ledger uses [`Blake3Hasher`] and its leaves are 32-byte record ids.
//! * [`verify_inclusion`] and [`verify_consistency`] are the RFC 9162 §2.1.3.2 / §2.1.4.2
//!   verifiers, usable by a light client without any store.
//! * [`inclusion_proof_plan`], [`consistency_proof_plan`] and [`root_plan`] name the stored
//!   complete subtrees ([`NodeId`]) a proof is made of, without touching storage;
//!   [`inclusion_proof`], [`consistency_proof`] and [`root_at`] read them from a
//!   [`NodeReader`] in O(log n) reads.
//! * Nodes are stored in tiles like Go's `tlog`: tile `(band b, index k)` holds the hashes at
//!   level `8·b` with indices `256·k ..= 256·k + 255`. [`TileNodes`] serves any node from
//!   tiles; [`Frontier`] is the in-memory compact range of the log; [`append_batch`] appends
//!   leaves and returns the whole tiles to write.

use std::cell::RefCell;
use std::collections::hash_map::{Entry, HashMap};
use std::marker::PhantomData;

/// A 32-byte hash (leaf hash, node hash or tree root).
pub type Hash = [u8; 32];

/// The hash function of the tree, with the RFC 6962 domain separation built in.
pub trait MerkleHasher {
    /// `H(0x00 || data)`: the hash of a leaf.
    fn hash_leaf(data: &[u8]) -> Hash;
    /// `H(0x01 || left || right)`: the hash of an interior node.
    fn hash_children(left: &Hash, right: &Hash) -> Hash;
    /// `H("")`: the MTH of the empty tree.
    fn empty_root() -> Hash;
}

/// The ledger's hasher: BLAKE3 with the RFC 6962 `0x00` / `0x01` prefixes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blake3Hasher;

impl MerkleHasher for Blake3Hasher {
    fn hash_leaf(data: &[u8]) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(&[0x00]).update(data);
        *h.finalize().as_bytes()
    }
    fn hash_children(left: &Hash, right: &Hash) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(&[0x01]).update(left).update(right);
        *h.finalize().as_bytes()
    }
    fn empty_root() -> Hash {
        *blake3::hash(b"").as_bytes()
    }
}

/// Why a proof was rejected or could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("wrong proof length: expected {expected} hashes, got {got}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the consistency proof does not lead to the old root (root1)")]
    OldRootMismatch,
    #[error("old size {size1} is larger than new size {size2}")]
    SizesOutOfOrder { size1: u64, size2: u64 },
    #[error("sizes are equal but the proof has {got} hashes instead of none")]
    NonEmptyProofForEqualSizes { got: usize },
    #[error("consistency with the empty tree (size1 = 0) is not proven")]
    EmptyOldTree,
}

/// A storage failure, as a message (the ledger converts its database errors into it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Errors of proof generation and of appending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("node {0:?} is not in the store")]
    MissingNode(NodeId),
    #[error("tile {0:?} is not in the store")]
    MissingTile(TileId),
    #[error("tile {tile:?} holds {got} hashes, the frontier expects {expected}")]
    TileLengthMismatch {
        tile: TileId,
        expected: usize,
        got: usize,
    },
    #[error("a frontier of size {size} has {expected} hashes, got {got}")]
    InvalidFrontier {
        size: u64,
        expected: usize,
        got: usize,
    },
    #[error("tree size overflows u64")]
    SizeOverflow,
}

// --- Verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---------------------------------------------

/// Constant-time comparison; `err` if the hashes differ.
fn expect_eq(a: &Hash, b: &Hash, err: ProofError) -> Result<(), ProofError> {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    if std::hint::black_box(diff) == 0 {
        Ok(())
    } else {
        Err(err)
    }
}

fn wrong_len(expected: usize, got: usize) -> ProofError {
    ProofError::WrongProofLength { expected, got }
}

/// Length of `PATH(index, D[size])` (`index < size`): one hash per level below the point
/// where the paths to `index` and to the last leaf join, plus one per left sibling above it.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    (inner + index.checked_shr(inner).unwrap_or(0).count_ones()) as usize
}

/// The loop shared by RFC 9162 §2.1.3.2 step 4 and §2.1.4.2 step 6: folds `path` into `seed`
/// guided by `fn_` (node index) and `sn` (last node index). Returns `(fr, sr)`, or `None`
/// if the path does not end at the root (`sn != 0`). Inclusion only uses `sr` (its `r`).
fn chain<H: MerkleHasher>(
    mut fn_: u64,
    mut sn: u64,
    seed: Hash,
    path: &[Hash],
) -> Option<(Hash, Hash)> {
    let (mut fr, mut sr) = (seed, seed);
    for c in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = H::hash_children(c, &fr);
            sr = H::hash_children(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = H::hash_children(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((fr, sr))
}

/// RFC 9162 §2.1.3.2: the root implied by the inclusion proof (PATH) of `leaf_hash` as leaf
/// `index` of a tree of `size` leaves.
pub fn root_from_inclusion_proof<H: MerkleHasher>(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    let bad_len = wrong_len(expected, proof.len());
    if proof.len() != expected {
        return Err(bad_len);
    }
    let (_, root) = chain::<H>(index, size - 1, *leaf_hash, proof).ok_or(bad_len)?;
    Ok(root)
}

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` is leaf `index` of the tree of `size` leaves
/// whose MTH is `root` (compared in constant time).
pub fn verify_inclusion<H: MerkleHasher>(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof::<H>(leaf_hash, index, size, proof)?;
    expect_eq(&computed, root, ProofError::RootMismatch)
}

/// RFC 9162 §2.1.4.2: checks the consistency proof (`PROOF = SUBPROOF(size1, D[size2], true)`)
/// between the tree of `size1` leaves with MTH `root1` and that of `size2` leaves with MTH
/// `root2`. As in transparency-dev/merkle and its vectors, `size1 == 0` is an error (it
/// proves nothing); equal sizes need an empty proof and equal roots.
pub fn verify_consistency<H: MerkleHasher>(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_consistency_sizes(size1, size2)?;
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProofForEqualSizes { got: proof.len() });
        }
        return expect_eq(root1, root2, ProofError::RootMismatch);
    }
    // The old tree's last complete subtree is node `index` at `level`: the proof is its
    // hash (omitted when it is the whole old tree) and its inclusion path in the new tree.
    // Steps 3-4 of the RFC (shift while LSB(fn) is set) land on the same node.
    let level = size1.trailing_zeros();
    let (index, last) = ((size1 - 1) >> level, (size2 - 1) >> level);
    let expected = inclusion_proof_len(index, last + 1) + usize::from(index != 0);
    let bad_len = wrong_len(expected, proof.len());
    if proof.len() != expected {
        return Err(bad_len);
    }
    // Step 2: when size1 is a power of two, the path implicitly starts with root1.
    let (seed, rest) = match proof.split_first() {
        Some((first, rest)) if index != 0 => (*first, rest),
        _ => (*root1, proof),
    };
    let (fr, sr) = chain::<H>(index, last, seed, rest).ok_or(bad_len)?;
    expect_eq(&fr, root1, ProofError::OldRootMismatch)?;
    expect_eq(&sr, root2, ProofError::RootMismatch)
}

fn check_consistency_sizes(size1: u64, size2: u64) -> Result<(), ProofError> {
    if size1 > size2 {
        Err(ProofError::SizesOutOfOrder { size1, size2 })
    } else if size1 == 0 {
        Err(ProofError::EmptyOldTree)
    } else {
        Ok(())
    }
}

// --- Typed proofs of the ledger's log (BLAKE3) ---------------------------------------------

/// An RFC 9162 inclusion proof in the ledger's log: the record id at
/// `leaf_index` is a leaf of the log of `tree_size` leaves (SPEC §6).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// `PATH(leaf_index, D[tree_size])`, from the leaf up.
    #[serde(with = "crate::hexser::hash32_vec")]
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that `leaf_data` (a record id) is leaf `leaf_index` of the
    /// log of `tree_size` leaves whose root is `root`.
    pub fn verify(&self, leaf_data: &[u8], root: &Hash) -> Result<(), ProofError> {
        verify_inclusion::<Blake3Hasher>(
            &Blake3Hasher::hash_leaf(leaf_data),
            self.leaf_index,
            self.tree_size,
            &self.path,
            root,
        )
    }
}

/// An RFC 9162 consistency proof in the ledger's log: the log of
/// `old_size` leaves is a prefix of the log of `new_size` leaves (SPEC §6).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    /// `PROOF(old_size, D[new_size])`.
    #[serde(with = "crate::hexser::hash32_vec")]
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks that `old_root` (of `old_size` leaves) and `new_root` (of
    /// `new_size` leaves) are roots of one append-only log.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        verify_consistency::<Blake3Hasher>(
            self.old_size,
            self.new_size,
            old_root,
            new_root,
            &self.path,
        )
    }
}

// --- Index arithmetic ------------------------------------------------------------------------

/// The root of the complete subtree covering leaves `[index·2^level, (index+1)·2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// The stored nodes each proof element is made of: `elements[j]` lists, left to right, the
/// maximal complete subtrees of the range whose MTH is element `j`; the element is their
/// [`fold_right`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProofPlan {
    pub elements: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// All nodes to fetch, in proof order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.elements.iter().flatten().copied()
    }

    /// Builds the proof, fetching each node with `fetch` and folding each element.
    pub fn assemble<H: MerkleHasher, E>(
        &self,
        mut fetch: impl FnMut(NodeId) -> Result<Hash, E>,
    ) -> Result<Vec<Hash>, E> {
        let mut fold = |ids: &Vec<NodeId>| {
            let hashes = ids
                .iter()
                .map(|&id| fetch(id))
                .collect::<Result<Vec<_>, E>>()?;
            Ok(fold_right::<H>(&hashes).unwrap_or_else(H::empty_root))
        };
        self.elements.iter().map(&mut fold).collect()
    }
}

/// MTH of adjacent complete subtrees listed left to right in decreasing size, i.e. of a range
/// that is a node of the RFC tree: `h = last; h = H(previous, h)` leftwards. `None` if empty.
pub fn fold_right<H: MerkleHasher>(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |h, left| H::hash_children(left, &h)),
    )
}

/// Hash of a complete subtree from its `2^r` bottom hashes, pairwise level by level.
fn fold_complete<H: MerkleHasher>(hashes: &[Hash]) -> Hash {
    let mut row = hashes.to_vec();
    while row.len() > 1 {
        row = row
            .chunks_exact(2)
            .map(|p| H::hash_children(&p[0], &p[1]))
            .collect();
    }
    row.first().copied().unwrap_or_else(H::empty_root)
}

/// `k`, the largest power of two below `n >= 2`: the RFC splits `D[n]` into `D[0:k]` and `D[k:n]`.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Maximal complete subtrees of `[begin, end)`, left to right. When `begin` is aligned to a
/// power of two above `end - begin` (true of every proof element) their [`fold_right`] is
/// `MTH(D[begin:end])`.
fn range_nodes(mut begin: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    while begin < end {
        let level = begin
            .trailing_zeros()
            .min(63 - (end - begin).leading_zeros());
        out.push(NodeId::new(level as u8, begin >> level));
        begin += 1 << level;
    }
    out
}

/// The complete subtrees whose [`fold_right`] is `MTH(D[0:size])`, largest first.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Plan of `PATH(index, D[size])` (RFC 9162 §2.1.3.1), elements ordered leaf to root.
pub fn inclusion_proof_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // From the root down: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else
    // PATH(m - k, D[k:n]) : MTH(D[0:k]). Found top-down, so reversed at the end.
    let (mut lo, mut hi, mut elements) = (0, size, Vec::new());
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            elements.push(range_nodes(lo + k, hi));
            hi = lo + k;
        } else {
            elements.push(range_nodes(lo, lo + k));
            lo += k;
        }
    }
    elements.reverse();
    Ok(ProofPlan { elements })
}

/// Plan of `PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true)` (RFC 9162 §2.1.4.1).
/// Fails like [`verify_consistency`] for `size1 > size2` and `size1 == 0`.
pub fn consistency_proof_plan(size1: u64, size2: u64) -> Result<ProofPlan, ProofError> {
    check_consistency_sizes(size1, size2)?;
    // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m <= k, else
    // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]); for m == n it is [] if b, else [MTH(D[n])].
    let (mut lo, mut hi, mut b, mut elements) = (0, size2, true, Vec::new());
    while size1 < hi {
        let k = split_point(hi - lo);
        if size1 - lo <= k {
            elements.push(range_nodes(lo + k, hi));
            hi = lo + k;
        } else {
            elements.push(range_nodes(lo, lo + k));
            (lo, b) = (lo + k, false);
        }
    }
    if !b {
        elements.push(range_nodes(lo, hi));
    }
    elements.reverse();
    Ok(ProofPlan { elements })
}

// --- Trees held in memory --------------------------------------------------------------------

/// MTH of a list of leaf hashes (a block's write set, say).
pub fn root_of_leaves<H: MerkleHasher>(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::<H>::new();
    for l in leaves {
        // A list in memory is far below 2^64 entries.
        let _ = f.push_leaf_hash(*l);
    }
    f.root()
}

/// `PATH(index, D[n])` over a list of `n` leaf hashes held in memory.
pub fn path_in_leaves<H: MerkleHasher>(
    leaves: &[Hash],
    index: u64,
) -> Result<Vec<Hash>, ProofError> {
    let plan = inclusion_proof_plan(index, leaves.len() as u64)?;
    plan.assemble::<H, ProofError>(|id| {
        let width = 1usize << id.level;
        let from = (id.index as usize) * width;
        Ok(fold_complete::<H>(&leaves[from..from + width]))
    })
}

// --- Proofs from storage ---------------------------------------------------------------------

/// Read access to stored complete-subtree hashes; `Ok(None)` means not stored (yet).
pub trait NodeReader {
    fn node(&self, id: NodeId) -> Result<Option<Hash>, StoreError>;
}

fn fetch<H: MerkleHasher, R: NodeReader + ?Sized>(
    reader: &R,
    plan: &ProofPlan,
) -> Result<Vec<Hash>, LogError> {
    plan.assemble::<H, _>(|id| reader.node(id)?.ok_or(LogError::MissingNode(id)))
}

/// The inclusion proof (PATH) of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<H: MerkleHasher, R: NodeReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LogError> {
    fetch::<H, R>(reader, &inclusion_proof_plan(index, size)?)
}

/// The consistency proof (PROOF) from the tree of `size1` leaves to that of `size2` leaves.
pub fn consistency_proof<H: MerkleHasher, R: NodeReader + ?Sized>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, LogError> {
    fetch::<H, R>(reader, &consistency_proof_plan(size1, size2)?)
}

/// MTH of the first `size` leaves.
pub fn root_at<H: MerkleHasher, R: NodeReader + ?Sized>(
    reader: &R,
    size: u64,
) -> Result<Hash, LogError> {
    let plan = ProofPlan {
        elements: vec![root_plan(size)],
    };
    Ok(fetch::<H, R>(reader, &plan)?
        .pop()
        .unwrap_or_else(H::empty_root))
}

// --- Tiles -----------------------------------------------------------------------------------

/// Levels per tile band.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Tile `(band, index)`: the hashes at level `8·band` with indices `256·index ..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub band: u8,
    pub index: u64,
}

impl TileId {
    pub const fn new(band: u8, index: u64) -> Self {
        Self { band, index }
    }

    /// A 9-byte store key, `band || index` (big-endian), ordered like `TileId`.
    pub fn key(&self) -> [u8; 9] {
        let mut k = [self.band; 9];
        k[1..].copy_from_slice(&self.index.to_be_bytes());
        k
    }
}

/// A tile as bytes: the concatenation of its hashes.
pub fn tile_to_bytes(tile: &[Hash]) -> Vec<u8> {
    tile.concat()
}

/// Parses a tile; fails on a length that is not a multiple of 32 or above 256 hashes.
pub fn tile_from_bytes(bytes: &[u8]) -> Result<Vec<Hash>, StoreError> {
    let bad = || StoreError::new(format!("invalid tile length: {} bytes", bytes.len()));
    if !bytes.len().is_multiple_of(32) || bytes.len() > 32 * TILE_WIDTH as usize {
        return Err(bad());
    }
    bytes
        .chunks_exact(32)
        .map(|c| Hash::try_from(c).map_err(|_| bad()))
        .collect()
}

/// Read access to stored tiles. A partial tile holds only the hashes that exist so far.
pub trait TileReader {
    fn tile(&self, id: TileId) -> Result<Option<Vec<Hash>>, StoreError>;
}

/// A [`NodeReader`] over tiles: node `(ℓ, i)`, with `b = ℓ / 8` and `r = ℓ % 8`, is the fold
/// of the `2^r` band-`b` hashes `i·2^r .. (i+1)·2^r`, present once they all are. Tiles read
/// are cached: make one per proof or request so that each tile is read once.
pub struct TileNodes<'a, H, R: ?Sized> {
    reader: &'a R,
    cache: RefCell<HashMap<TileId, Option<Vec<Hash>>>>,
    _hasher: PhantomData<fn() -> H>,
}

impl<'a, H: MerkleHasher, R: TileReader + ?Sized> TileNodes<'a, H, R> {
    pub fn new(reader: &'a R) -> Self {
        let cache = RefCell::default();
        Self {
            reader,
            cache,
            _hasher: PhantomData,
        }
    }
}

impl<H: MerkleHasher, R: TileReader + ?Sized> NodeReader for TileNodes<'_, H, R> {
    fn node(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
        let width = 1u64 << (id.level % TILE_HEIGHT);
        let first = match id.index.checked_mul(width) {
            Some(first) if id.level < 64 => first,
            _ => return Ok(None),
        };
        let tile_id = TileId::new(id.level / TILE_HEIGHT, first / TILE_WIDTH);
        let (pos, width) = ((first % TILE_WIDTH) as usize, width as usize);
        let mut cache =
            (self.cache.try_borrow_mut()).map_err(|e| StoreError::new(e.to_string()))?;
        let tile = match cache.entry(tile_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(self.reader.tile(tile_id)?),
        };
        Ok(tile
            .as_deref()
            .and_then(|t| t.get(pos..pos + width))
            .map(fold_complete::<H>))
    }
}

/// In-memory tile store (tests, tools).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemTiles {
    pub tiles: HashMap<TileId, Vec<Hash>>,
}

impl MemTiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the writes returned by [`append_batch`] (each replaces its whole tile).
    pub fn apply(&mut self, writes: impl IntoIterator<Item = (TileId, Vec<Hash>)>) {
        self.tiles.extend(writes);
    }
}

impl TileReader for MemTiles {
    fn tile(&self, id: TileId) -> Result<Option<Vec<Hash>>, StoreError> {
        Ok(self.tiles.get(&id).cloned())
    }
}

// --- Appending -------------------------------------------------------------------------------

/// The compact range of a log: its size and the hashes of its maximal complete subtrees (one
/// per set bit of `size`, largest first, at most 64). Appending costs O(1) amortised hashing.
#[derive(Debug, PartialEq, Eq)]
pub struct Frontier<H> {
    size: u64,
    hashes: Vec<Hash>,
    _hasher: PhantomData<fn() -> H>,
}

impl<H: MerkleHasher> Clone for Frontier<H> {
    fn clone(&self) -> Self {
        Self {
            hashes: self.hashes.clone(),
            ..*self
        }
    }
}

impl<H: MerkleHasher> Default for Frontier<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: MerkleHasher> Frontier<H> {
    /// The empty log.
    pub fn new() -> Self {
        Self {
            size: 0,
            hashes: Vec::new(),
            _hasher: PhantomData,
        }
    }

    /// A frontier from a saved size and [`Frontier::hashes`].
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, LogError> {
        let (expected, got) = (size.count_ones() as usize, hashes.len());
        if got != expected {
            return Err(LogError::InvalidFrontier {
                size,
                expected,
                got,
            });
        }
        Ok(Self {
            size,
            hashes,
            _hasher: PhantomData,
        })
    }

    /// Rebuilds the frontier of the first `size` leaves from stored nodes (O(log n) reads).
    pub fn from_reader<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<Self, LogError> {
        let hashes = root_plan(size)
            .into_iter()
            .map(|id| reader.node(id)?.ok_or(LogError::MissingNode(id)));
        Self::from_parts(size, hashes.collect::<Result<_, _>>()?)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Hashes of the maximal complete subtrees, largest first (the nodes of [`root_plan`]).
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// MTH of the log.
    pub fn root(&self) -> Hash {
        fold_right::<H>(&self.hashes).unwrap_or_else(H::empty_root)
    }

    /// Appends a leaf by its data (hashed with [`MerkleHasher::hash_leaf`]).
    pub fn push(&mut self, leaf_data: &[u8]) -> Result<(), LogError> {
        self.push_leaf_hash(H::hash_leaf(leaf_data))
    }

    /// Appends a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf_hash: Hash) -> Result<(), LogError> {
        self.push_with(leaf_hash, &mut |_, _| {})
    }

    /// Appends a leaf by its leaf hash, adding the nodes it completes at tile boundaries to
    /// `nodes` (what the log's tiles gain: see [`tiles_gaining`]).
    pub fn push_leaf_hash_to_tiles(
        &mut self,
        leaf_hash: Hash,
        nodes: &mut BandNodes,
    ) -> Result<(), LogError> {
        self.push_with(leaf_hash, &mut |id, h| nodes.add(id, h))
    }

    /// Appends a leaf hash, reporting every node it completes, the leaf first.
    fn push_with(
        &mut self,
        mut h: Hash,
        emit: &mut impl FnMut(NodeId, &Hash),
    ) -> Result<(), LogError> {
        let index = self.size;
        let next = index.checked_add(1).ok_or(LogError::SizeOverflow)?;
        emit(NodeId::new(0, index), &h);
        // Each set low bit of the old size is a complete left sibling to merge with; there
        // is one hash per set bit, so the pop cannot fail.
        let mut level = 0u8;
        while index.checked_shr(level.into()).unwrap_or(0) & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            h = H::hash_children(&left, &h);
            level += 1;
            emit(NodeId::new(level, index >> level), &h);
        }
        self.hashes.push(h);
        self.size = next;
        Ok(())
    }
}

/// Appends `leaves` (leaf data: the ledger's 32-byte record ids) to the log whose state is
/// `frontier`, and returns the tiles that changed, each with its whole new contents, for the
/// caller to write atomically with the new size: about `N/256 + bands` tiles for `N` leaves.
/// The partial tiles it extends (at most one per band) are read from `reader`. On error the
/// frontier is unchanged.
pub fn append_batch<H: MerkleHasher, R: TileReader + ?Sized, L: AsRef<[u8]>>(
    frontier: &mut Frontier<H>,
    reader: &R,
    leaves: &[L],
) -> Result<Vec<(TileId, Vec<Hash>)>, LogError> {
    append_leaf_hashes(
        frontier,
        reader,
        leaves.iter().map(|l| H::hash_leaf(l.as_ref())),
    )
}

/// [`append_batch`] for leaves already hashed (`H::hash_leaf` of each
/// leaf's data, in order).
pub fn append_leaf_hashes<H: MerkleHasher, R: TileReader + ?Sized>(
    frontier: &mut Frontier<H>,
    reader: &R,
    leaf_hashes: impl IntoIterator<Item = Hash>,
) -> Result<Vec<(TileId, Vec<Hash>)>, LogError> {
    let mut next = frontier.clone();
    let mut nodes = BandNodes::default();
    for leaf_hash in leaf_hashes {
        next.push_leaf_hash_to_tiles(leaf_hash, &mut nodes)?;
    }
    let writes = tiles_gaining(frontier.size, &nodes, reader)?;
    *frontier = next;
    Ok(writes)
}

/// The nodes a run of appends completed at tile boundaries (levels 0, 8, 16, …), per band,
/// in index order: what the log's tiles gain. Collected by
/// [`Frontier::push_leaf_hash_to_tiles`] while the appends hash the log, so that writing
/// the tiles ([`tiles_gaining`]) hashes nothing again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BandNodes {
    bands: Vec<Vec<Hash>>,
}

impl BandNodes {
    /// How many leaves were appended (band 0 holds every leaf hash).
    pub fn leaves(&self) -> usize {
        self.bands.first().map_or(0, Vec::len)
    }

    fn add(&mut self, id: NodeId, h: &Hash) {
        if !id.level.is_multiple_of(TILE_HEIGHT) {
            return;
        }
        let band = usize::from(id.level / TILE_HEIGHT);
        if self.bands.len() <= band {
            self.bands.resize(band + 1, Vec::new());
        }
        self.bands[band].push(*h);
    }
}

/// The tiles that change when a log of `size_before` leaves gains `nodes`, each with its whole
/// new contents, for the caller to write atomically with the new size. The partial tiles it
/// extends (at most one per band) are read from `reader`.
pub fn tiles_gaining<R: TileReader + ?Sized>(
    size_before: u64,
    nodes: &BandNodes,
    reader: &R,
) -> Result<Vec<(TileId, Vec<Hash>)>, LogError> {
    let mut writes = Vec::new();
    for (band, nodes) in (0u8..)
        .zip(&nodes.bands)
        .filter(|(_, nodes)| !nodes.is_empty())
    {
        let first = size_before >> (u32::from(band) * u32::from(TILE_HEIGHT));
        let mut id = TileId::new(band, first / TILE_WIDTH);
        let expected = (first % TILE_WIDTH) as usize;
        let mut tile = match expected {
            0 => Vec::new(),
            _ => reader.tile(id)?.ok_or(LogError::MissingTile(id))?,
        };
        if tile.len() != expected {
            let got = tile.len();
            return Err(LogError::TileLengthMismatch {
                tile: id,
                expected,
                got,
            });
        }
        for h in nodes {
            tile.push(*h);
            if tile.len() as u64 == TILE_WIDTH {
                writes.push((id, std::mem::take(&mut tile)));
                id.index += 1;
            }
        }
        if !tile.is_empty() {
            writes.push((id, tile));
        }
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// RFC 6962 with SHA-256 (tests only).
    #[derive(Debug, PartialEq, Eq)]
    struct S;
    type B = Blake3Hasher;
    fn sha(parts: &[&[u8]]) -> Hash {
        parts
            .iter()
            .fold(Sha256::new(), |h, p| h.chain_update(p))
            .finalize()
            .into()
    }
    impl MerkleHasher for S {
        fn hash_leaf(data: &[u8]) -> Hash {
            sha(&[&[0], data])
        }
        fn hash_children(l: &Hash, r: &Hash) -> Hash {
            sha(&[&[1], l, r])
        }
        fn empty_root() -> Hash {
            sha(&[])
        }
    }

    fn id(i: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&i.to_le_bytes());
        h
    }
    fn ids(n: u64) -> Vec<Hash> {
        (0..n).map(id).collect()
    }
    fn hex(h: &[u8]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
    fn leaf_hashes<H: MerkleHasher>(ids: &[Hash]) -> Vec<Hash> {
        ids.iter().map(|d| H::hash_leaf(d)).collect()
    }

    /// Naive MTH (RFC 9162 §2.1.1) over leaf hashes.
    fn mth<H: MerkleHasher>(l: &[Hash]) -> Hash {
        match l.len() {
            0 => H::empty_root(),
            1 => l[0],
            n => {
                let k = split_point(n as u64) as usize;
                H::hash_children(&mth::<H>(&l[..k]), &mth::<H>(&l[k..]))
            }
        }
    }

    /// Naive `PATH(m, D[n])` (RFC 9162 §2.1.3.1).
    fn path<H: MerkleHasher>(m: usize, l: &[Hash]) -> Vec<Hash> {
        if l.len() <= 1 {
            return vec![];
        }
        let k = split_point(l.len() as u64) as usize;
        let (mut p, sibling) = match m < k {
            true => (path::<H>(m, &l[..k]), mth::<H>(&l[k..])),
            false => (path::<H>(m - k, &l[k..]), mth::<H>(&l[..k])),
        };
        p.push(sibling);
        p
    }

    /// Naive `SUBPROOF(m, D[n], b)` (RFC 9162 §2.1.4.1).
    fn subproof<H: MerkleHasher>(m: usize, l: &[Hash], b: bool) -> Vec<Hash> {
        if m == l.len() {
            return if b { vec![] } else { vec![mth::<H>(l)] };
        }
        let k = split_point(l.len() as u64) as usize;
        let (mut p, sibling) = match m <= k {
            true => (subproof::<H>(m, &l[..k], b), mth::<H>(&l[k..])),
            false => (subproof::<H>(m - k, &l[k..], false), mth::<H>(&l[..k])),
        };
        p.push(sibling);
        p
    }

    /// Appends `ids` in batches of `batch` and applies the tile writes.
    fn build<H: MerkleHasher>(ids: &[Hash], batch: usize) -> (Frontier<H>, MemTiles) {
        let (mut f, mut tiles) = (Frontier::<H>::new(), MemTiles::new());
        for chunk in ids.chunks(batch.max(1)) {
            let writes = append_batch(&mut f, &tiles, chunk).unwrap();
            tiles.apply(writes);
        }
        (f, tiles)
    }

    #[test]
    fn known_answer_roots_sha256() {
        let leaves = ",00,10,2021,3031,40414243,5051525354555657,606162636465666768696a6b6c6d6e6f";
        let unhex = |x: &str| -> Vec<u8> {
            let byte = |i| u8::from_str_radix(&x[i..i + 2], 16).unwrap();
            (0..x.len()).step_by(2).map(byte).collect()
        };
        let leaves = leaves.split(',').map(unhex);
        let want = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let (mut f, mut tiles, mut hashes) = (Frontier::<S>::new(), MemTiles::new(), vec![]);
        for (leaf, want) in leaves.zip(want) {
            hashes.push(S::hash_leaf(&leaf));
            tiles.apply(append_batch(&mut f, &tiles, &[leaf]).unwrap());
            let stored = root_at::<S, _>(&TileNodes::<S, _>::new(&tiles), f.size()).unwrap();
            let got = [f.root(), mth::<S>(&hashes), stored].map(|h| hex(&h));
            assert_eq!(got, [want; 3]);
        }
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let stored = root_at::<S, _>(&TileNodes::<S, _>::new(&tiles), 0).unwrap();
        assert_eq!(
            [Frontier::<S>::new().root(), stored].map(|h| hex(&h)),
            [empty; 2]
        );
    }

    /// The proof with one extra hash, one hash fewer and one flipped bit.
    fn tampered(p: &[Hash]) -> Vec<Vec<Hash>> {
        let mut out = vec![[p, &[[7; 32]]].concat()];
        if let Some((_, shorter)) = p.split_last() {
            let mut flipped = p.to_vec();
            flipped[p.len() / 2][5] ^= 0x10;
            out.extend([shorter.to_vec(), flipped]);
        }
        out
    }

    #[test]
    fn all_proofs_up_to_64_match_the_rfc_and_resist_tampering() {
        let lh = leaf_hashes::<S>(&ids(64));
        let (_, tiles) = build::<S>(&ids(64), 7);
        let r = TileNodes::<S, _>::new(&tiles);
        for n in 1..=64u64 {
            let root = root_at::<S, _>(&r, n).unwrap();
            let l = &lh[..n as usize];
            assert_eq!(root, mth::<S>(l));
            for i in 0..n {
                let (p, leaf) = (inclusion_proof::<S, _>(&r, i, n).unwrap(), &l[i as usize]);
                assert_eq!(p, path::<S>(i as usize, l), "PATH({i}, {n})");
                assert_eq!(verify_inclusion::<S>(leaf, i, n, &p, &root), Ok(()));
                for bad in tampered(&p) {
                    assert!(verify_inclusion::<S>(leaf, i, n, &bad, &root).is_err());
                }
                assert!(verify_inclusion::<S>(&[9; 32], i, n, &p, &root).is_err());
            }
            let err = ProofError::IndexOutOfRange { index: n, size: n };
            assert_eq!(inclusion_proof::<S, _>(&r, n, n), Err(err.into()));
            for m in 1..=n {
                let old = root_at::<S, _>(&r, m).unwrap();
                let p = consistency_proof::<S, _>(&r, m, n).unwrap();
                assert_eq!(p, subproof::<S>(m as usize, l, true), "PROOF({m}, {n})");
                assert_eq!(verify_consistency::<S>(m, n, &old, &root, &p), Ok(()));
                for bad in tampered(&p) {
                    assert!(verify_consistency::<S>(m, n, &old, &root, &bad).is_err());
                }
                let swapped = verify_consistency::<S>(m, n, &root, &old, &p);
                assert_eq!(swapped.is_ok(), m == n);
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let v = |m, n, r1: &Hash, r2: &Hash, p: &[Hash]| verify_consistency::<S>(m, n, r1, r2, p);
        assert_eq!(v(3, 3, &a, &a, &[]), Ok(()));
        assert_eq!(v(3, 3, &a, &b, &[]), Err(ProofError::RootMismatch));
        let err = ProofError::NonEmptyProofForEqualSizes { got: 1 };
        assert_eq!(v(3, 3, &a, &a, &[a]), Err(err));
        let err = ProofError::SizesOutOfOrder { size1: 4, size2: 3 };
        assert_eq!(v(4, 3, &a, &b, &[]), Err(err.clone()));
        assert_eq!(consistency_proof_plan(4, 3), Err(err));
        assert_eq!(v(0, 0, &a, &a, &[]), Err(ProofError::EmptyOldTree));
        assert_eq!(v(0, 5, &a, &b, &[]), Err(ProofError::EmptyOldTree));
        assert_eq!(consistency_proof_plan(0, 5), Err(ProofError::EmptyOldTree));
        assert_eq!(v(1, 8, &a, &b, &[]), Err(wrong_len(3, 0)));
        // Extreme sizes neither overflow nor panic.
        let max = u64::MAX;
        let got = verify_inclusion::<S>(&a, max - 1, max, &[b], &a);
        assert_eq!(got, Err(wrong_len(63, 1)));
        assert!(v(max - 1, max, &a, &b, &[b]).is_err());
        let plan = inclusion_proof_plan(max - 1, max).unwrap();
        assert_eq!(plan.elements.len(), 63);
    }

    #[test]
    fn plans_have_the_rfc_shape() {
        let n = NodeId::new;
        assert_eq!(root_plan(7), [n(2, 0), n(1, 2), n(0, 6)]);
        assert_eq!(root_plan(0), []);
        let p = inclusion_proof_plan(0, 7).unwrap().elements;
        assert_eq!(p, [&[n(0, 1)][..], &[n(1, 1)], &[n(1, 2), n(0, 6)]]);
        // RFC 9162 §2.1.5: PROOF(3, D[7]) = [c, d, g, l].
        let p = consistency_proof_plan(3, 7).unwrap();
        let want = [&[n(0, 2)][..], &[n(0, 3)], &[n(1, 0)], &[n(1, 2), n(0, 6)]];
        assert_eq!(p.elements, want);
        assert_eq!(p.nodes().count(), 5);
        assert_eq!(consistency_proof_plan(4, 4), Ok(ProofPlan::default()));
    }

    #[test]
    fn tile_bytes_and_store_errors() {
        assert_eq!(tile_from_bytes(&tile_to_bytes(&ids(3))), Ok(ids(3)));
        assert!(tile_from_bytes(&[0; 33]).is_err());
        assert!(tile_from_bytes(&[0; 32 * 257]).is_err());
        assert_eq!(tile_from_bytes(&[0; 32 * 256]).map(|t| t.len()), Ok(256));
        assert_eq!(TileId::new(1, 258).key(), [1, 0, 0, 0, 0, 0, 0, 1, 2]);

        let empty = MemTiles::new();
        let r = TileNodes::<B, _>::new(&empty);
        let missing = Err(LogError::MissingNode(NodeId::new(0, 1)));
        assert_eq!(inclusion_proof::<B, _>(&r, 0, 5), missing);
        let err = Frontier::<B>::from_reader(&r, 3);
        assert_eq!(err, Err(LogError::MissingNode(NodeId::new(1, 0))));
        assert!(Frontier::<B>::from_parts(3, vec![[0; 32]]).is_err());

        // A frontier that disagrees with the stored partial tile is refused and left as is.
        let (mut f, tiles) = build::<B>(&ids(10), 10);
        let mut stale = tiles.clone();
        stale.apply([(TileId::new(0, 0), ids(9))]);
        let before = f.clone();
        let err = append_batch(&mut f, &stale, &ids(1));
        let tile = TileId::new(0, 0);
        let want = LogError::TileLengthMismatch {
            tile,
            expected: 10,
            got: 9,
        };
        assert_eq!(err, Err(want));
        assert_eq!(f, before);
        let err = append_batch(&mut f, &empty, &ids(1));
        assert!(matches!(err, Err(LogError::MissingTile(_))));
    }

    #[test]
    fn crosses_tile_and_band_boundaries() {
        let ids = ids(70_000);
        let lh = leaf_hashes::<B>(&ids);
        let (mut f, mut tiles) = (Frontier::<B>::new(), MemTiles::new());
        for chunk in ids.chunks(1000) {
            let writes = append_batch(&mut f, &tiles, chunk).unwrap();
            assert!(writes.len() <= 8, "{} tile writes", writes.len());
            tiles.apply(writes);
            let r = TileNodes::<B, _>::new(&tiles);
            assert_eq!(root_at::<B, _>(&r, f.size()).unwrap(), f.root());
        }
        assert_eq!(tiles.tiles[&TileId::new(2, 0)].len(), 1);
        let r = TileNodes::<B, _>::new(&tiles);
        assert_eq!(Frontier::<B>::from_reader(&r, 70_000).unwrap(), f);
        for n in [255u64, 256, 257, 65_535, 65_536, 65_537, 70_000] {
            let root = mth::<B>(&lh[..n as usize]);
            assert_eq!(root_at::<B, _>(&r, n).unwrap(), root, "size {n}");
            for i in [0, n / 2, n - 1] {
                let p = inclusion_proof::<B, _>(&r, i, n).unwrap();
                let leaf = &lh[i as usize];
                assert_eq!(verify_inclusion::<B>(leaf, i, n, &p, &root), Ok(()));
            }
            for m in [1, 255, 256, 257, 65_536, 65_537].map(|m| m.min(n)) {
                let old = root_at::<B, _>(&r, m).unwrap();
                let p = consistency_proof::<B, _>(&r, m, n).unwrap();
                assert_eq!(verify_consistency::<B>(m, n, &old, &root, &p), Ok(()));
            }
        }
    }

    /// `(m, n, batch)` with `1 <= m <= n <= max`.
    fn sizes(max: u64) -> impl Strategy<Value = (u64, u64, usize)> {
        (1..=max).prop_flat_map(|n| (1..=n, Just(n), 1..300usize))
    }

    proptest! {
        #[test]
        fn batched_append_matches_naive_mth(n in 0..600u64, batch in 1..300usize) {
            let (f, tiles) = build::<B>(&ids(n), batch);
            let root = mth::<B>(&leaf_hashes::<B>(&ids(n)));
            prop_assert_eq!(f.root(), root);
            prop_assert_eq!(root_at::<B, _>(&TileNodes::<B, _>::new(&tiles), n), Ok(root));
        }

        #[test]
        fn consistency_from_tiles_verifies((m, n, batch) in sizes(600)) {
            let (_, tiles) = build::<B>(&ids(n), batch);
            let r = TileNodes::<B, _>::new(&tiles);
            let (old, new) = (root_at::<B, _>(&r, m).unwrap(), root_at::<B, _>(&r, n).unwrap());
            let p = consistency_proof::<B, _>(&r, m, n).unwrap();
            prop_assert_eq!(verify_consistency::<B>(m, n, &old, &new, &p), Ok(()));
        }

        #[test]
        fn inclusion_from_tiles_verifies((i, n, batch) in sizes(600)) {
            let (f, tiles) = build::<B>(&ids(n), batch);
            let p = inclusion_proof::<B, _>(&TileNodes::<B, _>::new(&tiles), i - 1, n).unwrap();
            let leaf = B::hash_leaf(&id(i - 1));
            prop_assert_eq!(verify_inclusion::<B>(&leaf, i - 1, n, &p, &f.root()), Ok(()));
        }

        #[test]
        fn frontier_from_reader_equals_pushed((m, n, batch) in sizes(600)) {
            let (_, tiles) = build::<B>(&ids(n), batch);
            let mut pushed = Frontier::<B>::new();
            for d in ids(m) {
                pushed.push(&d).unwrap();
            }
            let from_tiles = Frontier::<B>::from_reader(&TileNodes::<B, _>::new(&tiles), m);
            prop_assert_eq!(from_tiles, Ok(pushed));
        }
    }
}
