/** `npm run sandbox`: the provider sandbox alone, on SANDBOX_PORT (default 4010). */
import { loadConfig } from '../config.ts';
import { createLogger } from '../lib/logger.ts';
import { serveSandbox } from './serve.ts';

const config = loadConfig();
const port = Number(process.env.SANDBOX_PORT ?? 4010);
const token = process.env.SANDBOX_TOKEN ?? 'sandbox-personal-access-token';
const logger = createLogger({ base: { component: 'sandbox' } });
const served = await serveSandbox({ port, host: process.env.SANDBOX_HOST ?? '127.0.0.1', personalAccessToken: token, logger, ...config.sandbox });
logger.info({ apiUrl: served.apiUrl, controlUrl: served.controlUrl, credentials: 'Bearer $SANDBOX_TOKEN (default sandbox-personal-access-token)' }, 'WasenderAPI sandbox listening');

const stop = () => void served.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
