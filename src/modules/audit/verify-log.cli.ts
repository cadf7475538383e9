/**
 * `npm run cli -- verify [--json]`: one pass over the whole log, in global order, with a progress bar. It checks
 * the hash chain of every stream, rebuilds the log's Merkle tree from the events and compares it with every
 * checkpoint the service signed (DATA_DIR/checkpoints.db), each checkpoint's signature, and the tree the service
 * keeps. Exits 1 naming each broken stream and revision and each contradicted checkpoint, the first one first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commandArgs, configWithDataDir } from '../../shared/cli/cli-command';
import { openEventLog } from '../event-log/open-event-log';
import type { EventLog, RawRecordedEvent, RecordedEvent } from '../event-log/event-log.port';
import { consoleProgress, type Progress } from '../../shared/progress';
import { LogChainVerifier, type LogVerificationReport } from './domain/log-verification';
import { CheckpointAudit, type CheckpointRecord, type TreeReport } from '../transparency/domain/checkpoint-audit';
import { leafHashOf } from '../transparency/domain/log-leaf';
import { rootAt, type NodeSource } from '../transparency/domain/merkle';
import { ED25519_TYPE, parseCheckpoint, verifyNote } from '../transparency/domain/signed-note';
import { readTrustedKeysFile, type TrustedKeySet } from '../transparency/trusted-keys';
import {
  CHECKPOINT_STORE_FILE,
  SqliteCheckpointStore,
  type StoredCheckpoint,
} from '../transparency/sqlite/sqlite-checkpoint-store';
import { loadKeyRing, SigningKeyError, type KeyRing } from '../transparency/signing-keys';
import { SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { StorageDamagedError } from '../event-log/event-log.errors';
import { isSqliteDamage } from '../../shared/sqlite/open-sqlite-file';

const USAGE = `usage: npm run cli -- verify [--data-dir DIR] [--trusted-keys FILE] [--json]

Recomputes the SHA-256 hash chain of every stream in the event log (EVENT_STORE / DATA_DIR as for the service),
rebuilds the log's Merkle tree from its events and compares it with every signed checkpoint in DATA_DIR/checkpoints.db.
Reports each stream whose chain is broken (with the first broken revision) and each checkpoint the log contradicts
(the first one is where its history diverges). Exit code 1 when any is.

The checkpoints' signatures are checked against the keys in DATA_DIR (the operator's own) unless
  --trusted-keys FILE   the log's keys you trust, as verify-evidence reads them (verifier keys of type 0x01 or SPKI
                        fingerprints; the JSON of GET /api/transparency/keys too): a checkpoint signed by any other
                        key, or under another log's name, is reported. Without it, a history the holder of the keys in
                        DATA_DIR rewrote and signed again verifies; that takes your keys, or a witness.`;

const PAGE = 2000;

export interface FullVerificationReport extends LogVerificationReport {
  tree: TreeReport & { badSignatures: Array<{ seq: number; problem: string }>; storedTree: string | null };
}

/** Reads the whole log once: chains and the tree; `progress` gets the position reached. */
export async function verifyLog(
  log: EventLog,
  progress?: Progress,
  checkpoints: readonly CheckpointRecord[] = [],
): Promise<LogVerificationReport & { tree: TreeReport }> {
  const verifier = new LogChainVerifier();
  const audit = new CheckpointAudit(checkpoints);
  let after = 0;
  // Where the log can hand out the stored text, the hashes are recomputed over exactly what is stored.
  const readRaw = log.readAllRaw?.bind(log);
  for (let read = 0; ;) {
    const page = readRaw ? await readRaw({ after, maxCount: PAGE }) : await log.readAll({ after, maxCount: PAGE });
    if (page.length === 0) break;
    if (readRaw) {
      for (const event of page as RawRecordedEvent[]) {
        verifier.addStored(event);
        audit.addLeafHash(leafHashOf(event));
      }
    } else {
      for (const event of page as RecordedEvent[]) {
        verifier.add(event);
        audit.addLeafHash(
          leafHashOf({ ...event, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) }),
        );
      }
    }
    after = page[page.length - 1]!.position;
    read += page.length;
    progress?.update(read);
  }
  progress?.done();
  return { ...verifier.report(), tree: audit.report() };
}

/** Each stored checkpoint's note must be signed by a key of this service and say what the row says. */
function signatureProblems(
  checkpoints: readonly StoredCheckpoint[],
  keys: KeyRing | null,
  given: TrustedKeySet | null,
): Array<{ seq: number; problem: string }> {
  // The auditor's keys: their log verifier keys, and the keys in DATA_DIR they pinned by fingerprint.
  const trusted = given
    ? [
        ...given.noteKeys.filter((k) => k.type === ED25519_TYPE),
        ...(keys?.keys ?? []).filter((k) => given.fingerprints.includes(k.fingerprint)).map((k) => k.note),
      ]
    : (keys?.keys.map((k) => k.note) ?? null);
  if (!trusted) return [];
  return checkpoints.flatMap((c) => {
    const verified = verifyNote(c.note, trusted);
    if (!verified.ok) return [{ seq: c.seq, problem: verified.problem }];
    const origin = c.note.split('\n', 1)[0];
    if (given && !verified.verifiedBy.some((k) => k.name === origin))
      return [{ seq: c.seq, problem: `a checkpoint of the log ${origin}, which none of your keys names` }];
    const body = parseCheckpoint(verified.body);
    if (!body.ok || body.value.size !== c.size || !body.value.root.equals(c.root))
      return [{ seq: c.seq, problem: 'the signed note does not say the size and root stored beside it' }];
    return [];
  });
}

/**
 * What is wrong with the stored tree, `size` leaves, against the one the events make (`made`); null when it holds
 * that tree. A service appending meanwhile only makes the stored tree larger: it is compared at the events' size.
 */
export function storedTreeProblem(
  tree: NodeSource,
  size: number,
  made: { leaves: number; root: string },
): string | null {
  if (size < made.leaves) return `the stored tree holds ${size} leaves, the log ${made.leaves} events`;
  if (made.leaves === 0) return null;
  try {
    return Buffer.from(rootAt(tree, made.leaves)).toString('base64') === made.root
      ? null
      : 'the stored tree has another root than the one the events make: proofs served from it would not hold';
  } catch (error) {
    return `the stored tree is incomplete: ${(error as Error).message}`;
  }
}

/** The checkpoints the log contradicts, one line each, the first (where its history diverges) marked. */
export function contradictionLines(contradicted: TreeReport['contradicted']): string {
  return contradicted
    .map(
      (c, i) =>
        `  ${i === 0 ? 'FIRST CONTRADICTED' : 'contradicted'} checkpoint #${c.seq} (${c.size} events, signed ${c.signedAt}): ${c.problem}\n`,
    )
    .join('');
}

/** The line saying how many checkpoints an accepted loss set aside; empty when none. */
export function supersededLine(superseded: number): string {
  return superseded > 0
    ? `  ${superseded} checkpoint(s) of a history accepted as lost (accept-log-loss) are kept apart in checkpoints.db, not compared\n`
    : '';
}

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('verify', USAGE, argv, {
    options: {
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'trusted-keys': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  let given: TrustedKeySet | null = null;
  const keysFile = args.values['trusted-keys'];
  if (keysFile) {
    given = readTrustedKeysFile(keysFile);
    if (!given) return 1;
  }
  const config = configWithDataDir(args.values['data-dir']);
  if (config === 78) return config;
  const log = await openEventLog(
    config.eventStore.kind === 'sqlite'
      ? { kind: 'sqlite', dataDir: config.eventStore.dataDir }
      : { kind: 'eventstoredb', url: config.eventStore.url },
    { readerOnly: true },
  );
  const storeFile = join(config.dataDir, CHECKPOINT_STORE_FILE);
  const store = existsSync(storeFile) ? new SqliteCheckpointStore(storeFile) : null;
  try {
    const started = Date.now();
    if (log instanceof SqliteEventLog) {
      // A head read from a damaged page (5.4e18, say) is refused before a progress bar is sized on it.
      const sanity = log.checkIntegrity({ mode: 'quick', maxQuickBytes: 0 });
      if (sanity.problems.length > 0) throw new StorageDamagedError(log.file, sanity.problems);
    }
    const total = await log.headPosition();
    const checkpoints = store ? [...store.all()] : [];
    let keys: KeyRing | null = null;
    try {
      keys = loadKeyRing({
        origin: config.transparency.origin,
        dataDir: config.dataDir,
        keysDir: config.transparency.keysDir,
        activeKey: config.transparency.activeKey,
        evidenceKeyFile: config.evidenceKeyFile,
        mayGenerateKey: false,
        shape: 'verify',
      });
    } catch (error) {
      if (!(error instanceof SigningKeyError)) throw error;
    }
    let base: LogVerificationReport & { tree: TreeReport };
    try {
      base = await verifyLog(
        log,
        consoleProgress('verify chains and tree', Math.max(1, log.kind === 'sqlite' ? total : 1)),
        checkpoints,
      );
    } catch (error) {
      // A page SQLite cannot read is named with its file, not thrown as a driver's stack.
      if (log instanceof SqliteEventLog && isSqliteDamage(error)) {
        throw new StorageDamagedError(log.file, [
          `${(error as Error).message} (while reading the log); run \`npm run cli -- check\``,
        ]);
      }
      throw error;
    }
    // The tree the service keeps must be the one the events make (it is what proofs are served from).
    let storedTree: string | null = null;
    if (log.kind === 'sqlite') {
      const tree = (log as SqliteEventLog).tree;
      let size = tree.size();
      // A running service stores the tree right behind each commit: a stored tree short of the events read by its
      // last commits is that moment, waited out (two seconds at most) before it is called a fault.
      for (let waited = 0; size < base.tree.leaves && waited < 2000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        size = tree.size();
      }
      storedTree = storedTreeProblem(tree, size, base.tree);
    }
    const badSignatures = signatureProblems(checkpoints, keys, given);
    // The auditor's keys anchor the log only through a checkpoint they signed: with none (checkpoints.db emptied or
    // deleted), a history rewritten with its tree rebuilt verified against nothing.
    if (given && base.tree.leaves > 0 && checkpoints.length === badSignatures.length)
      badSignatures.push({
        seq: 0,
        problem: `no checkpoint signed by your keys holds this log's ${base.tree.leaves} events: nothing here is anchored to a key you trust`,
      });
    const report: FullVerificationReport = {
      ...base,
      tree: { ...base.tree, badSignatures, storedTree },
    };
    const valid =
      report.valid &&
      report.tree.contradicted.length === 0 &&
      report.tree.badSignatures.length === 0 &&
      storedTree === null;
    const seconds = (Date.now() - started) / 1000;
    const superseded = store?.supersededCount() ?? 0;
    if (args.values.json)
      process.stdout.write(
        `${JSON.stringify({ ...report, valid, seconds, supersededCheckpoints: superseded, signaturesCheckedWith: given ? 'trusted-keys' : 'data-dir' }, null, 2)}\n`,
      );
    else {
      const t = report.tree;
      process.stdout.write(
        `${valid ? 'valid' : 'BROKEN'}: ${report.sealedEvents} sealed events in ${report.streams - report.unsealedStreams} chained streams verified` +
          ` (${report.events} events read, ${report.unsealedStreams} streams without a chain) in ${seconds.toFixed(1)} s\n` +
          report.broken.map((b) => `  ${b.streamId} revision ${b.revision}: ${b.problem}\n`).join('') +
          `tree: ${t.leaves} leaves, root ${t.root}; ${t.confirmed} of ${t.checkpoints} signed checkpoints reproduced` +
          (given
            ? `, their signatures checked against the keys in ${keysFile}\n`
            : "; their signatures checked against the keys in DATA_DIR (the operator's own: pass --trusted-keys to check them against yours)\n") +
          contradictionLines(t.contradicted) +
          t.badSignatures.map((b) => `  checkpoint #${b.seq}: ${b.problem}\n`).join('') +
          (storedTree
            ? `  stored tree: ${storedTree}; rebuild it with npm run cli -- rebuild-tree once the log itself is sound\n`
            : '') +
          supersededLine(superseded),
      );
    }
    return valid ? 0 : 1;
  } finally {
    store?.close();
    await log.close();
  }
}
