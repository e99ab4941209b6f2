/** Entry point: configuration from the environment, then serve until SIGTERM/SIGINT. */
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './lib/logger.ts';
import { startBanner } from './start-banner.ts';

const SHUTDOWN_LIMIT_MS = 9_000;

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const app = buildApp(config, { logger });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Orchestrators kill after 10 s or so: give up just before, saying so.
    setTimeout(() => {
      logger.error({ signal, limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const running = await app.start();
  // For people, not log collectors: production output stays JSON lines only.
  if (!config.production) process.stdout.write(startBanner(running, config));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
