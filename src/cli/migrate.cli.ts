/**
 * `npm run cli -- migrate --to sqlite --data-dir NEW_DIR` | `--to eventstoredb [--url esdb://…]`: moves the configured
 * event log (EVENT_STORE / DATA_DIR) into another store with migrate-log.ts (same ids, revisions and text, in global
 * order, resumable), compares the copy with the source event by event, rebuilds the read models on the new store and
 * verifies every hash chain there. Run it again after a crash or a stop: it continues from the target's last event.
 * A SQLite target takes the source's keys.db again on every run, completes the erasures its log records there and
 * drops an earlier run's read models, so a run after an erasure leaves nothing of the erased person in it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configForCommand, sharedDeployment } from '../shared/config/config';
import { loadReferenceData } from '../app/reference-data';
import { createLogger } from '../shared/logging/logger';
import { keyFiles } from '../app/backup/data-dir-backup';
import { compareLogs, migrateLog } from '../app/migrate/migrate-log';
import { openEventLog } from '../modules/event-log/open-event-log';
import type { EventLog } from '../modules/event-log/event-log.port';
import { openReadStore } from '../modules/read-store/open-read-store';
import type { ReadStore } from '../modules/read-store/read-store.port';
import { verifyLog } from '../modules/audit/verify-log.cli';
import { allProjections } from '../app/projections';
import { ProjectionRuntime } from '../projections/projection-runtime';
import { acquireRoleLock, type RoleLock } from '../shared/sqlite/role-lock';
import { consoleProgress } from '../shared/progress';
import Database from 'better-sqlite3';
import { loadMasterKey, openKeyStore } from '../modules/personal-data/keys/open-key-store';
import { KEY_STORE_FILE, SqliteKeyStore } from '../modules/personal-data/keys/sqlite-key-store';
import { checkKeyStoreKnowsLog } from '../modules/personal-data/keys/log-key-check';
import { completeRecordedErasures } from '../modules/personal-data/commands/erase-subject';
import { ProjectionRegistry } from '../projections/projection-registry';
import type { PersonalKeyStore } from '../modules/personal-data/keys/key-store.port';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';
import { commandArgs } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- migrate --to sqlite --data-dir NEW_DIR
       npm run cli -- migrate --to eventstoredb [--url esdb://HOST:2113?tls=true]   (default: EVENTSTORE_URL)

Copies the configured event log (EVENT_STORE, DATA_DIR) into another store: the same event ids, stream revisions and
data/metadata text, in the same global order, in appends within the stores' limits, with progress. Interrupted (a crash,
Ctrl-C), it is run again and continues from the target's last event. Then it compares the copy with the source event by
event, rebuilds the read models on the new store (NEW_DIR/read.db; with --to eventstoredb the configured MongoDB, when
READ_STORE=mongodb) and verifies every hash chain in the copy. With --to sqlite the key and secret files of DATA_DIR and
its key store are copied too, on every run: the erasures the log records are completed in the copy, and read models an
earlier run built are dropped, so nothing of a person erased since is left in NEW_DIR. Stop the API (or let it write
only to the source) while migrating, or run the same command again after stopping it; switch it to the new store
afterwards.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('migrate', USAGE, argv, {
    options: {
      to: { type: 'string' },
      'data-dir': { type: 'string' },
      url: { type: 'string' },
      'stop-after-appends': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  if (values.to !== 'sqlite' && values.to !== 'eventstoredb') {
    process.stderr.write(
      `migrate: --to must be sqlite or eventstoredb (MongoDB holds read models, not the log: they are rebuilt)\n\n${USAGE}\n`,
    );
    return 2;
  }
  const config = configForCommand(process.env, { data: true });
  if (config === 78) return config;
  const url = values.url ?? process.env.EVENTSTORE_URL;
  if (values.to === 'sqlite' && !values['data-dir']) {
    process.stderr.write(`migrate: --to sqlite needs --data-dir NEW_DIR\n\n${USAGE}\n`);
    return 2;
  }
  if (values.to === 'eventstoredb' && !url) {
    process.stderr.write(`migrate: --to eventstoredb needs --url or EVENTSTORE_URL\n\n${USAGE}\n`);
    return 2;
  }
  const targetDir = values['data-dir'] ? resolve(values['data-dir']) : null;
  if (
    values.to === 'sqlite' &&
    config.eventStore.kind === 'sqlite' &&
    targetDir !== null &&
    sameDirectory(targetDir, resolve(config.eventStore.dataDir))
  ) {
    process.stderr.write('migrate: --data-dir is the source DATA_DIR; give a new directory\n');
    return 2;
  }
  const stopAfter = values['stop-after-appends'] !== undefined ? Number(values['stop-after-appends']) : undefined;

  const locks: RoleLock[] = [];
  if (targetDir) {
    mkdirSync(targetDir, { recursive: true, mode: 0o700 });
    // No service may write to the new log while it is being filled, nor run the projections on it: a run again replaces
    // keys.db (a worker left running kept the erased person's key in the unlinked file, and failed on the keys filed
    // after it) and drops the earlier read-model builds without a grace for readers.
    locks.push(acquireRoleLock(targetDir, 'log-writer', 'migrate'));
    try {
      locks.push(acquireRoleLock(targetDir, 'projections', 'migrate'));
    } catch (error) {
      locks.splice(0).forEach((held) => held.release());
      throw error;
    }
  }
  const source = await openEventLog(
    config.eventStore.kind === 'sqlite'
      ? { kind: 'sqlite', dataDir: config.eventStore.dataDir }
      : { kind: 'eventstoredb', url: config.eventStore.url },
    { readerOnly: true },
  );
  let target: EventLog | null = null;
  let store: ReadStore | null = null;
  let keys: PersonalKeyStore | null = null;
  /** Set once the source's keys.db is copied beside a SQLite target: the copy is read and completed with it. */
  let targetKeyStore = false;
  try {
    target = await openEventLog(
      targetDir ? { kind: 'sqlite', dataDir: targetDir } : { kind: 'eventstoredb', url: url! },
    );
    const head = await source.headPosition();
    const copying = consoleProgress('migrate events', Math.max(1, head));
    const outcome = await migrateLog(source, target, {
      onProgress: (p) => copying.update(p.position, Math.max(1, p.head)),
      ...(stopAfter !== undefined ? { stopAfterAppends: stopAfter } : {}),
    });
    copying.done();
    process.stdout.write(
      `${outcome.resumedAfter > 0 ? `resumed after source position ${outcome.resumedAfter}: ` : ''}${outcome.copied} events copied in ${outcome.appends} appends\n`,
    );
    if (!outcome.complete) {
      process.stdout.write('stopped before the end (--stop-after-appends); run the same command again to continue\n');
      return 75;
    }
    const comparing = consoleProgress('compare with the source', Math.max(1, head));
    const compared = await compareLogs(source, target, (n) => comparing.update(n));
    comparing.done();
    process.stdout.write(
      `copy compared with the source: ${compared} events, the same ids, revisions and text, in the same order\n`,
    );

    if (targetDir && config.eventStore.kind === 'sqlite') {
      // Each copied whole under a temporary name, then renamed: a run killed while copying leaves no half a file that the
      // next run would take for the copy (it kept any file already there, and a target with an empty keys.db was
      // reported migrated but never started).
      for (const name of keyFiles(config.eventStore.dataDir)) {
        const from = join(config.eventStore.dataDir, name);
        const to = join(targetDir, name);
        if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
        copyFileSync(from, `${to}.migrating`);
        renameSync(`${to}.migrating`, to);
      }
      // The personal-data keys go with the log they open: without them the copy would read "erased" everywhere. Copied
      // on every run, not only the first: a run after an erasure must take the key's destruction along (a target kept
      // from an earlier run held the erased subject's wrapped key and blind index), and one after a filing the new
      // subject's key (without it the copy refused to start).
      const keysFile = join(config.eventStore.dataDir, KEY_STORE_FILE);
      if (existsSync(keysFile)) {
        const targetKeys = join(targetDir, KEY_STORE_FILE);
        const keysDb = new Database(keysFile, { readonly: true });
        try {
          rmSync(`${targetKeys}.migrating`, { force: true });
          await keysDb.backup(`${targetKeys}.migrating`);
        } finally {
          keysDb.close();
        }
        for (const leftover of ['-journal', '-wal', '-shm']) rmSync(`${targetKeys}${leftover}`, { force: true });
        renameSync(`${targetKeys}.migrating`, targetKeys);
        targetKeyStore = true;
      }
    }
    const readStoreConfig = targetDir
      ? ({ kind: 'sqlite', dataDir: targetDir } as const)
      : config.readStore.kind === 'mongodb'
        ? config.readStore
        : null;
    const master = () => loadMasterKey(config, sharedDeployment(config) === null).key;
    if (targetKeyStore) {
      // The copy's own key store (its keys open the copied acts): the erasures its log records are completed in it as
      // the service's start would complete them (a source stopped between an erasure's record and its key's
      // destruction), and it must hold the key of every subject the log's newest acts need, as that start checks
      // (exit 65): a run that reported success on a copy the service then refused to start on.
      const copyKeys = SqliteKeyStore.open(targetDir!, master());
      keys = copyKeys;
      const completed = await completeRecordedErasures(target, copyKeys);
      if (completed.length > 0)
        process.stdout.write(
          `key store: completed ${completed.length} erasure(s) the log records whose key was still there\n`,
        );
      await checkKeyStoreKnowsLog(target, copyKeys);
      // The old page images of what the copy's erasures destroyed are left nowhere in keys.db or its WAL.
      await untilPurged('keys.db', () => copyKeys.purgeOldImages());
    }
    if (readStoreConfig) {
      store = await openReadStore(readStoreConfig);
      // The source's keys open the copied acts, or beside a SQLite target the copy of them.
      keys ??= await openKeyStore(config, master());
      const projections = allProjections(loadReferenceData(config), new PersonalDataVault(keys));
      // Nobody reads a SQLite target's read models while migrate holds its roles (the log's writer, the projections):
      // an earlier run's builds, made before an erasure the log now records, with the erased person's IIN and name in
      // clear, are dropped as each projection switches to its new build, not kept for readers through the grace a live
      // store gives them.
      const runtime = new ProjectionRuntime(target, store, projections, {
        logger: createLogger('warn'),
        ...(targetDir ? { retiredBuildGraceMs: 0 } : {}),
      });
      for (const projection of projections) {
        const bar = consoleProgress(`rebuild ${projection.name}`, Math.max(1, head));
        await runtime.rebuild(projection.name, (p) => bar.update(p.position, Math.max(1, p.head)));
        bar.done();
      }
      process.stdout.write(`read models rebuilt on the new store: ${projections.map((p) => p.name).join(', ')}\n`);
      if (targetDir) {
        // A drop the runtime could not make is only logged by it: the copy is not reported migrated with it left.
        const rebuilt = new Set(projections.map((p) => p.name));
        const retired = (await new ProjectionRegistry(store).all()).filter(
          (e) => rebuilt.has(e._id) && (e.retired ?? []).length > 0,
        );
        if (retired.length > 0) {
          process.stderr.write(
            `migrate: read.db still holds earlier builds of ${retired.map((e) => e._id).join(', ')}; run the same command again\n`,
          );
          return 1;
        }
        const readStore = store;
        await untilPurged('read.db', () => readStore.purgeOldVersions?.() ?? true);
      }
    } else {
      process.stdout.write('read models: READ_STORE is not mongodb; start the worker on the new log to build them\n');
    }
    const report = await verifyLog(target, consoleProgress('verify hash chains', Math.max(1, head)));
    process.stdout.write(
      `hash chains in the copy: ${report.valid ? 'valid' : 'BROKEN'}: ${report.sealedEvents} sealed events in ${report.streams - report.unsealedStreams} chained streams\n` +
        report.broken.map((b) => `  ${b.streamId} revision ${b.revision}: ${b.problem}\n`).join(''),
    );
    return report.valid ? 0 : 1;
  } finally {
    await keys?.close();
    await store?.close();
    await target?.close();
    await source.close();
    locks.splice(0).forEach((held) => held.release());
  }
}

/** The same directory, through symbolic links too: a link to the source is not a new directory. */
function sameDirectory(a: string, b: string): boolean {
  const real = (dir: string) => {
    try {
      return realpathSync.native(dir);
    } catch {
      return dir;
    }
  };
  return resolve(a) === resolve(b) || real(a) === real(b);
}

/** How long a purge of old page images is tried for: only a reader outside migrate (an operator's shell) holds them. */
const PURGE_TRIES_MS = 10_000;

/**
 * Tries a purge of old page images until it is done: what an erasure destroyed or scrubbed must be left in no page of
 * the copy. A reader that keeps it from finishing past PURGE_TRIES_MS fails the run (exit 1), to be run again.
 */
async function untilPurged(file: string, purge: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + PURGE_TRIES_MS;
  while (!(await purge())) {
    if (Date.now() >= until)
      throw new Error(
        `${file}: another reader keeps the old page images of erased personal data in use; close it and run the same command again`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
