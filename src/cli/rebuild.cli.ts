import { sharedDeployment } from '../shared/config/config';
import { commandArgs, configWithDataDir, usageError } from '../shared/cli/cli-command';
import { loadReferenceData } from '../app/reference-data';
import { createLogger } from '../shared/logging/logger';
import { openEventLog } from '../modules/event-log/open-event-log';
import { openReadStore } from '../modules/read-store/open-read-store';
import { consoleProgress } from '../shared/progress';
import { allProjections } from '../app/projections';
import { rebuildThreads } from '../app/rebuild-threads';
import { ProjectionRuntime } from '../projections/projection-runtime';
import { loadMasterKey, openKeyStore } from '../modules/personal-data/keys/open-key-store';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';

const USAGE = `usage: npm run cli -- rebuild (<projection>... | --all) [--data-dir DIR]

Builds a fresh copy of a read model from the first event, beside the one readers use, and switches readers
to it when it has caught up. Several (or --all) are built side by side, spread over REBUILD_THREADS threads (default:
2 on four cores or more, else 1), each thread reading the log once for its own. Uses the same EVENT_STORE / READ_STORE / DATA_DIR settings as the service.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('rebuild', USAGE, argv, {
    allowPositionals: true,
    options: { all: { type: 'boolean' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const config = configWithDataDir(args.values['data-dir']);
  if (config === 78) return config;
  let reference;
  try {
    reference = loadReferenceData(config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  const known = allProjections(reference);
  // A name given twice is rebuilt once: the projections are rebuilt side by side, one runner each.
  const names = args.values.all ? known.map((p) => p.name) : [...new Set(args.positionals)];
  const unknown = names.filter((n) => !known.some((p) => p.name === n));
  if (unknown.length > 0)
    return usageError(
      'rebuild',
      USAGE,
      `unknown projection: ${unknown.join(', ')}; known: ${known.map((p) => p.name).join(', ')}`,
    );
  if (names.length === 0)
    return usageError('rebuild', USAGE, `name a projection (${known.map((p) => p.name).join(', ')}) or --all`);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const log = await openEventLog(
    config.eventStore.kind === 'sqlite'
      ? { kind: 'sqlite', dataDir: config.eventStore.dataDir }
      : { kind: 'eventstoredb', url: config.eventStore.url },
  );
  const store = await openReadStore(config.readStore);
  const masterKey = loadMasterKey(config, sharedDeployment(config) === null).key;
  const keys = await openKeyStore(config, masterKey);
  try {
    const runtime = new ProjectionRuntime(log, store, allProjections(reference, new PersonalDataVault(keys)), {
      logger,
      // Several read models are spread over REBUILD_THREADS threads, each opening the same stores and keys for itself.
      rebuildThreads: rebuildThreads(config.rebuildThreads, {
        eventLog: config.eventStore,
        readStore: config.readStore,
        regulationsDir: config.regulationsDir,
        calendarsDir: config.calendarsDir,
        personalData: {
          settings: { dataDir: config.dataDir, readStore: config.readStore, personalData: config.personalData },
          masterKey: masterKey.toString('hex'),
        },
      }),
    });
    // Several projections are rebuilt side by side over one read of the log; the bar follows the slowest of them.
    const started = Date.now();
    const label = names.length === 1 ? `rebuild ${names[0]}` : `rebuild ${names.length} read models`;
    const bar = consoleProgress(label, Math.max(1, await log.headPosition()));
    const reached = new Map<string, { position: number; events: number }>(
      names.map((n) => [n, { position: 0, events: 0 }]),
    );
    const builds = await runtime.rebuildMany(names, (p) => {
      reached.set(p.projection, { position: p.position, events: p.events });
      bar.update(Math.min(...[...reached.values()].map((r) => r.position)), Math.max(1, p.head));
    });
    bar.done();
    const seconds = (Date.now() - started) / 1000;
    for (const [i, name] of names.entries()) {
      const { events } = reached.get(name)!;
      process.stdout.write(
        `${name}: rebuilt as v${builds[i]!.version} generation ${builds[i]!.generation} — ${events} events in ${seconds.toFixed(1)} s (${Math.round(events / Math.max(seconds, 0.001))} events/s); readers switched\n`,
      );
    }
    return 0;
  } catch (error) {
    process.stderr.write(`rebuild failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
    await keys.close();
    await log.close();
  }
}
