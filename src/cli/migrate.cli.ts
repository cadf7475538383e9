/**
 * `npm run cli -- migrate --to sqlite --data-dir NEW_DIR` | `--to eventstoredb [--url esdb://…]`: moves the configured
 * event log (EVENT_STORE / DATA_DIR) into another store with migrate-log.ts (same ids, revisions and text, in global
 * order, resumable), compares the copy with the source event by event, rebuilds the read models on the new store and
 * verifies every hash chain there. Run it again after a crash or a stop: it continues from the target's last event.
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
import type { PersonalKeyStore } from '../modules/personal-data/keys/key-store.port';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';
import { commandArgs } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- migrate --to sqlite --data-dir NEW_DIR
       npm run cli -- migrate --to eventstoredb [--url esdb://HOST:2113?tls=true]   (default: EVENTSTORE_URL)

Copies the configured event log (EVENT_STORE, DATA_DIR) into another store: the same event ids, stream revisions and
data/metadata text, in the same global order, in appends within the stores' limits, with progress. Interrupted (a crash,
Ctrl-C), it is run again and continues from the target's last event. Then it compares the copy with the source event by
event, rebuilds the read models on the new store (NEW_DIR/read.db; with --to eventstoredb the configured MongoDB, when
READ_STORE=mongodb) and verifies every hash chain in the copy. With --to sqlite the key and secret files of DATA_DIR are
copied too. Stop the API (or let it write only to the source) while migrating; switch it to the new store afterwards.`;

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

  let lock: RoleLock | null = null;
  if (targetDir) {
    mkdirSync(targetDir, { recursive: true, mode: 0o700 });
    // No service may write to the new log while it is being filled.
    lock = acquireRoleLock(targetDir, 'log-writer', 'migrate');
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
      // The personal-data keys go with the log they open: without them the copy would read "erased" everywhere.
      const keysFile = join(config.eventStore.dataDir, 'keys.db');
      const targetKeys = join(targetDir, 'keys.db');
      if (existsSync(keysFile) && !completeKeyStore(targetKeys)) {
        const keysDb = new Database(keysFile, { readonly: true });
        try {
          await keysDb.backup(`${targetKeys}.migrating`);
        } finally {
          keysDb.close();
        }
        for (const leftover of ['-journal', '-wal', '-shm']) rmSync(`${targetKeys}${leftover}`, { force: true });
        renameSync(`${targetKeys}.migrating`, targetKeys);
      }
    }
    const readStoreConfig = targetDir
      ? ({ kind: 'sqlite', dataDir: targetDir } as const)
      : config.readStore.kind === 'mongodb'
        ? config.readStore
        : null;
    if (readStoreConfig) {
      store = await openReadStore(readStoreConfig);
      // The source's keys open the copied acts (the same keys were copied beside a SQLite target).
      keys = await openKeyStore(config, loadMasterKey(config, sharedDeployment(config) === null).key);
      const projections = allProjections(loadReferenceData(config), new PersonalDataVault(keys));
      const runtime = new ProjectionRuntime(target, store, projections, { logger: createLogger('warn') });
      for (const projection of projections) {
        const bar = consoleProgress(`rebuild ${projection.name}`, Math.max(1, head));
        await runtime.rebuild(projection.name, (p) => bar.update(p.position, Math.max(1, p.head)));
        bar.done();
      }
      process.stdout.write(`read models rebuilt on the new store: ${projections.map((p) => p.name).join(', ')}\n`);
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
    lock?.release();
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

/**
 * A key store a run before this one copied whole: one that opens, with no journal of an unfinished copy beside it,
 * and holds the subjects' table. Anything else is copied again.
 */
function completeKeyStore(file: string): boolean {
  if (!existsSync(file) || existsSync(`${file}-journal`)) return false;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.prepare('SELECT count(*) FROM subjects').get();
      return true;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}
