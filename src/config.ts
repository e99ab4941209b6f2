/**
 * Configuration: the environment is parsed once, here, with every problem reported together.
 */
import { z } from 'zod';
import { isPrivateHost } from './lib/network.ts';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const url = (protocols: string[]) =>
  z.string().trim().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ENCRYPTION_KEY: z
    .string()
    .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=?)$/, 'must be 32 bytes as 64 hex characters or base64')
    .optional(),
  /** Keys still accepted for reading while `npm run rotate-encryption-key` re-seals under ENCRYPTION_KEY (comma-separated). */
  ENCRYPTION_KEY_PREVIOUS: z
    .string()
    .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=?)(,([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=?))*$/, 'must be one or more 32-byte keys (64 hex characters or base64), comma-separated')
    .optional(),
  WASENDER_API_TOKEN: z.string().min(1).optional(),
  WASENDER_BASE_URL: url(['http:', 'https:']).default('https://www.wasenderapi.com/api'),
  WASENDER_SANDBOX: bool.optional(),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Serve GraphiQL and introspection in production too. */
  GRAPHIQL: bool.optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** GraphQL operations one token may start per minute; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int('must be a whole number').min(0).default(1200),
  /** Requests with a wrong token one client address may make per minute before it is refused. */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int('must be a whole number').min(0).default(30),
  WEBHOOK_RETENTION_DAYS: z.coerce.number().int('must be a whole number of days').min(1, 'must be at least 1').default(7),
  /** Memory for decrypted media kept to serve again, in MiB (0: none). */
  MEDIA_CACHE_MB: z.coerce.number().min(0, 'must be 0 or more').default(64),
  /** A file larger than this (MiB) is streamed through, never cached. */
  MEDIA_CACHE_FILE_MB: z.coerce.number().min(0, 'must be 0 or more').default(8),
  /** How long a Message.media.url answers. */
  MEDIA_URL_TTL_SECONDS: z.coerce.number().int('must be a whole number of seconds').min(30, 'must be at least 30').max(86_400, 'must be at most 86400').default(300),
  /** Sends per minute per session without account protection (the provider plan's limit). */
  SEND_RATE_PER_MINUTE: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(60_000, 'must be at most 60000').default(256),
  // The provider sandbox's plan and variation (src/sandbox).
  SANDBOX_SESSION_LIMIT: z.coerce.number().int().min(1).default(10),
  SANDBOX_ERROR_WORDING: z.enum(['standard', 'alternate']).default('standard'),
  SANDBOX_BARE_SHARE: z.coerce.number().min(0).max(1).default(0),
});

export interface AppConfig {
  port: number;
  /** Base URL the provider posts webhooks to; derived from the listening port when unset. */
  publicUrl: string | null;
  databaseUrl: string | null;
  dataDir: string;
  redisUrl: string | null;
  adminToken: string | null;
  encryptionKey: Buffer | null;
  /** Older keys, accepted for reading only (ENCRYPTION_KEY_PREVIOUS). */
  previousEncryptionKeys: Buffer[];
  /** Per-token operations per minute (0: no limit) and per-address failed authentications per minute. */
  rateLimits: { operationsPerMinute: number; authFailuresPerMinute: number };
  nodeEnv: 'development' | 'production' | 'test';
  production: boolean;
  graphiql: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Processed webhook events are deleted this many days after they were processed. */
  webhookRetentionDays: number;
  /** Serving media (src/modules/media): the cache's size, the largest file it keeps, how long a link lives. */
  media: { cacheBytes: number; maxCachedFileBytes: number; urlTtlMs: number };
  /** Sends per minute per session when account protection is off. */
  sendRatePerMinute: number;
  wasender: {
    apiToken: string | null;
    baseUrl: string;
    /** Serve the local provider sandbox and point the client at it. */
    sandbox: boolean;
  };
  /** The sandbox's settings (src/sandbox/sandbox.ts SandboxOptions). */
  sandbox: { sessionLimit: number; errorWording: 'standard' | 'alternate'; bareShare: number };
}

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseEncryptionKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

/**
 * Why the provider cannot post webhooks to this base URL, or null when it can: it requires a public
 * HTTPS URL (shared/wasender-api.md §3.1), so plain HTTP and loopback or private addresses receive
 * nothing from it.
 */
export function publicUrlProblem(publicUrl: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    return `${publicUrl} is not a URL`;
  }
  if (parsed.protocol !== 'https:') return `${publicUrl} is not HTTPS, and the provider posts webhooks to public HTTPS URLs only`;
  if (isPrivateHost(parsed.hostname)) return `${publicUrl} is a loopback or private address the provider cannot reach`;
  return null;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  // Empty variables count as unset, as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const productionIssues: { variable: string; message: string }[] = [];
  if (e.ENCRYPTION_KEY_PREVIOUS && !e.ENCRYPTION_KEY) {
    productionIssues.push({ variable: 'ENCRYPTION_KEY_PREVIOUS', message: 'needs ENCRYPTION_KEY, the key that replaces it' });
  }
  if (production && !e.ENCRYPTION_KEY) {
    productionIssues.push({ variable: 'ENCRYPTION_KEY', message: 'is required when NODE_ENV=production' });
  }
  // A production deployment must never fall back to the sandbox silently: its sessions link no phone.
  if (production && !e.WASENDER_API_TOKEN && e.WASENDER_SANDBOX !== true) {
    productionIssues.push({
      variable: 'WASENDER_API_TOKEN',
      message: 'is required when NODE_ENV=production: set WASENDER_API_TOKEN to the provider\'s token, or WASENDER_SANDBOX=1 to run on the built-in sandbox on purpose',
    });
  }
  // The real provider posts only to a public HTTPS URL: a production deployment without one would
  // run sessions that never hear from it. (Outside production: a warning at start, see app.ts.)
  const realProvider = !(e.WASENDER_SANDBOX ?? !e.WASENDER_API_TOKEN);
  if (production && realProvider && e.WASENDER_API_TOKEN) {
    const problem = e.PUBLIC_URL ? publicUrlProblem(e.PUBLIC_URL) : 'is required when NODE_ENV=production with the real provider';
    if (problem) productionIssues.push({ variable: 'PUBLIC_URL', message: e.PUBLIC_URL ? `${problem}: set PUBLIC_URL to this deployment's public HTTPS base URL` : `${problem}: set it to this deployment's public HTTPS base URL, e.g. https://wa.example.com` });
  }
  if (productionIssues.length) throw new ConfigError(productionIssues);
  return {
    port: e.PORT,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL ?? null,
    adminToken: e.ADMIN_TOKEN ?? null,
    encryptionKey: e.ENCRYPTION_KEY ? parseEncryptionKey(e.ENCRYPTION_KEY) : null,
    previousEncryptionKeys: e.ENCRYPTION_KEY_PREVIOUS ? e.ENCRYPTION_KEY_PREVIOUS.split(',').map(parseEncryptionKey) : [],
    rateLimits: { operationsPerMinute: e.RATE_LIMIT_PER_MINUTE, authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE },
    nodeEnv: e.NODE_ENV,
    production,
    graphiql: e.GRAPHIQL ?? !production,
    logLevel: e.LOG_LEVEL,
    webhookRetentionDays: e.WEBHOOK_RETENTION_DAYS,
    media: {
      cacheBytes: Math.round(e.MEDIA_CACHE_MB * 1024 * 1024),
      maxCachedFileBytes: Math.round(e.MEDIA_CACHE_FILE_MB * 1024 * 1024),
      urlTtlMs: e.MEDIA_URL_TTL_SECONDS * 1000,
    },
    sendRatePerMinute: e.SEND_RATE_PER_MINUTE,
    wasender: {
      apiToken: e.WASENDER_API_TOKEN ?? null,
      baseUrl: e.WASENDER_BASE_URL.replace(/\/+$/, ''),
      sandbox: e.WASENDER_SANDBOX ?? !e.WASENDER_API_TOKEN,
    },
    sandbox: { sessionLimit: e.SANDBOX_SESSION_LIMIT, errorWording: e.SANDBOX_ERROR_WORDING, bareShare: e.SANDBOX_BARE_SHARE },
  };
}
