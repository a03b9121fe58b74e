// The layout of every structure of docs/SPEC.md §2, as data. One entry per table of the spec, in
// the spec's field order (= encoding order). codec.js interprets these entries; nothing else
// knows the layouts, so adding a record kind is one line in `Payload` plus one struct entry.
//
// Type expressions:
//   'u8' 'u16' 'u32' 'u64' 'bool' 'String' 'Bytes'   primitives ('Bytes' = Vec<u8>)
//   'Name'                                           another entry of SCHEMA (alias, struct, enum)
//   { fixed: n }                                     [u8; n], no length
//   { array: T, len: n }                             [T; n], no length
//   { vec: T }                                       Vec<T>: u64 LE count, then the elements
//   { option: T }                                    Option<T>: tag 0x00 / 0x01 + T
//   { tuple: [A, B, …] }                             (A, B, …), no length
// Entries:
//   a type expression                                a newtype / alias (encodes as its inner type)
//   { struct: [[field, T], …] }                      fields in declaration order
//   { enum: [[Variant], [Variant, fields], …] }      u32 LE index = position in the list, then
//                                                    the variant's fields. `fields` is either a
//                                                    list [[field, T], …] or the name of a struct
//                                                    entry whose fields are inlined (a newtype
//                                                    variant such as Payload::AdmitMember(AdmitMember)).
//
// Decoded values: structs are plain objects with the spec's (snake_case) field names; enums are
// { kind: 'Variant', ...fields } (unit variants just { kind }); [u8; n] and Vec<u8> are
// Uint8Array; u64 is BigInt, u8/u16/u32 are Number; Option is null or the value; tuples and
// other arrays are JS arrays.
//
// Naming of tuple variants. The spec writes some variants with one unnamed field
// (FundRef::General(Address), FundRef::Project(ProjectId), Recipient::Person(Commitment),
// WelfareRecipient::Project(ProjectId), WelfareRecipient::Programme(String)). A plain object needs
// a name for that field; the names chosen here (address, project, commitment, project, name) are
// ours, not the spec's. They do not affect the bytes.

const HASH = { fixed: 32 };

export const SCHEMA = {
  // ---- §1 newtypes (each encodes exactly as its inner type) ----
  Fen: 'u64',
  Timestamp: 'u64',
  Hash32: HASH,
  Address: { fixed: 20 },
  PublicKey: { fixed: 32 },
  Signature: { fixed: 64 },
  RecordId: { fixed: 32 },
  Commitment: { fixed: 32 },
  NodeKey: { fixed: 32 },
  ProjectId: 'String',
  ReceiptNo: 'String',
  GameId: 'String',
  DrawId: 'String',
  Uscc: 'String',

  // ---- §2.1 small enums and shared types ----
  Role: { enum: [['Bureau'], ['Charity'], ['LotteryCentre'], ['Auditor']] },
  Channel: {
    enum: [
      ['Bank'],
      ['DigitalRmb'],
      ['OnlinePlatform'],
      ['Cash'],
      ['InKind', [['description', 'String'], ['valuation_evidence', HASH]]],
    ],
  },
  FundRef: {
    enum: [
      ['General', [['address', 'Address']]],
      ['Project', [['project', 'ProjectId']]],
      ['WelfarePool'],
    ],
  },
  SpendingCategory: { enum: [['CharitableActivity'], ['Management'], ['Fundraising']] },
  ProjectCategory: {
    enum: [
      ['PovertyRelief'], ['Elderly'], ['Disabled'], ['Children'], ['Education'],
      ['Health'], ['Disaster'], ['Environment'], ['Community'], ['Other'],
    ],
  },
  WelfarePurpose: {
    enum: [['Elderly'], ['Disabled'], ['Orphans'], ['PovertyRelief'], ['Other']],
  },
  ListKind: { enum: [['AbnormalActivity'], ['SeriousViolation']] },
  EvidenceKind: {
    enum: [['Invoice'], ['Contract'], ['Photo'], ['BankSlip'], ['Report'], ['Other']],
  },
  Evidence: { struct: [['kind', 'EvidenceKind'], ['hash', HASH]] },
  Recipient: {
    enum: [
      ['Person', [['commitment', 'Commitment']]],
      ['Organisation', [['name', 'String'], ['uscc', { option: 'Uscc' }]]],
    ],
  },
  WelfareRecipient: {
    enum: [
      ['Project', [['project', 'ProjectId']]],
      ['Programme', [['name', 'String']]],
    ],
  },
  Severity: { enum: [['Info'], ['Minor'], ['Major'], ['Critical']] },

  // ---- §2.2 payload structs ----
  AdmitMember: {
    struct: [
      ['public_key', 'PublicKey'],
      ['role', 'Role'],
      ['name', 'String'],
      ['uscc', 'Uscc'],
      ['node', 'NodeKey'],
    ],
  },
  UpdateMember: {
    struct: [
      ['member', 'Address'],
      ['name', { option: 'String' }],
      ['uscc', { option: 'Uscc' }],
      ['node', { option: 'NodeKey' }],
    ],
  },
  SuspendMember: { struct: [['member', 'Address'], ['reason', 'String']] },
  ReinstateMember: { struct: [['member', 'Address']] },
  RotateKey: {
    struct: [['member', 'Address'], ['new_key', 'PublicKey'], ['old_key_signature', 'Signature']],
  },
  SetValidator: {
    struct: [['member', 'Address'], ['power', 'u64'], ['effective_height', 'u64']],
  },
  ApproveProject: { struct: [['project', 'ProjectId'], ['approval_ref', 'String']] },
  ListOrganisation: {
    struct: [['organisation', 'Address'], ['list', 'ListKind'], ['reason', 'String']],
  },
  DelistOrganisation: {
    struct: [['organisation', 'Address'], ['list', 'ListKind'], ['reason', 'String']],
  },
  RegisterProject: {
    struct: [
      ['project', 'ProjectId'],
      ['title', 'String'],
      ['category', 'ProjectCategory'],
      ['target', 'Fen'],
      ['start', 'Timestamp'],
      ['end', 'Timestamp'],
      ['public_fundraising_ref', { option: 'String' }],
    ],
  },
  RecordDonation: {
    struct: [
      ['receipt', 'ReceiptNo'],
      ['donor', 'Commitment'],
      ['amount', 'Fen'],
      ['channel', 'Channel'],
      ['fund', 'FundRef'],
      ['restricted', 'bool'],
      ['pledge', { option: 'String' }],
    ],
  },
  RecordDisbursement: {
    struct: [
      ['fund', 'FundRef'],
      ['amount', 'Fen'],
      ['category', 'SpendingCategory'],
      ['recipient', 'Recipient'],
      ['purpose', 'String'],
      ['evidence', { vec: 'Evidence' }],
      ['milestone', { option: 'String' }],
    ],
  },
  RecordRefund: { struct: [['receipt', 'ReceiptNo'], ['amount', 'Fen'], ['reason', 'String']] },
  TransferGrant: {
    struct: [['from', 'FundRef'], ['to', 'ProjectId'], ['amount', 'Fen'], ['purpose', 'String']],
  },
  CloseProject: { struct: [['project', 'ProjectId'], ['final_report', HASH]] },
  Correction: {
    struct: [
      ['target', 'RecordId'],
      ['field', 'String'],
      ['corrected', 'String'],
      ['reason', 'String'],
    ],
  },
  RecordLotterySales: {
    struct: [['game', 'GameId'], ['period', 'String'], ['region', 'String'], ['sales', 'Fen']],
  },
  AllocateWelfareFund: {
    struct: [['amount', 'Fen'], ['purpose', 'WelfarePurpose'], ['recipient', 'WelfareRecipient']],
  },
  RecordPrizePayout: { struct: [['game', 'GameId'], ['period', 'String'], ['amount', 'Fen']] },
  AuditAttestation: {
    struct: [
      ['height', 'u64'],
      ['log_size', 'u64'],
      ['log_root', HASH],
      ['scope', 'String'],
      ['findings', 'u32'],
      ['report', HASH],
    ],
  },
  Finding: { struct: [['target', 'RecordId'], ['severity', 'Severity'], ['text', 'String']] },
  // §2.2 Disclosure.
  ReportSubject: {
    enum: [['Project', [['project', 'ProjectId']]], ['Charity', [['year', 'u32']]], ['WelfareFund', [['year', 'u32']]]],
  },
  PublishReport: { struct: [['subject', 'ReportSubject'], ['period', 'String'], ['report', HASH]] },
  // §2.2 Verifiable draws (§15).
  DrawKind: { enum: [['Reward'], ['Game']] },
  OpenDraw: {
    struct: [
      ['draw', 'DrawId'],
      ['draw_kind', 'DrawKind'],
      ['title', 'String'],
      ['entries_root', HASH],
      ['entries', 'u64'],
      ['winners', 'u32'],
      ['closes', 'u64'],
      ['reveal_by', 'u64'],
      ['seed_commitment', HASH],
      ['invited', { vec: 'Address' }],
    ],
  },
  CommitDrawSeed: { struct: [['draw', 'DrawId'], ['seed_commitment', HASH]] },
  RevealDrawSeed: { struct: [['draw', 'DrawId'], ['seed', HASH]] },
  SettleDraw: { struct: [['draw', 'DrawId'], ['winners', { vec: 'u64' }]] },

  // ---- §2.3 Payload, RecordBody, SignedRecord ----
  // The index is part of the signed bytes: kinds are only ever appended (new ones after 25).
  // Note the order differs from §2.2's listing: Correction is 14, CloseProject 15.
  Payload: {
    enum: [
      ['AdmitMember', 'AdmitMember'], // 0
      ['UpdateMember', 'UpdateMember'], // 1
      ['SuspendMember', 'SuspendMember'], // 2
      ['ReinstateMember', 'ReinstateMember'], // 3
      ['RotateKey', 'RotateKey'], // 4
      ['SetValidator', 'SetValidator'], // 5
      ['ApproveProject', 'ApproveProject'], // 6
      ['ListOrganisation', 'ListOrganisation'], // 7
      ['DelistOrganisation', 'DelistOrganisation'], // 8
      ['RegisterProject', 'RegisterProject'], // 9
      ['RecordDonation', 'RecordDonation'], // 10
      ['RecordDisbursement', 'RecordDisbursement'], // 11
      ['RecordRefund', 'RecordRefund'], // 12
      ['TransferGrant', 'TransferGrant'], // 13
      ['Correction', 'Correction'], // 14
      ['CloseProject', 'CloseProject'], // 15
      ['RecordLotterySales', 'RecordLotterySales'], // 16
      ['AllocateWelfareFund', 'AllocateWelfareFund'], // 17
      ['RecordPrizePayout', 'RecordPrizePayout'], // 18
      ['AuditAttestation', 'AuditAttestation'], // 19
      ['Finding', 'Finding'], // 20
      ['PublishReport', 'PublishReport'], // 21
      ['OpenDraw', 'OpenDraw'], // 22
      ['CommitDrawSeed', 'CommitDrawSeed'], // 23
      ['RevealDrawSeed', 'RevealDrawSeed'], // 24
      ['SettleDraw', 'SettleDraw'], // 25
    ],
  },
  RecordBody: {
    struct: [
      ['created', 'Timestamp'],
      ['expires', 'Timestamp'],
      ['nonce', 'u64'],
      ['payload', 'Payload'],
    ],
  },
  SignedRecord: {
    struct: [['body', 'RecordBody'], ['signer', 'PublicKey'], ['signature', 'Signature']],
  },

  // ---- §2.4 Genesis ----
  Genesis: {
    struct: [
      ['chain_id', 'String'],
      ['time', 'Timestamp'],
      ['params', 'Params'],
      ['members', { vec: 'GenesisMember' }],
      ['games', { vec: 'Game' }],
    ],
  },
  Params: {
    struct: [
      ['max_record_bytes', 'u32'],
      ['max_records_per_block', 'u32'],
      ['max_expiry_window_ms', 'u64'],
      ['clock_skew_ms', 'u64'],
      ['validator_change_delay', 'u64'],
      ['elderly_min_share_bp', 'u32'],
      ['charity_activity_min_bp', 'u32'],
      ['charity_management_max_bp', 'u32'],
    ],
  },
  GenesisMember: {
    struct: [
      ['name', 'String'],
      ['role', 'Role'],
      ['uscc', 'Uscc'],
      ['public_key', 'PublicKey'],
      ['node', 'NodeKey'],
      ['power', 'u64'],
    ],
  },
  Game: {
    struct: [
      ['id', 'GameId'],
      ['name', 'String'],
      ['prize_bp', 'u32'],
      ['issuance_fee_bp', 'u32'],
      ['welfare_bp', 'u32'],
      ['central_bp', 'u32'],
    ],
  },

  // ---- §2.5 blocks and consensus ----
  Header: {
    struct: [
      ['chain_id', 'String'],
      ['height', 'u64'],
      ['time', 'Timestamp'],
      ['prev_hash', HASH],
      ['log_size', 'u64'],
      ['log_root', HASH],
      ['record_root', HASH],
      ['state_hash', HASH],
      ['proposer', 'Address'],
      ['validator_set_hash', HASH],
    ],
  },
  BlockData: { struct: [['header', 'Header'], ['records', { vec: 'Bytes' }]] },
  Validator: { struct: [['address', 'Address'], ['public_key', 'PublicKey'], ['power', 'u64']] },
  ValidatorSet: { struct: [['validators', { vec: 'Validator' }]] },
  VoteKind: { enum: [['Prevote'], ['Precommit']] },
  VoteBody: {
    struct: [
      ['kind', 'VoteKind'],
      ['height', 'u64'],
      ['round', 'u32'],
      ['value', { option: HASH }],
      ['validator', 'Address'],
    ],
  },
  ProposalBody: {
    struct: [
      ['height', 'u64'],
      ['round', 'u32'],
      ['pol_round', { option: 'u32' }],
      ['value', HASH],
      ['proposer', 'Address'],
    ],
  },
  CommitSignature: { struct: [['validator', 'Address'], ['signature', 'Signature']] },
  CommitCertificate: {
    struct: [
      ['height', 'u64'],
      ['round', 'u32'],
      ['header_hash', HASH],
      ['signatures', { vec: 'CommitSignature' }],
    ],
  },
  Checkpoint: {
    struct: [['log_size', 'u64'], ['log_root', HASH], ['header_hash', HASH], ['height', 'u64']],
  },
  WitnessSignature: { struct: [['witness', 'PublicKey'], ['signature', 'Signature']] },
  SignedCheckpoint: {
    struct: [
      ['checkpoint', 'Checkpoint'],
      ['header', 'Header'],
      ['certificate', 'CommitCertificate'],
      ['witnesses', { vec: 'WitnessSignature' }],
    ],
  },

  // ---- §2.6 state values ----
  Member: {
    struct: [
      ['role', 'Role'],
      ['name', 'String'],
      ['uscc', 'Uscc'],
      ['key', 'PublicKey'],
      ['node', 'NodeKey'],
      ['suspended', 'bool'],
      ['power', 'u64'],
      ['admitted_height', 'u64'],
    ],
  },
  KeyEntry: { struct: [['member', 'Address'], ['current', 'bool']] },
  ProjectStatus: { enum: [['Pending'], ['Active'], ['Closed']] },
  Project: {
    struct: [
      ['owner', 'Address'],
      ['title', 'String'],
      ['category', 'ProjectCategory'],
      ['target', 'Fen'],
      ['start', 'Timestamp'],
      ['end', 'Timestamp'],
      ['public_fundraising_ref', { option: 'String' }],
      ['approval_ref', { option: 'String' }],
      ['status', 'ProjectStatus'],
      ['final_report', { option: HASH }],
    ],
  },
  FundState: {
    struct: [
      ['owner', 'Address'],
      ['inflow', 'u64'],
      ['consumed', 'u64'],
      ['refunded', 'u64'],
      ['outflow', 'u64'],
    ],
  },
  // Refunded ranges [start, end), sorted and disjoint (§2.6); a newtype over the Vec.
  Holes: { vec: { tuple: ['u64', 'u64'] } },
  Donation: {
    struct: [
      ['record', 'RecordId'],
      ['fund', 'FundRef'],
      ['amount', 'Fen'],
      ['refunded', 'Fen'],
      ['start', 'u64'],
    ],
  },
  Listing: { struct: [['reason', 'String'], ['since', 'Timestamp']] },
  GameTotals: {
    struct: [
      ['sales', 'Fen'],
      ['prize', 'Fen'],
      ['issuance_fee', 'Fen'],
      ['welfare_central', 'Fen'],
      ['welfare_local', 'Fen'],
      ['prizes_paid', 'Fen'],
    ],
  },
  WelfareYear: { struct: [['by_purpose', { array: 'u64', len: 5 }]] },
  CharityYear: {
    struct: [
      ['donations', 'Fen'],
      ['grants_in', 'Fen'],
      ['refunds', 'Fen'],
      ['charitable_activity', 'Fen'],
      ['management', 'Fen'],
      ['fundraising', 'Fen'],
      ['grants_out', 'Fen'],
    ],
  },
  SourceKind: { enum: [['Donation'], ['Grant'], ['WelfareAllocation'], ['LotterySales']] },
  SourceRow: { struct: [['record', 'RecordId'], ['kind', 'SourceKind'], ['amount', 'u64']] },
  OutflowKind: { enum: [['Disbursement'], ['Grant'], ['WelfareAllocation']] },
  OutflowRow: {
    struct: [
      ['record', 'RecordId'],
      ['kind', 'OutflowKind'],
      ['end', 'u64'],
      ['amount', 'u64'],
      ['to', { option: { tuple: ['ProjectId', 'u64'] } }],
    ],
  },
  // A refund hole [start, end) on a fund's axis; the start is in the row's key.
  HoleRow: { struct: [['record', 'RecordId'], ['end', 'u64']] },
  Location: { struct: [['height', 'u64'], ['index', 'u32']] },

  // ---- §9.1 trace-row group values as a node stores them: Vec<(u64 position, row)> ----
  SourceRows: { vec: { tuple: ['u64', 'SourceRow'] } }, // family 0x20
  OutflowRows: { vec: { tuple: ['u64', 'OutflowRow'] } }, // family 0x21
  HoleRows: { vec: { tuple: ['u64', 'HoleRow'] } }, // family 0x22, rows in commit order

  // ---- §9.3 write-set proof ----
  WriteSetProof: {
    struct: [
      ['key', 'Bytes'],
      ['value', { option: 'Bytes' }], // None = a deletion
      ['index', 'u64'],
      ['size', 'u64'],
      ['path', { vec: HASH }],
      ['previous_state_hash', HASH],
    ],
  },

  // ---- §13.1 receipt bundles ----
  InclusionProof: { struct: [['leaf_index', 'u64'], ['tree_size', 'u64'], ['path', { vec: HASH }]] },
  ConsistencyProof: { struct: [['old_size', 'u64'], ['new_size', 'u64'], ['path', { vec: HASH }]] },
  ProvenRecord: { struct: [['record', 'Bytes'], ['proof', 'InclusionProof']] },
  CertifiedBlock: {
    struct: [['previous', { option: 'Header' }], ['checkpoint', 'SignedCheckpoint']],
  },
  ValidatorStep: { struct: [['block', 'CertifiedBlock'], ['records', { vec: 'ProvenRecord' }]] },
  Extension: {
    struct: [
      ['validators', { vec: 'ValidatorStep' }],
      ['checkpoint', 'SignedCheckpoint'],
      ['consistency', 'ConsistencyProof'],
    ],
  },
  ReceiptBundle: {
    struct: [
      ['validators', { vec: 'ValidatorStep' }],
      ['block', 'CertifiedBlock'],
      ['record', 'ProvenRecord'],
      ['extensions', { vec: 'Extension' }],
    ],
  },

  // ---- §10.6 trace proofs ----
  Direction: { enum: [['Forward'], ['Reverse']] },
  ProvenRow: { struct: [['block', 'u32'], ['proof', 'WriteSetProof']] },
  BlockRecord: { struct: [['block', 'u32'], ['record', 'ProvenRecord']] },
  TraceProof: {
    struct: [
      ['direction', 'Direction'],
      ['subject', 'RecordId'],
      ['validators', { vec: 'ValidatorStep' }],
      ['blocks', { vec: 'CertifiedBlock' }],
      ['records', { vec: 'BlockRecord' }],
      ['rows', { vec: 'ProvenRow' }],
    ],
  },
};

/** Names of all entries, for iteration (e.g. building `decoders` / `encoders`). */
export const TYPE_NAMES = Object.freeze(Object.keys(SCHEMA));
