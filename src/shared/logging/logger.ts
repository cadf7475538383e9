import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { maskIinsDeep } from './mask-iins';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'reglament', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => maskIinsDeep(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // pino(obj, msg): mask the message too.
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? (maskIinsDeep(a) as string) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/**
 * Nest's start-up narration at info: a line per module loaded, per controller and per route mapped (some forty), and
 * "starting"/"started". Useful when debugging the wiring, noise in an operator's log: written at debug. The process
 * says it started in one line of its own, with the address.
 */
const START_UP_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** Nest's own logs go through the same structured logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  private write(requested: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, params: unknown[]) {
    const context = typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : undefined;
    const level = requested === 'info' && context !== undefined && START_UP_CONTEXTS.has(context) ? 'debug' : requested;
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...(message as object) });
    else this.logger[level]({ context }, String(message));
  }
  log(message: unknown, ...params: unknown[]) {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
}
