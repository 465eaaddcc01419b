// The console of our processes: readable lines for a person at a terminal, JSON lines (pino's shape, one
// object a line) for anything else (a log collector, systemd's journal, tests, CI). RESCUED_LOG_FORMAT and
// RESCUED_LOG_LEVEL override the choice. The API's request log (Fastify's pino) and the process's own lines
// (startup, TFTP transfers, the guard, retention) go through the same choice, so one console reads as one.
import type { Writable } from 'node:stream';
import PinoPretty from 'pino-pretty';
import type { LogFormat } from '../config/environment.js';

/** pino's level numbers: a JSON line carries these, as Fastify's do. */
export const LEVEL_NUMBERS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVEL_NUMBERS;

/** The format asked for, else pretty at a terminal and JSON elsewhere. */
export function chooseLogFormat(options: { format: LogFormat | undefined; isTerminal: boolean }): LogFormat {
  return options.format ?? (options.isTerminal ? 'pretty' : 'json');
}

/** What pino-pretty shows of a line: the message, a request's method and URL, a reply's status and time. */
function requestMessage(log: Record<string, unknown>, messageKey: string): string {
  const message = String(log[messageKey] ?? '');
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  const reqId = log.reqId === undefined ? '' : ` (${String(log.reqId)})`;
  if (req?.method !== undefined) return `${req.method} ${req.url ?? ''}${reqId}`;
  if (res?.statusCode !== undefined) return `${message}: ${res.statusCode} in ${Math.round(Number(log.responseTime ?? 0))} ms${reqId}`;
  return message;
}

/** The stream pretty lines are written through (pino-pretty, colours only where the output shows them). */
export function prettyStream(destination: NodeJS.WritableStream = process.stdout): Writable {
  return PinoPretty.build({
    destination: destination as unknown as PinoPretty.PrettyOptions['destination'],
    colorize: (destination as { isTTY?: boolean }).isTTY === true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,reqId,req,res,responseTime,name',
    messageFormat: requestMessage,
    singleLine: true,
    sync: true,
  });
}

export interface ConsoleLog {
  readonly level: LevelName;
  readonly format: LogFormat;
  trace(line: string, fields?: Record<string, unknown>): void;
  debug(line: string, fields?: Record<string, unknown>): void;
  info(line: string, fields?: Record<string, unknown>): void;
  warn(line: string, fields?: Record<string, unknown>): void;
  error(line: string, fields?: Record<string, unknown>): void;
  /** Where the API's Fastify logger writes, so its request lines look like the rest. */
  readonly stream: NodeJS.WritableStream;
}

export function createConsoleLog(options: { name: string; level: string; format: LogFormat; destination?: NodeJS.WritableStream }): ConsoleLog {
  const destination = options.destination ?? process.stdout;
  const stream: NodeJS.WritableStream = options.format === 'pretty' ? prettyStream(destination) : destination;
  const level = (options.level in LEVEL_NUMBERS ? options.level : 'info') as LevelName;
  const threshold = options.level === 'silent' ? Infinity : LEVEL_NUMBERS[level];
  const write = (at: LevelName) => (line: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_NUMBERS[at] < threshold) return;
    stream.write(`${JSON.stringify({ level: LEVEL_NUMBERS[at], time: Date.now(), pid: process.pid, name: options.name, ...fields, msg: line })}\n`);
  };
  return { level, format: options.format, stream, trace: write('trace'), debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

let processConsole: ConsoleLog | undefined;

/** The process's console, set up once at start (workers/process.ts); before that, info lines in the default format. */
export function consoleLog(): ConsoleLog {
  processConsole ??= createConsoleLog({ name: 'rescued', level: 'info', format: chooseLogFormat({ format: undefined, isTerminal: process.stdout.isTTY === true }) });
  return processConsole;
}

export function configureConsoleLog(options: { name: string; level: string; format: LogFormat | undefined }): ConsoleLog {
  processConsole = createConsoleLog({ name: options.name, level: options.level, format: chooseLogFormat({ format: options.format, isTerminal: process.stdout.isTTY === true }) });
  return processConsole;
}
