import { Worker } from 'node:worker_threads';
import { runnableSource } from '../shared/runnable-source';
import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadStore } from '../modules/read-store/read-store.port';
import type { Build, Projection } from './projection';
import type { ProjectionFailure } from './projection-registry';

/**
 * How a thread of a rebuild gets its own log, read store and projections: `module` (an absolute path, `.js` under
 * `dist/`, `.ts` under jest) exports `openRebuildThread(data)` returning them; `data` must survive structured cloning.
 * Each thread opens its own connections (better-sqlite3 connections and the projections' working sets belong to one
 * thread), reads the log itself and writes its projections' new builds through its own read-store connection.
 */
export interface RebuildThreadSetup {
  module: string;
  data: unknown;
}

/** What `openRebuildThread(data)` of a RebuildThreadSetup module gives the thread. */
export interface RebuildThreadParts {
  log: EventLog;
  store: ReadStore;
  projections: readonly Projection[];
  close(): Promise<void>;
}

export interface RebuildThreadsOptions {
  /** Threads a rebuild of several projections spreads them over, this one included; 1 rebuilds them all here. */
  threads: number;
  setup: RebuildThreadSetup;
  /**
   * Each projection's share of a rebuild's CPU time (measured alone; any unit): the groups are balanced by it. A
   * projection not named weighs 1.
   */
  weights?: Readonly<Record<string, number>>;
}

/** The runtime settings a thread's own runtime takes over (functions and shared objects stay on the calling thread). */
export interface RebuildThreadRuntimeOptions {
  batchSize?: number;
  catchUpBatchSize?: number;
  buildBatchSize?: number;
  keptDocuments?: number;
  readChunkSize?: number;
  retiredBuildGraceMs?: number;
  retry?: { initialMs: number; maxMs: number };
  lease: { holder: string; ttlMs: number };
}

export interface RebuildThreadData {
  setup: RebuildThreadSetup;
  names: string[];
  options: RebuildThreadRuntimeOptions;
}

export interface ThreadOutcome {
  build: Build | null;
  failure: ProjectionFailure | null;
}

export interface ThreadProgress {
  projection: string;
  build: Build;
  position: number;
  head: number;
  events: number;
}

/** Messages a rebuild thread posts to the thread that started it. */
export type RebuildThreadMessage =
  | { ready: true }
  | { progress: ThreadProgress }
  | { log: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }
  | { outcomes: ThreadOutcome[]; cpuSeconds: number | null };

/** What a rebuild thread reports at its end: each projection's outcome, and the CPU time the thread used (Linux). */
export interface ThreadResult {
  outcomes: ThreadOutcome[];
  cpuSeconds: number | null;
}

/**
 * Splits the projections into at most `threads` groups of about equal weight: the heaviest first, each onto the
 * lightest group so far (the first group, the heaviest, stays on the calling thread). Empty groups are left out.
 */
export function splitForThreads(
  names: readonly string[],
  threads: number,
  weights: Readonly<Record<string, number>> = {},
): string[][] {
  const weightOf = (name: string): number => weights[name] ?? 1;
  const groups = Array.from({ length: Math.max(1, Math.min(threads, names.length)) }, () => ({
    weight: 0,
    names: [] as string[],
  }));
  const heaviestFirst = [...names].sort((a, b) => weightOf(b) - weightOf(a));
  for (const name of heaviestFirst) {
    const lightest = groups.reduce((least, group) => (group.weight < least.weight ? group : least));
    lightest.weight += weightOf(name);
    lightest.names.push(name);
  }
  // Each group in the order the caller named its projections (the order their outcomes are reported in).
  return groups
    .filter((g) => g.names.length > 0)
    .sort((a, b) => b.weight - a.weight)
    .map((g) => names.filter((n) => g.names.includes(n)));
}

/** A rebuild thread stopped without reporting its projections' outcomes (a crash, a setup that failed). */
export class RebuildThreadError extends Error {
  override readonly name = 'RebuildThreadError';
  constructor(
    readonly projections: readonly string[],
    detail: string,
  ) {
    super(`the rebuild thread of ${projections.join(', ')} stopped: ${detail}`);
  }
}

// Plain JS: the thread starts here, under `dist/` and under jest alike; it registers the compiler first where
// runnableSource says the entry is TypeScript.
const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
if (workerData.register) require(workerData.register);
require(workerData.entry).runRebuildThread();
`;

/**
 * Starts one thread rebuilding `names` with its own runtime (rebuild-thread-entry.ts); its progress and log lines
 * come back here. `ready` resolves once the thread has opened its stores (or ended). Resolves with each projection's outcome in `names` order; rejects with RebuildThreadError when the
 * thread ends without them, having switched only what it switched before it stopped.
 */
export function startRebuildThread(
  data: RebuildThreadData,
  onProgress: ((progress: ThreadProgress) => void) | undefined,
  logger: Pick<Logger, 'info' | 'warn' | 'error'> | undefined,
): { ready: Promise<void>; finished: Promise<ThreadResult>; terminate(): Promise<void> } {
  const { file: entry, register } = runnableSource(__filename, 'rebuild-thread-entry');
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: {
      ...data,
      entry,
      register,
    },
  });
  let result: ThreadResult | null = null;
  let crash: unknown = null;
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const finished = new Promise<ThreadResult>((resolve, reject) => {
    worker.on('message', (message: RebuildThreadMessage) => {
      if ('ready' in message) opened();
      else if ('progress' in message) onProgress?.(message.progress);
      else if ('log' in message) logger?.[message.log](message.fields, message.message);
      else {
        result = message;
        // Its stores are closed next and the thread exits; one that does not within a minute is ended.
        setTimeout(() => void worker.terminate(), 60_000).unref();
      }
    });
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => {
      opened();
      if (result) return resolve(result);
      const detail =
        crash instanceof Error
          ? crash.message
          : crash !== null
            ? typeof crash === 'object' && 'message' in (crash as object)
              ? String((crash as { message: unknown }).message)
              : JSON.stringify(crash)
            : `it exited with code ${code}`;
      reject(new RebuildThreadError(data.names, detail));
    });
  });
  return {
    ready,
    finished,
    async terminate() {
      await worker.terminate();
    },
  };
}
