/** Starts and stops the projection thread of an API process in inline mode (see projection-thread.worker.ts). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { AppConfig } from './config/config';
import type { ProjectionThreadMessage, ThreadPriority } from './projection-thread.worker';

export interface ProjectionThread {
  /** Its operating-system thread id and nice value (Linux), null where they could not be set. */
  readonly priority: ThreadPriority | null;
  stop(): Promise<void>;
}

/**
 * The thread runs the compiled worker next to this file; run from the TypeScript sources (tests, development),
 * it is compiled on load by the same swc setup the tests use.
 */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = join(__dirname, 'projection-thread.worker.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: join(__dirname, 'projection-thread.worker.ts'), execArgv: ['--require', join(__dirname, '../../test/support/swc-register.js')] };
}

export async function startProjectionThread(config: AppConfig, logger: Logger): Promise<ProjectionThread> {
  const { file, execArgv } = workerEntry();
  const worker = new Worker(file, { workerData: { config }, execArgv });
  let stopping = false;
  const priority = await new Promise<ThreadPriority | null>((resolve, reject) => {
    const onMessage = (message: ProjectionThreadMessage) => {
      if (message.type === 'started') resolve(message.priority);
      if (message.type === 'failed') reject(Object.assign(new Error(`the projection thread failed to start: ${message.message}`), { stack: message.stack }));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the projection thread exited with code ${code} before it started`)));
  });
  worker.on('error', (error) => logger.error({ err: error }, 'the projection thread failed'));
  worker.on('exit', (code) => {
    if (!stopping) logger.error({ code }, 'the projection thread exited; read models stop following the log');
  });
  if (priority) logger.info({ osThreadId: priority.osThreadId, nice: priority.nice }, 'projection thread started');
  return {
    priority,
    async stop() {
      stopping = true;
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (message: ProjectionThreadMessage) => message.type === 'stopped' && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}
