/**
 * Starts, supervises and stops the projection process of an API in inline mode (see projection-process.main.ts).
 * The process is restarted when it dies (a crash, the OOM killer), after a delay that doubles up to 30 s; the read
 * models resume from their checkpoints.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { backOff } from 'exponential-backoff';
import type { Logger } from 'pino';
import type { AppConfig } from '../shared/config/config';
import { runnableSource } from '../shared/runnable-source';
import type { ProcessPriority, ProjectionProcessCommand, ProjectionProcessMessage } from './projection-process.main';

export interface ProjectionProcess {
  /** The process now running the projections (null while it is being restarted). */
  readonly pid: number | null;
  /** The nice value its threads run at (Linux), null where it could not be set. */
  readonly priority: ProcessPriority | null;
  /** Times the process died and was started again. */
  readonly restarts: number;
  stop(): Promise<void>;
}

/**
 * Restarts wait 1 s, doubling on each failure in a row (a process that died before it ran STEADY_MS, or could not
 * start) up to 30 s; exponential-backoff keeps the count. No jitter: one supervisor restarts one process.
 */
const RESTART_BACKOFF = {
  startingDelay: 1_000,
  maxDelay: 30_000,
  timeMultiple: 2,
  delayFirstAttempt: true,
  jitter: 'none',
  numOfAttempts: Number.MAX_SAFE_INTEGER,
} as const;
/** A process that ran this long before dying counts as a success: the next restart waits the first delay again. */
const STEADY_MS = 60_000;

/** The delay before the attempt after `failures` failures in a row, as RESTART_BACKOFF computes it (for the log). */
const restartDelay = (failures: number) =>
  Math.min(RESTART_BACKOFF.startingDelay * RESTART_BACKOFF.timeMultiple ** failures, RESTART_BACKOFF.maxDelay);

class DiedEarly extends Error {
  constructor(readonly why: Record<string, unknown>) {
    super('the projection process died before it ran steadily');
  }
}
/** A process that does not say it started within this long is killed (a file lock held for ever, say). */
const START_TIMEOUT_MS = 60_000;

function commandTo(child: ChildProcess, command: ProjectionProcessCommand): void {
  if (child.connected) child.send(command);
}

/**
 * V8's flags for a process that runs projections (this one, the worker's, the bench's): a young generation of 64 MB
 * semi-spaces instead of 16. A batch's folded cases and documents live until it is written and are copied by every
 * scavenge meanwhile; with fewer scavenges a compliance catch-up ran 5 % faster (43.7–44.9k → 46.1–47.7k events/s,
 * alternated), for up to about 150 MB more of the process's memory while it catches up.
 */
export const PROJECTION_PROCESS_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Forks one projection process and resolves once it projects, with its priority; rejects if it cannot start. */
function launch(config: AppConfig): Promise<{ child: ChildProcess; priority: ProcessPriority | null }> {
  const { file, register } = runnableSource(__filename, 'projection-process.main');
  const execArgv = [...PROJECTION_PROCESS_V8_FLAGS, ...(register ? ['--require', register] : [])];
  // Logs go to the API's own stdout and stderr; the IPC channel carries start, stop and their answers.
  const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the projection process did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onMessage = (message: ProjectionProcessMessage) => {
      if (message.type === 'started') {
        settle();
        resolve({ child, priority: message.priority });
      } else if (message.type === 'failed') {
        settle();
        reject(
          Object.assign(new Error(`the projection process failed to start: ${message.message}`), {
            stack: message.stack,
          }),
        );
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      settle();
      reject(new Error(`the projection process exited (${signal ?? `code ${code}`}) before it started`));
    };
    const onError = (error: Error) => {
      settle();
      child.kill('SIGKILL');
      reject(error);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
    commandTo(child, { type: 'start', config });
  });
}

export async function startProjectionProcess(
  config: AppConfig,
  logger: Logger,
  onReadStoreFull: (detail: string | null) => void = () => undefined,
): Promise<ProjectionProcess> {
  let current: { child: ChildProcess; priority: ProcessPriority | null } | null = null;
  let priority: ProcessPriority | null = null;
  let restarts = 0;
  let stopping = false;
  /** A restart under way: stop waits for it, then stops what it started. */
  let relaunch: Promise<unknown> | null = null;

  /** Runs a launched process until it exits: why it exited, and whether it ran steadily first. */
  const life = (launched: {
    child: ChildProcess;
    priority: ProcessPriority | null;
  }): Promise<{ steady: boolean; why: Record<string, unknown> }> => {
    current = launched;
    priority = launched.priority;
    logger.info(
      { projectionPid: launched.child.pid, nice: priority?.nice ?? null, threads: priority?.threads ?? null },
      'projection process started',
    );
    const startedAt = Date.now();
    launched.child.on('message', (message: ProjectionProcessMessage) => {
      if (message.type === 'read-store-full') onReadStoreFull(message.detail);
    });
    return new Promise((resolve) =>
      launched.child.once('exit', (code, signal) => {
        current = null;
        onReadStoreFull(null);
        resolve({
          steady: Date.now() - startedAt >= STEADY_MS,
          why: { projectionPid: launched.child.pid, code, signal },
        });
      }),
    );
  };

  /**
   * One back-off run: restart, live, and throw (so the next restart waits longer) if the process died before it
   * ran steadily or could not start; a steady life ends the run, so the next one starts from the first delay.
   * The library's delay timer cannot be cancelled: a stop during it is seen when it fires, and nothing is started.
   */
  const restartUntilSteady = () =>
    backOff(
      async () => {
        if (stopping) return null;
        // `current` is set before `relaunch` settles, so a stop waiting on it finds the process to stop.
        // Wrapped, so the attempt settles once the process started, not when its life ends.
        const attempt = launch(config).then((launched) => {
          restarts++;
          return { life: life(launched) };
        });
        relaunch = attempt;
        const lived = await (await attempt.finally(() => (relaunch = null))).life;
        if (stopping || lived.steady) return lived.why;
        throw new DiedEarly(lived.why);
      },
      {
        ...RESTART_BACKOFF,
        retry: (error: unknown, failures: number) => {
          if (stopping) return false;
          const why =
            error instanceof DiedEarly ? error.why : { err: error instanceof Error ? error.message : String(error) };
          logger.error(
            { ...why, restartInMs: restartDelay(failures) },
            'the projection process exited; read models stop following the log until it is restarted',
          );
          return true;
        },
      },
    );

  const supervise = async (firstLife: Promise<{ steady: boolean; why: Record<string, unknown> }>) => {
    let exit: Record<string, unknown> | null = (await firstLife).why;
    while (!stopping && exit !== null) {
      logger.error(
        { ...exit, restartInMs: restartDelay(0) },
        'the projection process exited; read models stop following the log until it is restarted',
      );
      exit = await restartUntilSteady().catch(() => null);
    }
  };

  void supervise(life(await launch(config)));

  return {
    get pid() {
      return current?.child.pid ?? null;
    },
    get priority() {
      return priority;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      await relaunch?.catch(() => undefined);
      const running = current;
      if (!running) return;
      const { child } = running;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      commandTo(child, { type: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
