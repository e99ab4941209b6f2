/**
 * Logging: pino, JSON lines (pretty when stdout is a terminal). Secrets are redacted by path, so our
 * own ids (a `sessionId` field is ours) stay readable while the provider's credentials never appear.
 * Every line written while a request is handled carries that request's id (see request-context.ts).
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { currentRequestContext } from './request-context.ts';

export type Logger = PinoLogger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Where secrets sit in what we log: headers of requests and provider calls, the provider's webhook
 * envelope (its `sessionId` is the session's API key), and credential fields of any logged object.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'headers["x-webhook-signature"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers["x-webhook-signature"]',
  '*.headers.cookie',
  'signature',
  'token',
  'apiKey',
  'api_key',
  'webhookSecret',
  'webhook_secret',
  'personalAccessToken',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.webhookSecret',
  '*.webhook_secret',
  '*.personalAccessToken',
  'envelope.sessionId',
  'payload.sessionId',
  'body.sessionId',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default stdout (pretty on a terminal, JSON otherwise). */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination =
    options.destination ?? (process.stdout.isTTY ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
      // A fresh object each time: pino merges the line's fields into what the mixin returns.
      mixin: () => {
        const context = currentRequestContext();
        return context ? { requestId: context.requestId } : {};
      },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
