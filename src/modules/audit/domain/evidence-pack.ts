/**
 * The evidence pack of a case: one HTML file an auditor can open, read and print, holding the events
 * with their hashes, the SLA explanation and the regulation version as JSON inside it, signed with the
 * service's Ed25519 key. Verification needs nothing but the file: the chain is recomputed, the signature
 * checked against the embedded public key, and the readable part re-rendered from the data and compared,
 * so the page cannot say something the data does not. Pure (keys are passed in).
 */
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { RegulationFile } from '../../regulations/domain/regulation-schema';
import { verifyChain, type ChainVerification } from '../../cases/domain/hash-chain';
import { EVENT_TYPES, isEventType } from '../../../events/event-types';
import type { ExplainedDeadline } from './sla-explanation';
import { citeClause, type ClauseCitation } from '../../regulations/domain/clause-citation';

export const EVIDENCE_FORMAT = 'reglament-evidence/2';
/** Formats this verifier reads: format 1 packs (clauses as act ids) were issued before format 2 and stay verifiable. */
const READABLE_FORMATS: readonly string[] = ['reglament-evidence/1', EVIDENCE_FORMAT];

export interface EvidenceEvent {
  id: string;
  type: string;
  revision: number;
  position: number;
  data: unknown;
  metadata: Record<string, unknown>;
}

export interface EvidencePack {
  format: typeof EVIDENCE_FORMAT | 'reglament-evidence/1';
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
  chain: { valid: boolean; events: number; headHash: string | null; firstBrokenRevision?: number; problem?: string };
  sla: { asOf: string; deadlines: ExplainedDeadline[] };
}

export interface SignedEvidencePack extends EvidencePack {
  signature: { algorithm: 'Ed25519'; publicKey: string; keyFingerprint: string; value: string };
}

const SCRIPT_ID = 'reglament-evidence';

/** SHA-256 of the public key (SPKI DER), shown to auditors to compare with the service's published key. */
export function keyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
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

/** The whole file: the readable page with the signed pack embedded as JSON. */
export function renderEvidenceFile(pack: SignedEvidencePack): string {
  // "<" is escaped so no string inside the data can close the script element.
  const json = JSON.stringify(pack).replace(/</g, '\\u003c');
  return `<!doctype html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n<title>Доказательный пакет — дело ${esc(pack.case.caseId)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${renderBody(pack)}\n<script type="application/json" id="${SCRIPT_ID}">${json}</script>\n</body>\n</html>\n`;
}

export interface EvidenceCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface EvidenceVerification {
  valid: boolean;
  caseId: string | null;
  keyFingerprint: string | null;
  checks: EvidenceCheck[];
}

/** Verifies a pack file offline: its embedded data, chain, signature and readable page. */
export function verifyEvidenceFile(file: string, expectedFingerprint?: string): EvidenceVerification {
  const checks: EvidenceCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const match = new RegExp(`<script type="application/json" id="${SCRIPT_ID}">([\\s\\S]*?)</script>`).exec(file);
  if (!match) return { valid: false, caseId: null, keyFingerprint: null, checks: [{ name: 'format', ok: false, detail: `no embedded evidence (script#${SCRIPT_ID}); this is not a reglament evidence pack` }] };
  let pack: SignedEvidencePack;
  try {
    pack = JSON.parse(match[1]!) as SignedEvidencePack;
  } catch (error) {
    return { valid: false, caseId: null, keyFingerprint: null, checks: [{ name: 'format', ok: false, detail: `the embedded evidence is not JSON: ${(error as Error).message}` }] };
  }
  const readable = READABLE_FORMATS.includes(pack.format);
  check('format', readable, `format ${String(pack.format)}${readable ? '' : `, expected ${READABLE_FORMATS.join(' or ')}`}`);
  if (!readable || !Array.isArray(pack.events) || !pack.case) return { valid: false, caseId: null, keyFingerprint: null, checks };

  const chain: ChainVerification = verifyChain(pack.events.map((e) => ({ ...e, streamId: pack.case.streamId })));
  check('hash chain', chain.valid, chain.valid ? `${chain.events} events, every hash recomputed and linked` : `broken at revision ${chain.firstBrokenRevision}: ${chain.problem}`);
  const head = pack.events.at(-1)?.metadata.hash ?? null;
  check('head hash', head === pack.chain.headHash, `the last event's hash ${String(head)}${head === pack.chain.headHash ? ' is the head the service reported' : ` differs from the reported head ${String(pack.chain.headHash)}`}`);
  check('case', pack.events.every((e) => e.metadata.caseId === pack.case.caseId), 'every event names this case');

  let fingerprint: string | null = null;
  try {
    const { signature, ...unsigned } = pack;
    const publicKey = createPublicKey(signature.publicKey);
    fingerprint = keyFingerprint(publicKey);
    const ok = signature.algorithm === 'Ed25519' && verify(null, signedBytes(unsigned), publicKey, Buffer.from(signature.value, 'base64'));
    check('signature', ok, ok ? `Ed25519 signature valid; key fingerprint ${fingerprint}` : 'the signature does not match the content: the pack was changed after it was issued');
    if (expectedFingerprint !== undefined) check('signing key', fingerprint === expectedFingerprint, fingerprint === expectedFingerprint ? 'the key is the expected one' : `signed with key ${fingerprint}, expected ${expectedFingerprint}`);
  } catch (error) {
    check('signature', false, `no usable signature: ${(error as Error).message}`);
  }

  const page = renderEvidenceFile(pack);
  check('readable page', page === file, page === file ? 'the page shows exactly what the data holds' : 'the readable page differs from a rendering of the embedded data: it was edited');
  return { valid: checks.every((c) => c.ok), caseId: pack.case.caseId, keyFingerprint: fingerprint, checks };
}

function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const label = (type: string) => (isEventType(type) ? `${EVENT_TYPES[type].ru} / ${EVENT_TYPES[type].kk}` : type);

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
      const days = (d.applied.explanation.days ?? []).map((day) => `${esc(day.date)} ${day.counted ? `✓${day.ordinal}` : `✗ ${esc(day.reason?.name)} (${esc(day.reason?.source)})`}`).join('<br>');
      const alt = d.alternative ? `<br><i>иное прочтение / басқа оқылым:</i> ${esc(d.alternative.spec)} — ${esc(d.alternative.clauseText)}: ${esc(d.alternative.deadline ?? '—')} (${esc(d.alternative.status)})` : '';
      return `<tr><td>${esc(d.stepId)} / ${esc(d.limitId)}</td><td>${d.citation ? citedCell(d.citation, d.clause.track) : esc(d.clauseText)}</td><td>${esc(d.applied.spec)}<br>${esc(d.applied.explanation.rule)}${alt}</td><td>${d.anchorEvent ? `#${d.anchorEvent.revision} ${esc(d.anchorEvent.type)} ${esc(d.anchorEvent.occurredAt)}` : esc(d.startedAt)}</td><td>${esc(d.applied.explanation.deadlineLocal ?? d.deadline ?? '—')}</td><td>${esc(d.completedAt ?? '—')}</td><td class="status-${esc(d.status)}">${esc(d.status)}</td><td class="days">${days}</td></tr>`;
    })
    .join('\n');
  return `<h1>Доказательный пакет дела / Істің дәлелдемелер пакеті</h1>
<p>Дело / Іс: <code>${esc(c.caseId)}</code> · расписка ${esc(c.receiptNumber)} · ${esc(c.serviceId)} · ${esc(c.versionId)} · ${esc(c.trackId)} · подразделение ${esc(c.unit)}</p>
<p>Заявитель / Өтініш беруші: ${esc(c.applicant.fullName)}, ИИН ${esc(c.applicant.iin)} · статус: <b>${esc(c.status)}</b>${c.result ? ` (${esc(c.result.id)}, ${esc(c.result.kind)})` : ''}</p>
<p>Регламент / Регламент: ${esc(pack.regulation.title.ru)} — ${esc(pack.regulation.act.title)}; в силе ${esc(pack.regulation.effective.from)} — ${esc(pack.regulation.effective.until ?? '…')}</p>
<p>Сформирован / Құрылды: ${esc(pack.generatedAt)}, ${esc(pack.generatedBy.name)} (${esc(pack.generatedBy.id)}) · цепочка хешей / хэш тізбегі: <b>${pack.chain.valid ? 'целостна / бүтін' : `нарушена на ревизии ${esc(pack.chain.firstBrokenRevision)}`}</b>, ${pack.chain.events} событий, последний хеш <code>${esc(pack.chain.headHash)}</code></p>
<p>Подпись / Қолтаңба: Ed25519, отпечаток ключа <code>${esc(pack.signature.keyFingerprint)}</code></p>
<h2>События / Оқиғалар</h2>
<table><thead><tr><th>#</th><th>событие</th><th>шаг</th><th>исполнитель</th><th>произошло</th><th>записано</th><th>пункт</th><th>данные</th><th>хеш ← предыдущий</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Сроки / Мерзімдер (на ${esc(pack.sla.asOf)})</h2>
<table><thead><tr><th>шаг / срок</th><th>пункт</th><th>правило</th><th>начало отсчёта</th><th>срок истекает</th><th>выполнено</th><th>статус</th><th>дни</th></tr></thead><tbody>
${deadlines}
</tbody></table>`;
}

/** The clause of an act as the pack's format renders it: format 2 cites it in Russian and Kazakh, appendix included. */
function clauseCell(format: string, clause: Record<string, any> | undefined): string {
  if (!clause) return '';
  if (format === 'reglament-evidence/1') {
    return esc([clause.act, clause.appendix ? `прил. ${clause.appendix}` : '', `п. ${clause.paragraph}`, clause.subparagraph ? `пп. ${clause.subparagraph}` : '', clause.track ? `(${clause.track})` : ''].filter(Boolean).join(' '));
  }
  return citedCell(citeClause(clause as never), clause.track);
}

function citedCell(citation: ClauseCitation, track: string | undefined): string {
  return `${esc(citation.ru)}<br>${esc(citation.kk)}${track ? `<br><code>${esc(track)}</code>` : ''}`;
}

const STYLE = `body{font:13px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%;margin-bottom:2em}th,td{border:1px solid #999;padding:4px;vertical-align:top;text-align:left}code{font-size:11px;word-break:break-all}.hash{max-width:22em}.days{font-size:11px}.status-breached,.status-overdue{color:#b00;font-weight:bold}.status-met{color:#070}@media print{body{margin:0}h2{page-break-before:always}}`;
