/**
 * The evidence pack of a case: one HTML file an auditor can open, read and print, holding the events
 * with their hashes, the SLA explanation and the regulation version as JSON inside it, signed with the
 * service's Ed25519 key, and with each event's inclusion proof to a signed checkpoint of the whole log.
 * Verification needs nothing but the file and the keys the auditor trusts (a pinned fingerprint or the
 * published verifier keys): a pack signed by any other key fails, however consistent it is inside. The chain
 * is recomputed, the signature and the checkpoint checked against trusted keys, every inclusion proof followed
 * to the checkpoint's root, and the readable part compared, as text, with a rendering of the data, so the page
 * cannot say something the data does not. Line-ending changes and a browser's "Save as" (which re-serialises
 * the markup) keep a pack valid: the signed data is read from the embedded JSON, not from the markup. Pure.
 */
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { RegulationFile } from '../../regulations/domain/regulation-schema';
import {
  linkProblem,
  placeProblem,
  storedContentHash,
  verifyChain,
  type ChainVerification,
} from '../../cases/domain/hash-chain';
import { EVENT_TYPES, isEventType } from '../../../events/event-types';
import { hashLeaf, verifyInclusion } from '../../transparency/domain/merkle';
import {
  COSIGNATURE_TYPE,
  ED25519_TYPE,
  parseCheckpoint,
  parseSignedNote,
  rawEd25519,
  verifierKey,
  verifyNote,
  type NoteVerifierKey,
} from '../../transparency/domain/signed-note';
import type { ExplainedDeadline } from './sla-explanation';
import { citeClause, type ClauseCitation } from '../../regulations/domain/clause-citation';
import { parseOffset, TimeZone } from '../../calendar/domain/time-zone';
import type { LimitSpec } from '../../deadlines/domain/limit';
import { isRole, ROLES } from '../../identity/domain/principal';
import { isCaseApplicantActor, type CaseActor } from '../../cases/domain/case-event';
import { ERASED, erasedValue, personalFieldsOf } from '../../personal-data/domain/personal-fields';
import { namesCitizenInClear } from '../../personal-data/domain/citizen-ids';
import { casesNamedIn, ERASURE_STREAM, PERSONAL_DATA_ERASED } from '../../personal-data/domain/erasure';

export const EVIDENCE_FORMAT = 'reglament-evidence/5';
/**
 * Formats this verifier reads, each with the page it was issued with: format 1 (clauses as act ids) and format 2
 * (times as stored, in UTC and in the offset they were written with) stay verifiable; format 3 shows local time;
 * format 4 names the case's applicant acting on their own case by their role alone (the act records no name of theirs);
 * format 5 may carry an erased case's act that the log keeps in clear with that "erased", marked `personalDataErased`
 * (its hash is linked and proved, not recomputed), and carries the case's erasure record, proved in the log, which the
 * mark is honoured under.
 */
const READABLE_FORMATS: readonly string[] = [
  'reglament-evidence/1',
  'reglament-evidence/2',
  'reglament-evidence/3',
  'reglament-evidence/4',
  EVIDENCE_FORMAT,
];
/** Formats whose page shows local time (formats 1 and 2 keep the page they were issued with). */
const LOCAL_TIME_FORMATS: readonly string[] = ['reglament-evidence/3', 'reglament-evidence/4', EVIDENCE_FORMAT];

/** An event as a pack carries it: the case's, or an erasure record. */
interface PackEvent {
  id: string;
  type: string;
  revision: number;
  /** Its place in the verifiable log (leaf + 1). */
  position: number;
  data: unknown;
  metadata: Record<string, unknown>;
}

export interface EvidenceEvent extends PackEvent {
  /**
   * Format 5: an act the log keeps with personal data in clear (recorded before encryption began, or naming the citizen
   * as their token named them) whose case's applicant is erased, carried with that "erased" (every personal field it
   * carries, and the citizen as its actor). Its hash, over what is stored, cannot be recomputed from the pack: it is
   * checked for its place in the chain and by its inclusion proof, and honoured only where an erasure could have put it
   * (an act holding personal data, shown erased, of a case whose applicant is shown erased, recorded before an erasure
   * of the case that the pack carries with its proof in the log).
   */
  personalDataErased?: true;
}

/**
 * Format 5: an erasure of the case's applicant, as the log stores it: a PersonalDataErased event of the
 * `personal-data-erasures` stream that names the case. It holds no personal data, so it is carried whole and its hash
 * recomputed (over the stream's name, its revision, type, data and metadata, as every sealed record's).
 */
export type EvidenceErasure = PackEvent;

export interface EvidencePack {
  format:
    | typeof EVIDENCE_FORMAT
    | 'reglament-evidence/4'
    | 'reglament-evidence/3'
    | 'reglament-evidence/2'
    | 'reglament-evidence/1';
  generatedAt: string;
  generatedBy: { id: string; name: string; roles: string[] };
  case: {
    caseId: string;
    streamId: string;
    serviceId: string;
    versionId: string;
    trackId: string;
    status: string;
    result: { id: string; kind: string } | null;
    receiptNumber: string;
    unit: string;
    applicant: { iin: string; fullName: string };
  };
  regulation: RegulationFile;
  events: EvidenceEvent[];
  /** Format 5: the case's erasure records, when its applicant is erased; their proofs are `transparency.erasures`. */
  erasures?: EvidenceErasure[];
  chain: { valid: boolean; events: number; headHash: string | null; firstBrokenRevision?: number; problem?: string };
  sla: { asOf: string; deadlines: ExplainedDeadline[] };
  /** Each event's inclusion proof (RFC 9162) to a checkpoint of the whole log (a C2SP signed note); absent where the log keeps no tree. */
  transparency?: EvidenceInclusion;
  /** Format 3: the time zone the page shows times in, with its offsets (the calendar's table), so any verifier renders it alike. */
  timeZone?: EvidenceTimeZone;
}

export interface EvidenceTimeZone {
  id: string;
  offsets: { from: string | null; utcOffset: string }[];
}

export interface EvidenceInclusion {
  checkpoint: string;
  events: Array<{ revision: number; leafIndex: number; proof: string[] }>;
  /** Format 5: each erasure record's proof (`erasures`, in order) to the same checkpoint. */
  erasures?: Array<{ revision: number; leafIndex: number; proof: string[] }>;
}

/**
 * The keys an auditor trusts, given explicitly: SPKI fingerprints (hex) and signed-note verifier keys. A verifier key
 * of type 0x01 is the log's (it signs packs and checkpoints, under its name, the log's origin); one of type 0x04 is a
 * witness's (it cosigns checkpoints, and nothing else).
 */
export interface TrustedKeys {
  fingerprints: readonly string[];
  noteKeys: readonly NoteVerifierKey[];
  /**
   * How many of the trusted witnesses must have cosigned the pack's checkpoint; by default one when any witness key is
   * trusted, else none (and the report says the pack is the log's word alone).
   */
  witnesses?: number;
}

export interface SignedEvidencePack extends EvidencePack {
  signature: { algorithm: 'Ed25519'; publicKey: string; keyFingerprint: string; value: string };
}

const SCRIPT_ID = 'reglament-evidence';

/** SHA-256 of the public key (SPKI DER), shown to auditors to compare with the service's published key. */
export function keyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function signedBytes(pack: EvidencePack): Buffer {
  return Buffer.from(canonicalize(pack) ?? '', 'utf8');
}

export function signPack(pack: EvidencePack, privateKey: KeyObject): SignedEvidencePack {
  const publicKey = createPublicKey(privateKey);
  return {
    ...pack,
    signature: {
      algorithm: 'Ed25519',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      keyFingerprint: keyFingerprint(publicKey),
      value: sign(null, signedBytes(pack), privateKey).toString('base64'),
    },
  };
}

/** The pack as its file embeds it: "<" escaped so no string inside the data can close the script element. */
function embeddedJson(pack: SignedEvidencePack): string {
  return JSON.stringify(pack).replace(/</g, '\\u003c');
}

/** The whole file: the readable page with the signed pack embedded as JSON. */
export function renderEvidenceFile(pack: SignedEvidencePack): string {
  const json = embeddedJson(pack);
  return `<!doctype html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n<title>Доказательный пакет — дело ${esc(pack.case.caseId)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${LOCAL_TIME_FORMATS.includes(pack.format) ? renderLocalBody(pack) : renderBody(pack)}\n<script type="application/json" id="${SCRIPT_ID}">${json}</script>\n</body>\n</html>\n`;
}

export interface EvidenceCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** Passed, with something the auditor should know (the checkpoint vouched for by no witness). */
  warning?: true;
}

export interface EvidenceVerification {
  valid: boolean;
  caseId: string | null;
  keyFingerprint: string | null;
  checks: EvidenceCheck[];
}

/** The embedded pack, wherever a browser's re-serialisation put the script element's attributes. */
const EMBEDDED = new RegExp(`<script\\b[^>]*\\bid\\s*=\\s*["']?${SCRIPT_ID}["']?[^>]*>([\\s\\S]*?)</script\\s*>`, 'i');

/** The comment a browser's "Save as… Webpage, complete" writes first (the mark of the web): no part of the page. */
const SAVED_FROM = /^\s*<!-- saved from url=\(\d{4}\)[^<>-]* -->/;
/** The character references this service writes (esc) and a browser's "Save as" writes (&nbsp; among them). */
const REFERENCES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  '#39': "'",
  '#x27': "'",
  nbsp: '\u00a0',
};
const REFERENCE = /&([a-z0-9#]+);/iy;
const START_TAG = /<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*>/y;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const END_TAG = /<\/([a-zA-Z][a-zA-Z0-9]*)\s*>/y;
const DOCTYPE = /<!doctype\s+html\s*>/iy;

/** The text with its character references decoded, or null when it holds one this service never writes. */
function decodeStrict(text: string): string | null {
  let out = '';
  let at = 0;
  for (let amp = text.indexOf('&'); amp >= 0; amp = text.indexOf('&', at)) {
    REFERENCE.lastIndex = amp;
    const reference = REFERENCE.exec(text);
    const decoded = reference ? REFERENCES[reference[1]!.toLowerCase()] : undefined;
    if (decoded === undefined) return null;
    out += text.slice(at, amp) + decoded;
    at = amp + reference![0].length;
  }
  return out + text.slice(at);
}

/** A page this service could not have written, and where: its pack is not valid. */
class ForeignMarkup extends Error {}

/**
 * The page as the sequence a reader's browser builds it from: each start tag (name, attributes decoded, in name order),
 * each end tag, each run of text (references decoded, white space collapsed; white space alone dropped), the text of
 * its style and script elements (the embedded evidence's only as its place). The service writes its pages with a small
 * grammar: anything outside it (a comment, a `<` that opens no element, an end tag with attributes, a character
 * reference the service does not write) is refused rather than guessed at, since where a browser and a pattern part
 * ways is where a forged page hides its words. A browser's re-serialisation (letter case, quotes, attribute order,
 * line endings, `&nbsp;`) gives the same sequence; another element, attribute, style rule, script or word does not.
 */
export function pageTokens(html: string): string[] {
  const page = html
    .replace(/^\uFEFF/, '')
    .replace(SAVED_FROM, '')
    .replace(/\r\n?/g, '\n');
  const tokens: string[] = [];
  let text = '';
  const where = (at: number) => `at character ${at}: ${JSON.stringify(page.slice(at, at + 40))}`;
  const flush = () => {
    const collapsed = text.replace(/[\s\u00a0]+/g, ' ').trim();
    if (collapsed) tokens.push(`#${collapsed}`);
    text = '';
  };
  const addText = (raw: string, at: number) => {
    const decoded = decodeStrict(raw);
    if (decoded === null) throw new ForeignMarkup(`a character reference this service does not write ${where(at)}`);
    text += decoded;
  };
  let at = 0;
  while (at < page.length) {
    const open = page.indexOf('<', at);
    addText(page.slice(at, open < 0 ? page.length : open), at);
    if (open < 0) break;
    DOCTYPE.lastIndex = END_TAG.lastIndex = START_TAG.lastIndex = open;
    const doctype = DOCTYPE.exec(page);
    const endTag = doctype ? null : END_TAG.exec(page);
    const startTag = doctype || endTag ? null : START_TAG.exec(page);
    flush();
    if (doctype) {
      tokens.push('<!doctype html>');
      at = DOCTYPE.lastIndex;
    } else if (endTag) {
      tokens.push(`</${endTag[1]!.toLowerCase()}>`);
      at = END_TAG.lastIndex;
    } else if (startTag) {
      const name = startTag[1]!.toLowerCase();
      const attributes = [...startTag[2]!.matchAll(ATTRIBUTE)].map((a) => {
        const value = decodeStrict(a[2] ?? a[3] ?? a[4] ?? '');
        if (value === null) throw new ForeignMarkup(`a character reference this service does not write ${where(open)}`);
        return `${a[1]!.toLowerCase()}=${JSON.stringify(value)}`;
      });
      tokens.push(`<${[name, ...attributes.sort()].join(' ')}>`);
      at = START_TAG.lastIndex;
      if (name === 'script' || name === 'style') {
        // Raw text up to where a browser ends it (`</script` then a space, `/` or `>`), which must be a plain end tag.
        const close = new RegExp(`</${name}(?=[\\s/>])`, 'ig');
        close.lastIndex = at;
        const closing = close.exec(page);
        if (!closing) throw new ForeignMarkup(`a ${name} element that does not end ${where(open)}`);
        END_TAG.lastIndex = closing.index;
        if (!END_TAG.exec(page)) throw new ForeignMarkup(`an end tag with more in it ${where(closing.index)}`);
        const evidence = name === 'script' && attributes.includes(`id=${JSON.stringify(SCRIPT_ID)}`);
        tokens.push(evidence ? `(${SCRIPT_ID})` : `~${page.slice(at, closing.index).replace(/\s+/g, ' ').trim()}`);
        tokens.push(`</${name}>`);
        at = END_TAG.lastIndex;
      }
    } else {
      throw new ForeignMarkup(
        page.startsWith('<!--', open)
          ? `a comment ${where(open)}`
          : `a "<" that opens no element this service writes ${where(open)}`,
      );
    }
  }
  flush();
  return tokens;
}

/** Where a pack's page first differs from a rendering of its data, in a few words; null when it does not. */
function pageDifference(file: string, rendering: string): string | null {
  let found: string[];
  try {
    found = pageTokens(file);
  } catch (error) {
    if (error instanceof ForeignMarkup) return `the page holds markup this service does not write (${error.message})`;
    throw error;
  }
  const expected = pageTokens(rendering);
  const short = (token: string | undefined) =>
    token === undefined
      ? 'nothing'
      : JSON.stringify(token.length > 100 ? `${token.slice(0, 100)}…` : token).replace(/^"#/, '"');
  for (let i = 0; i < Math.max(found.length, expected.length); i++)
    if (found[i] !== expected[i]) {
      const what = found[i]?.startsWith('#') || expected[i]?.startsWith('#') ? 'text' : 'markup';
      return `the page's ${what} differs from a rendering of the embedded data: ${short(found[i])} where the rendering has ${short(expected[i])}`;
    }
  return null;
}

/** Verifies a pack file offline against the keys the auditor trusts: embedded data, chain, signature, checkpoint, inclusion, readable page. */
export function verifyEvidenceFile(file: string, trust: TrustedKeys): EvidenceVerification {
  const checks: EvidenceCheck[] = [];
  const check = (name: string, ok: boolean, detail: string, warning = false) =>
    checks.push({ name, ok, detail, ...(warning ? { warning: true as const } : {}) });
  const refused = (detail: string): EvidenceVerification => ({
    valid: false,
    caseId: null,
    keyFingerprint: null,
    checks: [{ name: 'format', ok: false, detail }],
  });
  const match = EMBEDDED.exec(file);
  if (!match) return refused(`no embedded evidence (script#${SCRIPT_ID}); this is not a reglament evidence pack`);
  let pack: SignedEvidencePack;
  try {
    pack = JSON.parse(match[1]!) as SignedEvidencePack;
  } catch (error) {
    return refused(`the embedded evidence is not JSON: ${(error as Error).message}`);
  }
  // The evidence exactly as this service writes it: two members of one name (JSON.parse keeps the last; another reader
  // the first), members in the signature that nothing signs, or text a browser reads otherwise (a raw "<" ending the
  // script early) would make the file say more than what is verified.
  if (match[1] !== embeddedJson(pack))
    return refused(
      'the embedded evidence is not as this service writes it (a member given twice, or the JSON rewritten): what other readers take from it may not be what is verified',
    );
  const readable = READABLE_FORMATS.includes(pack.format);
  check(
    'format',
    readable,
    `format ${String(pack.format)}${readable ? '' : `, expected ${READABLE_FORMATS.join(' or ')}`}`,
  );
  if (!readable) return { valid: false, caseId: null, keyFingerprint: null, checks };
  const shape = shapeProblem(pack);
  if (shape) {
    check('format', false, `the embedded evidence is not in the shape of a pack: ${shape}`);
    return { valid: false, caseId: null, keyFingerprint: null, checks };
  }

  const { chain, marked } = packChain(pack);
  check(
    'hash chain',
    chain.valid,
    !chain.valid
      ? `broken at revision ${chain.firstBrokenRevision}: ${chain.problem}`
      : marked.length === 0
        ? `${chain.events} events, every hash recomputed and linked`
        : `${chain.events} events, every hash linked and ${chain.events - marked.length} recomputed; ${marked.length} act(s) recorded in clear whose applicant was erased (${revisions(marked)}) are shown "erased" (marked personalDataErased): their hashes, over what the log stores, cannot be recomputed from the pack, so what the pack shows of them (type, step, actor, times, and data other than the personal fields) is the service's word; their place in the log is proved by their inclusion proofs, and the erasure they are shown under by its record`,
    chain.valid && marked.length > 0,
  );
  const head = pack.events.at(-1)?.metadata.hash ?? null;
  check(
    'head hash',
    head === pack.chain.headHash,
    `the last event's hash ${String(head)}${head === pack.chain.headHash ? ' is the head the service reported' : ` differs from the reported head ${String(pack.chain.headHash)}`}`,
  );
  check(
    'case',
    pack.events.every((e) => e.metadata.caseId === pack.case.caseId),
    'every event names this case',
  );

  let fingerprint: string | null = null;
  let signer: Signer | null = null;
  try {
    const { signature, ...unsigned } = pack;
    const publicKey = createPublicKey(signature.publicKey);
    fingerprint = keyFingerprint(publicKey);
    const ok =
      signature.algorithm === 'Ed25519' &&
      verify(null, signedBytes(unsigned), publicKey, Buffer.from(signature.value, 'base64'));
    check(
      'signature',
      ok,
      ok
        ? `Ed25519 signature valid; key fingerprint ${fingerprint}`
        : 'the signature does not match the content: the pack was changed after it was issued',
    );
    const raw = rawEd25519(publicKey);
    const sameKey = (k: NoteVerifierKey) => rawEd25519(k.publicKey).equals(raw);
    // Only the log's keys issue packs: a witness's key (type 0x04) cosigns checkpoints and nothing else, so a pack a
    // witness signed is no more the log's than one signed by anybody.
    const logKeys = trust.noteKeys.filter((k) => k.type === ED25519_TYPE && sameKey(k));
    const trusted = trust.fingerprints.includes(fingerprint) || logKeys.length > 0;
    const witnessKey = !trusted && trust.noteKeys.some((k) => k.type === COSIGNATURE_TYPE && sameKey(k));
    check(
      'signing key',
      trusted,
      trusted
        ? `the key ${fingerprint} is one you trust`
        : witnessKey
          ? `signed with key ${fingerprint}, which you trust as a witness's (a cosigner key, type 0x04), not as the log's: a witness cosigns the log's checkpoints, it issues no packs`
          : `signed with key ${fingerprint}, which is not among the keys you trust (${trust.fingerprints.length} fingerprint(s), ${trust.noteKeys.length} verifier key(s)): anyone can sign a pack with a key of their own; compare with the service's published keys`,
    );
    if (trusted) signer = { key: publicKey, origins: logKeys.map((k) => k.name) };
  } catch (error) {
    check('signature', false, `no usable signature: ${(error as Error).message}`);
  }

  let checkpoint: PackCheckpoint | null = null;
  try {
    checkpoint = checkInclusion(pack, trust, signer, check);
  } catch (error) {
    // A pack edited into another shape: the proofs are unreadable, which is a failed check, not a crash.
    check('inclusion', false, `the inclusion proofs cannot be read: ${(error as Error).message}`);
  }

  const erasureProofs = (pack.transparency as { erasures?: unknown } | undefined)?.erasures;
  if (pack.format === EVIDENCE_FORMAT && (marked.length > 0 || pack.erasures !== undefined)) {
    try {
      checkErasure(pack, marked, checkpoint, check);
    } catch (error) {
      check('erasure record', false, `the erasure record cannot be read: ${(error as Error).message}`);
    }
  } else if (erasureProofs !== undefined)
    // The page names each proof as an erasure's: proofs of records the pack does not carry (or a format that carries
    // none) would show an erasure that nothing checked.
    check(
      'erasure record',
      false,
      `the pack proves erasure records it does not carry${pack.format === EVIDENCE_FORMAT ? '' : ` (${pack.format} carries none)`}`,
    );

  try {
    const difference = pageDifference(file, renderEvidenceFile(pack));
    check(
      'readable page',
      difference === null,
      difference === null
        ? 'the page shows exactly what the data holds'
        : `${difference}: what it shows may not be what the data holds`,
    );
  } catch (error) {
    // Data edited into a shape the page cannot be drawn from: a failed check, not a crash of the verifier.
    check('readable page', false, `the embedded data cannot be rendered as a page: ${(error as Error).message}`);
  }
  return { valid: checks.every((c) => c.ok), caseId: pack.case.caseId, keyFingerprint: fingerprint, checks };
}

/** "revision 3", "revisions 0, 1". */
const revisions = (list: readonly number[]) => `revision${list.length === 1 ? '' : 's'} ${list.join(', ')}`;

/**
 * The pack's chain: every event's revision and link, and its hash recomputed, except for the acts format 5 marks as
 * shown with their personal data erased (`marked`, their revisions), whose content is not the one hashed: each must be
 * one an erasure can have put so (markProblem). Older formats mark none.
 */
function packChain(pack: SignedEvidencePack): { chain: ChainVerification; marked: number[] } {
  const events = pack.events.map((e) => ({ ...e, streamId: pack.case.streamId }));
  const erased = (e: EvidenceEvent) => pack.format === EVIDENCE_FORMAT && e.personalDataErased === true;
  const marked = pack.events.filter(erased).map((e) => e.revision);
  if (marked.length === 0) return { chain: verifyChain(events), marked };
  let previous: string | null = null;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const problem = erased(event)
      ? (placeProblem(event, i, previous) ?? markProblem(event, pack.case.applicant))
      : linkProblem(event, i, previous);
    if (problem) return { chain: { valid: false, events: events.length, firstBrokenRevision: i, problem }, marked };
    previous = event.metadata.hash as string;
  }
  return { chain: { valid: true, events: events.length }, marked };
}

const sameJson = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);

/**
 * Why an act cannot be one an erasure shows "erased", or null. The mark lets its content go unrecomputed, so it stands
 * only where there was personal data in clear to erase (a personal field its type declares, or the citizen named as
 * their token named them as its actor), every bit of it reads "erased", and the case's applicant reads erased too:
 * anywhere else it would let the key's holder rewrite an act and keep the pack valid.
 */
function markProblem(event: EvidenceEvent, applicant: unknown): string | null {
  const fields = personalFieldsOf(event.type);
  const data = isObject(event.data) ? event.data : {};
  const carried = Object.keys(fields).filter((field) => data[field] !== undefined);
  const actor = isObject(event.metadata.actor) ? (event.metadata.actor as unknown as CaseActor) : undefined;
  const role = actor?.role;
  const citizen = namesCitizenInClear(actor);
  const reasons: string[] = [];
  if (carried.length === 0 && !citizen) {
    const declared = Object.keys(fields);
    reasons.push(
      `a ${event.type} act by ${role === undefined ? 'nobody named' : `a ${String(role)}`} that carries ${declared.length === 0 ? 'no personal field (its type declares none)' : `none of its type's personal fields (${declared.join(', ')})`} holds no personal data to erase`,
    );
  }
  const shownInClear = carried.filter((field) => !sameJson(data[field], erasedValue(fields[field]!)));
  if (shownInClear.length > 0)
    reasons.push(
      `its personal field${shownInClear.length === 1 ? '' : 's'} ${shownInClear.join(', ')} ${shownInClear.length === 1 ? 'does' : 'do'} not read "erased"`,
    );
  if (citizen && (actor.id !== ERASED || actor.name !== ERASED))
    reasons.push('its actor, the citizen as their token named them, does not read "erased"');
  if (!sameJson(applicant, erasedValue('person'))) reasons.push("the case's applicant is not shown erased");
  return reasons.length === 0
    ? null
    : `it is marked personalDataErased, but ${reasons.join('; ')}: only an act that held personal data, shown "erased", of a case whose applicant is erased can be shown so`;
}

/** The checkpoint the pack's proofs lead to, as read from it (whether it is trusted is the checkpoint check's). */
interface PackCheckpoint {
  size: number;
  root: Buffer;
}

/**
 * Binds format 5's mark to an erasure the log records: the pack must carry an erasure record (a PersonalDataErased
 * event of the erasure stream) whose hash is recomputed from what it holds, which names this case, and whose inclusion
 * proof leads to the checkpoint the case's events are proved against; every marked act must precede it in the log. An
 * operator who wants to rewrite an act of a case this way must first record its erasure in the log, for every holder
 * of a later checkpoint to see. Every record carried must hold, whether or not an act is marked.
 */
function checkErasure(
  pack: SignedEvidencePack,
  marked: readonly number[],
  checkpoint: PackCheckpoint | null,
  check: (name: string, ok: boolean, detail: string, warning?: boolean) => void,
): void {
  const caseId = pack.case.caseId;
  const records = pack.erasures ?? [];
  const proofs = pack.transparency?.erasures ?? [];
  const problems: string[] = [];
  const proved: { record: EvidenceErasure; leafIndex: number }[] = [];
  if (!Array.isArray(records) || !Array.isArray(proofs)) throw new Error('erasures, or their proofs, are not lists');
  if (proofs.length !== records.length)
    problems.push(`${records.length} erasure record(s) but ${proofs.length} proof(s)`);
  records.forEach((record, j) => {
    const name = `erasure record ${j} (${ERASURE_STREAM} revision ${String(record.revision)})`;
    const found: string[] = [];
    if (record.type !== PERSONAL_DATA_ERASED) found.push(`is a ${String(record.type)}, not a ${PERSONAL_DATA_ERASED}`);
    if (!casesNamedIn(record.data).includes(caseId)) found.push(`does not name case ${caseId}`);
    const hash =
      typeof record.metadata.hash === 'string' && HEX64.test(record.metadata.hash) ? record.metadata.hash : null;
    const recomputed = storedContentHash({ ...record, streamId: ERASURE_STREAM });
    if (hash === null) found.push('carries no sealed hash');
    else if (hash !== recomputed) found.push(`its hash ${hash} is not its content's (recomputed ${recomputed})`);
    const proof = proofs[j];
    if (!proof || proof.revision !== record.revision || proof.leafIndex !== record.position - 1)
      found.push(`has no inclusion proof for its place in the log (position ${String(record.position)})`);
    else if (!checkpoint) found.push('has no checkpoint to prove its inclusion proof against');
    else if (hash !== null) {
      if (proof.leafIndex >= checkpoint.size)
        found.push(
          `is at leaf ${proof.leafIndex}, not in the log before the pack's checkpoint of ${checkpoint.size} events`,
        );
      const verified = verifyInclusion(
        hashLeaf(Buffer.from(hash, 'hex')),
        proof.leafIndex,
        checkpoint.size,
        (proof.proof ?? []).map((p) => Buffer.from(p, 'base64')),
        checkpoint.root,
      );
      if (!verified.ok) found.push(`its inclusion proof does not lead to the checkpoint: ${verified.problem}`);
    }
    if (found.length > 0) problems.push(`${name}: ${found.join('; ')}`);
    else proved.push({ record, leafIndex: proof!.leafIndex });
  });
  if (marked.length > 0 && records.length === 0)
    problems.push(
      `${revisions(marked)} ${marked.length === 1 ? 'is' : 'are'} marked personalDataErased, but the pack carries no erasure record of this case: nothing in the log shows the case erased, so the mark would be the word of the key's holder alone`,
    );
  const last = proved.reduce<(typeof proved)[number] | null>((l, p) => (l && l.leafIndex > p.leafIndex ? l : p), null);
  if (last) {
    const after = pack.events.filter((e) => marked.includes(e.revision) && e.position - 1 >= last.leafIndex);
    if (after.length > 0)
      problems.push(
        `${revisions(after.map((e) => e.revision))} ${after.length === 1 ? 'is' : 'are'} marked personalDataErased but recorded after the case's erasure (position ${last.record.position}): no erasure can have erased ${after.length === 1 ? 'it' : 'them'}`,
      );
  }
  // A marked act's hash is not recomputed from what the pack shows: only the erasure that names it, by its case, revision
  // and stored hash, binds it to the act the log holds. Without that, the end of the chain could be any leaf of the log
  // (another case's act, proved as it is) shown as this case's, with any type and data (a review's forgery).
  const named = new Set(
    proved.flatMap(({ record }) => {
      const acts = (record.data as Record<string, unknown>).clearActs;
      return Array.isArray(acts)
        ? acts.filter(isObject).map((a) => `${String(a.caseId)}\n${String(a.revision)}\n${String(a.hash)}`)
        : [];
    }),
  );
  const unnamed = pack.events.filter(
    (e) => marked.includes(e.revision) && !named.has(`${caseId}\n${e.revision}\n${String(e.metadata.hash)}`),
  );
  if (unnamed.length > 0)
    problems.push(
      `${revisions(unnamed.map((e) => e.revision))} ${unnamed.length === 1 ? 'is' : 'are'} marked personalDataErased, but no proven erasure record names ${unnamed.length === 1 ? 'its' : 'their'} hash among the acts of this case it leaves in clear (clearActs; an erasure recorded before they were named names none): nothing binds what the pack shows there to the act the log holds`,
    );
  if (problems.length > 0) {
    check('erasure record', false, problems.join('; '));
    return;
  }
  const described = proved.map(({ record }) => {
    const data = record.data as Record<string, unknown>;
    return `position ${record.position} of the log (${ERASURE_STREAM} revision ${record.revision}, recorded ${String(record.metadata.recordedAt)}; basis ${JSON.stringify(data.basis)}, ${JSON.stringify(data.reference)}, by ${JSON.stringify(data.by)})`;
  });
  check(
    'erasure record',
    true,
    `the case's applicant was erased by the record at ${described.join(' and at ')}: its hash recomputed, it names this case, and its inclusion proof leads to the pack's checkpoint; ${marked.length === 0 ? 'no act is shown erased' : `the acts shown erased (${revisions(marked)}) precede it in the log, each named by it with its hash`}`,
  );
}

const HEX64 = /^[0-9a-f]{64}$/;

const SIGNATURE_MEMBERS: readonly string[] = ['algorithm', 'publicKey', 'keyFingerprint', 'value'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** An event as the verifier reads it (the case's, or an erasure record): an object with revision, position, type, metadata. */
const isPackEvent = (e: unknown): boolean =>
  isObject(e) &&
  isObject(e.metadata) &&
  Number.isInteger(e.revision) &&
  Number.isInteger(e.position) &&
  typeof e.type === 'string';

/** What in the embedded data is not where verification reads it, or null: a damaged pack fails, it does not crash. */
function shapeProblem(pack: SignedEvidencePack): string | null {
  if (!isObject(pack.case) || typeof pack.case.caseId !== 'string' || typeof pack.case.streamId !== 'string')
    return 'case, with its caseId and streamId, is missing';
  if (!Array.isArray(pack.events)) return 'events is not a list';
  const bad = pack.events.findIndex((e) => !isPackEvent(e));
  if (bad >= 0) return `events[${bad}] is not an event (an object with its revision, position, type and metadata)`;
  if (!isObject(pack.chain)) return 'chain is missing';
  if (!isObject(pack.sla) || !Array.isArray(pack.sla.deadlines)) return 'sla, with its deadlines, is missing';
  if (!isObject(pack.signature)) return 'signature is missing';
  const unsigned = Object.keys(pack.signature).filter((k) => !SIGNATURE_MEMBERS.includes(k));
  if (unsigned.length > 0) return `signature holds ${unsigned.join(', ')}, which nothing signs`;
  if (pack.transparency !== undefined && !isObject(pack.transparency)) return 'transparency is not an object';
  if (pack.erasures !== undefined) {
    if (!Array.isArray(pack.erasures)) return 'erasures is not a list';
    const badRecord = pack.erasures.findIndex((e) => !isPackEvent(e));
    if (badRecord >= 0)
      return `erasures[${badRecord}] is not an event (an object with its revision, position, type and metadata)`;
  }
  return null;
}

/**
 * The trusted key that signed the pack, and the logs its verifier keys name (none when it is trusted by fingerprint
 * alone, which pins the key and not the log's name).
 */
interface Signer {
  key: KeyObject;
  origins: string[];
}

/**
 * The checkpoint must be the log's (signed by a trusted log key under the log's own name), cosigned by as many trusted
 * witnesses as are required, and every event's proof must lead from its hash to its root.
 */
function checkInclusion(
  pack: SignedEvidencePack,
  trust: TrustedKeys,
  signer: Signer | null,
  check: (name: string, ok: boolean, detail: string, warning?: boolean) => void,
): PackCheckpoint | null {
  const inclusion = pack.transparency;
  const witnessKeys = trust.noteKeys.filter((k) => k.type === COSIGNATURE_TYPE);
  const required = trust.witnesses ?? (witnessKeys.length > 0 ? 1 : 0);
  if (!inclusion && pack.format === 'reglament-evidence/1') {
    // Format 1 was issued before the log had signed checkpoints. Taking it as valid let whoever holds the log's key
    // issue a pack of any history in format 1, with no checkpoint a witness could contradict.
    check(
      'checkpoint',
      false,
      "format 1 predates the verifiable log and carries no inclusion proofs: it shows only that the log's key signed it, not that its events are the ones the log holds for everyone; ask for a pack in the current format, or check each event with GET /api/transparency/proofs/inclusion?eventId=… against a checkpoint your witness holds",
    );
    return null;
  }
  if (!inclusion || typeof inclusion.checkpoint !== 'string' || !Array.isArray(inclusion.events)) {
    check(
      'checkpoint',
      false,
      'the pack carries no inclusion proofs to a signed checkpoint: nothing shows these events are the ones the log holds for everyone',
    );
    return null;
  }
  const origin = inclusion.checkpoint.split('\n', 1)[0] ?? '';
  // The checkpoint is the log's when the key that signed the pack signed it under the log's own name: a verifier key
  // names the log (c2sp.org/tlog-checkpoint: the key's name is the origin), so a checkpoint of another log signed with
  // the same key (a staging log, say) is not taken for this one; a key pinned by fingerprint alone names no log.
  const logKeys: NoteVerifierKey[] = [];
  if (signer && (signer.origins.length === 0 || signer.origins.includes(origin))) {
    try {
      logKeys.push(verifierKey(origin, signer.key));
    } catch {
      // An origin that is no key name: no key verifies the note.
    }
  }
  const note = verifyNote(inclusion.checkpoint, [...logKeys, ...witnessKeys]);
  // An untrusted checkpoint fails its check, and the proofs are still followed, so the report says all that is wrong.
  const parsedNote = parseSignedNote(inclusion.checkpoint);
  const checkpoint = parseCheckpoint(note.ok ? note.body : parsedNote.ok ? parsedNote.value.body : '');
  if (!checkpoint.ok) {
    check('checkpoint', false, note.ok ? checkpoint.problem : note.problem);
    return null;
  }
  const { size, root, time } = checkpoint.value;
  // A note verifies only with a log key's signature (verifyNote): cosignatures alone never make it ok.
  if (note.ok)
    check(
      'checkpoint',
      true,
      `signed by ${note.verifiedBy.map((k) => `${k.name} (${k.keyId.toString('hex')})`).join(', ')}: ${size} events, root ${root.toString('base64')}, ${time.toISOString()}${signer?.origins.length ? '' : `; the log's name ${origin} is not pinned by a fingerprint (a verifier key pins it)`}`,
    );
  else
    check(
      'checkpoint',
      false,
      signer && signer.origins.length > 0 && !signer.origins.includes(origin)
        ? `the checkpoint is of the log ${origin}, not of the log your key names (${signer.origins.join(', ')})`
        : note.problem,
    );
  const cosigners = note.ok ? [...new Set(note.cosignedBy.map((c) => c.key.name))] : [];
  check(
    'witnesses',
    cosigners.length >= required,
    cosigners.length > 0
      ? `cosigned by ${cosigners.join(', ')} (${cosigners.length} of the ${witnessKeys.length} witness(es) you trust; ${required} required)`
      : required > 0
        ? `cosigned by none of the ${witnessKeys.length} witness(es) you trust (${required} required): nobody but the log's key vouches for this checkpoint`
        : "no witness key given: the checkpoint is the log's own word; a history its operator rewrote and signed again would check out too. Trust a witness's key (--trusted-keys) to require its cosignature",
    cosigners.length === 0 && required === 0,
  );
  const problems: string[] = [];
  if (inclusion.events.length !== pack.events.length)
    problems.push(`${pack.events.length} events but ${inclusion.events.length} proofs`);
  pack.events.forEach((event, i) => {
    const proof = inclusion.events[i];
    if (!proof || proof.revision !== event.revision || proof.leafIndex !== event.position - 1)
      return problems.push(`revision ${event.revision}: no proof for its place in the log`);
    const hash =
      typeof event.metadata.hash === 'string' && /^[0-9a-f]{64}$/.test(event.metadata.hash)
        ? event.metadata.hash
        : null;
    if (!hash) return problems.push(`revision ${event.revision}: no sealed hash`);
    const verified = verifyInclusion(
      hashLeaf(Buffer.from(hash, 'hex')),
      proof.leafIndex,
      size,
      (proof.proof ?? []).map((p) => Buffer.from(p, 'base64')),
      root,
    );
    if (!verified.ok) problems.push(`revision ${event.revision}: ${verified.problem}`);
    return undefined;
  });
  check(
    'inclusion',
    problems.length === 0,
    problems.length === 0 ? `every event is in the signed log of ${size} events, at its position` : problems.join('; '),
  );
  return { size, root };
}

function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const label = (type: string) => (isEventType(type) ? `${EVENT_TYPES[type].ru} / ${EVENT_TYPES[type].kk}` : type);

/** The page of formats 1 and 2, unchanged: their packs are verified against the page they were issued with. */
function renderBody(pack: SignedEvidencePack): string {
  const c = pack.case;
  const rows = pack.events
    .map((e) => {
      const m = e.metadata as Record<string, any>;
      return `<tr><td>${e.revision}</td><td>${esc(label(e.type))}<br><code>${esc(e.type)}</code></td><td>${esc(m.stepId)}</td><td>${esc(m.actor?.name)} (${esc(m.actor?.role)}${m.actor?.unit ? `, ${esc(m.actor.unit)}` : ''})</td><td>${esc(m.occurredAt)}</td><td>${esc(m.recordedAt)}${m.backDated ? '<br><b>задним числом / кейінгі күнмен</b>' : ''}</td><td>${clauseCell(pack.format, m.regulation?.clause)}</td><td><code>${esc(JSON.stringify(e.data))}</code></td><td class="hash"><code>${esc(m.hash)}</code><br>← <code>${esc(m.previousHash ?? '—')}</code></td></tr>`;
    })
    .join('\n');
  const deadlines = pack.sla.deadlines
    .map((d) => {
      const days = (d.applied.explanation?.days ?? [])
        .map(
          (day) =>
            `${esc(day.date)} ${day.counted ? `✓${day.ordinal}` : `✗ ${esc(day.reason?.name)} (${esc(day.reason?.source)})`}`,
        )
        .join('<br>');
      const alt = d.alternative
        ? `<br><i>иное прочтение / басқа оқылым:</i> ${esc(d.alternative.spec)} — ${esc(d.alternative.clauseText)}: ${esc(d.alternative.deadline ?? '—')} (${esc(d.alternative.status)})`
        : '';
      return `<tr><td>${esc(d.stepId)} / ${esc(d.limitId)}</td><td>${d.citation ? citedCell(d.citation, d.clause.track) : esc(d.clauseText)}</td><td>${esc(d.applied.spec)}<br>${esc(d.applied.explanation?.rule)}${alt}</td><td>${d.anchorEvent ? `#${d.anchorEvent.revision} ${esc(d.anchorEvent.type)} ${esc(d.anchorEvent.occurredAt)}` : esc(d.startedAt)}</td><td>${esc(d.applied.explanation?.deadlineLocal ?? d.deadline ?? '—')}</td><td>${esc(d.completedAt ?? '—')}</td><td class="status-${esc(d.status)}">${esc(d.status)}</td><td class="days">${days}</td></tr>`;
    })
    .join('\n');
  return `<h1>Доказательный пакет дела / Істің дәлелдемелер пакеті</h1>
<p>Дело / Іс: <code>${esc(c.caseId)}</code> · расписка ${esc(c.receiptNumber)} · ${esc(c.serviceId)} · ${esc(c.versionId)} · ${esc(c.trackId)} · подразделение ${esc(c.unit)}</p>
<p>Заявитель / Өтініш беруші: ${esc(c.applicant.fullName)}, ИИН ${esc(c.applicant.iin)} · статус: <b>${esc(c.status)}</b>${c.result ? ` (${esc(c.result.id)}, ${esc(c.result.kind)})` : ''}</p>
<p>Регламент / Регламент: ${esc(pack.regulation.title.ru)} — ${esc(pack.regulation.act.title)}; в силе ${esc(pack.regulation.effective.from)} — ${esc(pack.regulation.effective.until ?? '…')}</p>
<p>Сформирован / Құрылды: ${esc(pack.generatedAt)}, ${esc(pack.generatedBy.name)} (${esc(pack.generatedBy.id)}) · цепочка хешей / хэш тізбегі: <b>${pack.chain.valid ? 'целостна / бүтін' : `нарушена на ревизии ${esc(pack.chain.firstBrokenRevision)}`}</b>, ${pack.chain.events} событий, последний хеш <code>${esc(pack.chain.headHash)}</code></p>
<p>Подпись / Қолтаңба: Ed25519, отпечаток ключа <code>${esc(pack.signature.keyFingerprint)}</code></p>
${pack.format === 'reglament-evidence/1' ? '' : renderCheckpoint(pack.transparency)}
<h2>События / Оқиғалар</h2>
<table><thead><tr><th>#</th><th>событие</th><th>шаг</th><th>исполнитель</th><th>произошло</th><th>записано</th><th>пункт</th><th>данные</th><th>хеш ← предыдущий</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Сроки / Мерзімдер (на ${esc(pack.sla.asOf)})</h2>
<table><thead><tr><th>шаг / срок</th><th>пункт</th><th>правило</th><th>начало отсчёта</th><th>срок истекает</th><th>выполнено</th><th>статус</th><th>дни</th></tr></thead><tbody>
${deadlines}
</tbody></table>`;
}

/** Russian and Kazakh, as the page writes every word of its own. */
const both = (ru: string, kk: string) => (ru === kk ? ru : `${ru} / ${kk}`);

/** What the page says under the hash of an act shown with its personal data erased (format 5). */
const ERASED_ACT = both(
  'персональные данные стёрты: хеш не пересчитывается по пакету; тип, шаг, исполнитель, время и прочие данные — со слов службы; место в журнале подтверждено доказательством включения',
  'дербес деректер өшірілді: хэш пакет бойынша қайта есептелмейді; түрі, қадамы, орындаушысы, уақыты және өзге деректері — қызметтің сөзі; журналдағы орны енгізу дәлелімен расталған',
);

/** The case's erasure records, as the page of format 5 names them: where the log holds each, when, on what basis. */
function renderErasures(pack: SignedEvidencePack, at: (iso: unknown) => string): string {
  if (pack.format !== EVIDENCE_FORMAT || !pack.erasures) return '';
  return pack.erasures
    .map((e) => {
      const data = (isObject(e.data) ? e.data : {}) as Record<string, unknown>;
      return `\n<p>Удаление персональных данных / Дербес деректерді өшіру: запись журнала / журнал жазбасы № ${esc(e.position)} (${ERASURE_STREAM}, ревизия / нұсқа ${esc(e.revision)}), ${at(e.metadata.recordedAt)}; основание / негіз: ${esc(data.basis)}; ${esc(data.reference)}; ${esc(data.by)}</p>`;
    })
    .join('');
}

const SLA_STATUS: Record<string, [string, string]> = {
  met: ['в срок', 'мерзімінде'],
  breached: ['нарушен', 'бұзылды'],
  open: ['идёт', 'жүріп жатыр'],
  overdue: ['просрочен', 'мерзімі өткен'],
  'not-applicable': ['не применяется', 'қолданылмайды'],
  waiting: ['ждёт даты отсчёта', 'есептеу басталатын күнді күтуде'],
};
/** What a row without a clock waits for: the date its anchor names, not recorded in the case yet. */
const waitingFor = (anchor: ExplainedDeadline['anchor']): string =>
  `${both('ждёт даты', 'күнді күтуде')}: <code>${esc('cohortDate' in anchor ? anchor.cohortDate : 'stepDataDate' in anchor ? `${anchor.stepDataDate.step}.${anchor.stepDataDate.field}` : 'step' in anchor ? anchor.step : anchor.stepStarted)}</code>`;
const CASE_STATUS: Record<string, [string, string]> = {
  open: ['в работе', 'жұмыста'],
  completed: ['завершено', 'аяқталды'],
  refused: ['отказано', 'бас тартылды'],
  cancelled: ['отозвано', 'қайтарып алынды'],
};
const named = (table: Record<string, [string, string]>, id: string) => (table[id] ? both(...table[id]) : id);

function ruDays(n: number, word: [string, string, string]): string {
  const [one, few, many] = word;
  const tens = n % 100;
  const form = tens >= 11 && tens <= 14 ? many : n % 10 === 1 ? one : n % 10 >= 2 && n % 10 <= 4 ? few : many;
  return `${n} ${form}`;
}
const WORKING_DAYS: [string, string, string] = ['рабочий день', 'рабочих дня', 'рабочих дней'];
const CIVIL_CODE = ['ГК РК, ст. 171–173', 'ҚР АК, 171–173-б.'] as const;

/** A limit as the page names it, from its structured spec (the signed `spec` text is English shorthand). */
function specText(spec: LimitSpec): string {
  switch (spec.kind) {
    case 'minutes':
      return both(`${spec.minutes} мин`, `${spec.minutes} мин`);
    case 'working-days':
      return both(ruDays(spec.days, WORKING_DAYS), `${spec.days} жұмыс күні`);
    case 'calendar-period':
      return both(
        [spec.months ? `${spec.months} мес.` : '', spec.days ? `${spec.days} дн.` : ''].filter(Boolean).join(' '),
        [spec.months ? `${spec.months} ай` : '', spec.days ? `${spec.days} күн` : ''].filter(Boolean).join(' '),
      );
    case 'annual-window':
      return spec.untilMovesToWorkingDay
        ? both(
            'ежегодный период; нерабочий последний день переносится на следующий рабочий',
            'жыл сайынғы кезең; жұмыс күні емес соңғы күн келесі жұмыс күніне ауысады',
          )
        : both('ежегодный период', 'жыл сайынғы кезең');
    case 'by-programme':
      return both('по программе', 'бағдарлама бойынша');
    case 'working-days-before':
      return both(`за ${ruDays(spec.days, WORKING_DAYS)} до даты`, `күнге дейін ${spec.days} жұмыс күні бұрын`);
  }
}

/** How the period runs, in the words of the Civil Code's rules on periods. */
function ruleText(spec: LimitSpec): string {
  switch (spec.kind) {
    case 'minutes':
      return both(
        'в минутах от начала отсчёта; выходные и праздники не влияют',
        'есеп басталғаннан бастап минутпен; демалыс және мереке күндері әсер етпейді',
      );
    case 'working-days':
      return both(
        `день начала отсчёта не считается; срок истекает в 24:00 последнего рабочего дня (${CIVIL_CODE[0]})`,
        `есеп басталған күн есептелмейді; мерзім соңғы жұмыс күнінің 24:00-інде аяқталады (${CIVIL_CODE[1]})`,
      );
    case 'calendar-period':
      return both(
        `срок истекает в 24:00 соответствующего числа последнего месяца; если это нерабочий день — следующего рабочего (${CIVIL_CODE[0]})`,
        `мерзім соңғы айдың тиісті күнінің 24:00-інде аяқталады; ол жұмыс күні болмаса — келесі жұмыс күнінде (${CIVIL_CODE[1]})`,
      );
    case 'annual-window':
      return both(
        'ежегодно в сроки, установленные регламентом (местное время)',
        'жыл сайын регламентте белгіленген мерзімде (жергілікті уақыт)',
      );
    case 'by-programme':
      return both(
        'срок устанавливается программой или графиком дела; до этого срока нет',
        'мерзімді істің бағдарламасы немесе кестесі белгілейді; оған дейін мерзім жоқ',
      );
    case 'working-days-before':
      return both(
        'отсчитывается назад от дня, предшествующего дате; действие можно совершить до 24:00 последнего дня',
        'күннің алдындағы күннен кері есептеледі; әрекетті соңғы күннің 24:00-іне дейін жасауға болады',
      );
  }
}

/** The pack's time zone; a pack without one (it should not happen in format 3) is shown in UTC, which the header says. */
function zoneOf(pack: EvidencePack): TimeZone {
  const tz = pack.timeZone;
  if (!tz || !Array.isArray(tz.offsets) || tz.offsets.length === 0)
    return new TimeZone('UTC', [{ fromMs: Number.NEGATIVE_INFINITY, offsetMinutes: 0 }]);
  return new TimeZone(
    String(tz.id),
    tz.offsets.map((o) => ({
      fromMs: o.from ? Date.parse(o.from) : Number.NEGATIVE_INFINITY,
      offsetMinutes: parseOffset(String(o.utcOffset)) ?? 0,
    })),
  );
}

/** Local wall-clock times without an offset on each: the header names the zone once. */
function localClock(zone: TimeZone) {
  const offsets = new Set<string>();
  const parts = (iso: unknown) => {
    const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
    if (Number.isNaN(ms)) return null;
    const local = zone.toLocal(new Date(ms));
    offsets.add(local.utcOffset);
    const [y, m, d] = local.date.split('-');
    return { date: `${d}.${m}.${y}`, minute: local.minuteOfDay, day: local.day };
  };
  const hhmm = (minute: number) =>
    `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return {
    offsets,
    at(iso: unknown): string {
      const p = parts(iso);
      return p ? `${p.date} ${hhmm(p.minute)}` : esc(iso ?? '—');
    },
    /** The end of a period as the law writes it: a deadline at local midnight is 24:00 of the day before. */
    end(iso: unknown): string {
      const p = parts(iso);
      if (!p) return esc(iso ?? '—');
      if (p.minute !== 0) return `${p.date}, ${hhmm(p.minute)}`;
      const [y, m, d] = new Date((p.day - 1) * 86_400_000).toISOString().slice(0, 10).split('-');
      return `${d}.${m}.${y}, 24:00`;
    },
  };
}

/**
 * The page of formats 3 and 4: local time in the pack's zone, named once; periods ending at 24:00; Russian and Kazakh
 * words throughout. Format 4 names the case's applicant acting on their own case by their role alone.
 */
function renderLocalBody(pack: SignedEvidencePack): string {
  const c = pack.case;
  const zone = zoneOf(pack);
  const clock = localClock(zone);
  const role = (id: unknown) => (typeof id === 'string' && isRole(id) ? both(ROLES[id].ru, ROLES[id].kk) : esc(id));
  const byRoleAlone = (actor: Record<string, any> | undefined) =>
    pack.format !== 'reglament-evidence/3' && isCaseApplicantActor(actor);
  const rows = pack.events
    .map((e) => {
      const m = e.metadata as Record<string, any>;
      return `<tr><td>${e.revision}</td><td>${esc(label(e.type))}<br><code>${esc(e.type)}</code></td><td>${esc(m.stepId)}</td><td>${byRoleAlone(m.actor) ? role(m.actor.role) : `${esc(m.actor?.name)} (${role(m.actor?.role)}${m.actor?.unit ? `, ${esc(m.actor.unit)}` : ''})`}</td><td>${clock.at(m.occurredAt)}</td><td>${clock.at(m.recordedAt)}${m.backDated ? '<br><b>задним числом / кейінгі күнмен</b>' : ''}</td><td>${clauseCell(pack.format, m.regulation?.clause)}</td><td><code>${esc(JSON.stringify(e.data))}</code></td><td class="hash"><code>${esc(m.hash)}</code><br>← <code>${esc(m.previousHash ?? '—')}</code>${pack.format === EVIDENCE_FORMAT && e.personalDataErased === true ? `<br><i>${ERASED_ACT}</i>` : ''}</td></tr>`;
    })
    .join('\n');
  const deadlines = pack.sla.deadlines
    .map((d) => {
      // A row waiting for its date has no explanation: nothing is counted yet; its limit is the regulation's.
      const spec = d.applied.explanation?.spec ?? d.spec;
      const days = (d.applied.explanation?.days ?? [])
        .map(
          (day) =>
            `${esc(day.date)} ${day.counted ? `✓${day.ordinal}` : `✗ ${esc(day.reason?.name)} (${esc(day.reason?.source)})`}`,
        )
        .join('<br>');
      const alt = d.alternative
        ? `<br><i>иное прочтение / басқа оқылым:</i> ${specText(d.alternative.explanation.spec)} — ${esc(d.alternative.citation ? both(d.alternative.citation.ru, d.alternative.citation.kk) : d.alternative.clauseText)}: ${clock.end(d.alternative.deadline)} (${named(SLA_STATUS, d.alternative.status)})`
        : '';
      // The clock runs from startedAt: the act's time, or a later instant the rule starts it at (the next day, a cohort date).
      const started =
        d.startedAt === null
          ? waitingFor(d.anchor)
          : `${clock.at(d.startedAt)}${d.anchorEvent ? `<br>#${d.anchorEvent.revision} ${esc(label(d.anchorEvent.type))}` : ''}`;
      return `<tr><td>${esc(d.stepId)} / ${esc(d.limitId)}</td><td>${d.citation ? citedCell(d.citation, d.clause.track) : esc(d.clauseText)}</td><td>${specText(spec)}<br>${ruleText(spec)}${alt}</td><td>${started}</td><td>${d.deadline ? clock.end(d.deadline) : '—'}</td><td>${d.completedAt ? clock.at(d.completedAt) : '—'}</td><td class="status-${esc(d.status)}">${named(SLA_STATUS, d.status)}</td><td class="days">${days}</td></tr>`;
    })
    .join('\n');
  const generated = clock.at(pack.generatedAt);
  const asOf = clock.at(pack.sla.asOf);
  const erasures = renderErasures(pack, (iso) => clock.at(iso));
  const body = `<h2>События / Оқиғалар</h2>
<table><thead><tr><th>#</th><th>событие / оқиға</th><th>шаг / қадам</th><th>исполнитель / орындаушы</th><th>произошло / болды</th><th>записано / жазылды</th><th>пункт / тармақ</th><th>данные / деректер</th><th>хеш ← предыдущий / хэш ← алдыңғы</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Сроки на ${asOf} / ${asOf} жағдай бойынша мерзімдер</h2>
<table><thead><tr><th>шаг / срок — қадам / мерзім</th><th>пункт / тармақ</th><th>правило / ереже</th><th>начало отсчёта / есептің басталуы</th><th>срок истекает / мерзім аяқталады</th><th>выполнено / орындалды</th><th>статус / мәртебе</th><th>дни / күндер</th></tr></thead><tbody>
${deadlines}
</tbody></table>`;
  // Written after every time is formatted, so it names the offsets the page uses (two across Kazakhstan's 2024 change).
  const used = [...clock.offsets];
  const zoneText =
    used.length <= 1
      ? `UTC${used[0] ?? zone.toLocal(new Date(0)).utcOffset}`
      : zone
          .offsetTable()
          .map((o) => (o.from ? `с / ${clock.at(o.from)} бастап UTC${o.utcOffset}` : `UTC${o.utcOffset}`))
          .join(', ');
  const zoneLine = `<p>Время / Уақыт: местное / жергілікті, ${esc(zone.id)}, ${zoneText}</p>`;
  return `<h1>Доказательный пакет дела / Істің дәлелдемелер пакеті</h1>
${zoneLine}
<p>Дело / Іс: <code>${esc(c.caseId)}</code> · расписка / қолхат ${esc(c.receiptNumber)} · ${esc(c.serviceId)} · ${esc(c.versionId)} · ${esc(c.trackId)} · подразделение / бөлімше ${esc(c.unit)}</p>
<p>Заявитель / Өтініш беруші: ${esc(c.applicant.fullName)}, ИИН / ЖСН ${esc(c.applicant.iin)} · статус / мәртебе: <b>${named(CASE_STATUS, c.status)}</b>${c.result ? ` (${esc(c.result.id)}, ${esc(c.result.kind)})` : ''}</p>
<p>Регламент / Регламент: ${esc(pack.regulation.title.ru)} — ${esc(pack.regulation.act.title)}; в силе / күшінде ${esc(pack.regulation.effective.from)} — ${esc(pack.regulation.effective.until ?? '…')}</p>
<p>Сформирован / Құрылды: ${generated}, ${esc(pack.generatedBy.name)} (${esc(pack.generatedBy.id)}) · цепочка хешей / хэш тізбегі: <b>${pack.chain.valid ? 'целостна / бүтін' : `нарушена на ревизии / ${esc(pack.chain.firstBrokenRevision)} нұсқада бұзылған`}</b>, ${pack.chain.events} событий / оқиға, последний хеш / соңғы хэш <code>${esc(pack.chain.headHash)}</code></p>
<p>Подпись / Қолтаңба: Ed25519, отпечаток ключа / кілт ізі <code>${esc(pack.signature.keyFingerprint)}</code></p>
${renderCheckpoint(pack.transparency)}${erasures}
${body}`;
}

function renderCheckpoint(inclusion: EvidenceInclusion | undefined): string {
  if (!inclusion) return '<p>Доказательства включения в журнал / Журналға енгізу дәлелдері: нет / жоқ</p>';
  const [origin, size, root] = inclusion.checkpoint.split('\n');
  // Erasure records' proofs are format 5's: a pack of another format carries none, and its page is as it was issued.
  const erasures = (inclusion.erasures ?? []).map((e) => `, запись об удалении / өшіру жазбасы → ${esc(e.leafIndex)}`);
  return `<p>Контрольная точка журнала / Журналдың бақылау нүктесі: ${esc(origin)}, событий ${esc(size)}, корень <code>${esc(root)}</code>; позиции событий / оқиғалар орны: ${inclusion.events.map((e) => `#${e.revision} → ${e.leafIndex}`).join(', ')}${erasures.join('')}</p>`;
}

/** The clause of an act as the pack's format renders it: format 2 cites it in Russian and Kazakh, appendix included. */
function clauseCell(format: string, clause: Record<string, any> | undefined): string {
  if (!clause) return '';
  if (format === 'reglament-evidence/1') {
    return esc(
      [
        clause.act,
        clause.appendix ? `прил. ${clause.appendix}` : '',
        `п. ${clause.paragraph}`,
        clause.subparagraph ? `пп. ${clause.subparagraph}` : '',
        clause.track ? `(${clause.track})` : '',
      ]
        .filter(Boolean)
        .join(' '),
    );
  }
  return citedCell(citeClause(clause as never), clause.track);
}

function citedCell(citation: ClauseCitation, track: string | undefined): string {
  return `${esc(citation.ru)}<br>${esc(citation.kk)}${track ? `<br><code>${esc(track)}</code>` : ''}`;
}

const STYLE = `body{font:13px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%;margin-bottom:2em}th,td{border:1px solid #999;padding:4px;vertical-align:top;text-align:left}code{font-size:11px;word-break:break-all}.hash{max-width:22em}.days{font-size:11px}.status-breached,.status-overdue{color:#b00;font-weight:bold}.status-met{color:#070}@media print{body{margin:0}h2{page-break-before:always}}`;
