/**
 * The loop the deadline scheduler and the webhook dispatcher run: a step, then a sleep (cut short by stop()), until
 * stopped. A failed step is logged and tried again on the next turn; a full disk is logged once, without a stack,
 * until a step goes through again, so a long outage does not write a stack trace every turn.
 */
import type { Logger } from 'pino';

export class StepLoop {
  private running: Promise<void> | null = null;
  private stopping = false;
  private diskFullLogged = false;
  private wake: (() => void) | null = null;

  constructor(
    /** Names the loop in its log lines, e.g. "the deadline scheduler". */
    private readonly name: string,
    private readonly step: () => Promise<unknown>,
    /** How long to sleep after a step, read after each one. */
    private readonly sleepMs: () => number,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        try {
          await this.step();
          this.diskFullLogged = false;
        } catch (error) {
          if ((error as { code?: unknown }).code === 'SQLITE_FULL') {
            if (!this.diskFullLogged)
              this.logger?.warn(
                { problem: (error as Error).message },
                `${this.name} waits: its disk is full; it tries again`,
              );
            this.diskFullLogged = true;
          } else this.logger?.error({ err: error }, `${this.name} failed a step; it tries again`);
        }
        if (this.stopping) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.sleepMs());
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }
}
