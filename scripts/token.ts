/**
 * `npm run token -- create --name <name> --role ADMIN|AGENT|VIEWER [--session <id>]… [--expires <ISO time>]`
 * mints an API token from the command line (the first admin besides ADMIN_TOKEN) and prints it
 * once. `--session` takes a session's GraphQL id or database id; without it, every session.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { parseGlobalId } from '../src/graphql/ids.ts';
import { createAppPubSub } from '../src/lib/pubsub.ts';
import { systemClock } from '../src/lib/clock.ts';
import { createLogger } from '../src/lib/logger.ts';
import { createAuthService } from '../src/modules/auth/auth.service.ts';
import type { Role } from '../src/modules/auth/viewer.ts';
import { runAgainstDeployment } from './deployment.ts';

const USAGE = 'usage: npm run token -- create --name <name> --role ADMIN|AGENT|VIEWER [--session <id>]... [--expires <ISO time>]';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, role: { type: 'string' }, session: { type: 'string', multiple: true }, expires: { type: 'string' } },
});
if (positionals[0] !== 'create' || !values.name || !values.role) {
  console.error(USAGE);
  process.exit(2);
}
const config = loadConfig();
runAgainstDeployment(config, async ({ prisma, secrets }) => {
  const logger = createLogger({ level: 'silent' });
  const pubsub = createAppPubSub(null, logger);
  const auth = createAuthService({ prisma, secrets, pubsub: pubsub.pubsub, clock: systemClock, logger, adminToken: null });
  try {
    const sessionIds = values.session?.map((id) => parseGlobalId(id, 'WhatsAppSession') ?? id);
    const { token, apiToken } = await auth.createToken(
      { tokenId: null, role: 'ADMIN', sessionIds: null },
      { name: values.name!, role: values.role!.toUpperCase() as Role, sessionIds, expiresAt: values.expires ? new Date(values.expires) : null },
    );
    console.log(`Created ${apiToken.role} token "${apiToken.name}" (${apiToken.id}) for ${apiToken.sessionIds.length ? `sessions ${apiToken.sessionIds.join(', ')}` : 'every session'}.`);
    console.log('The token is shown this once; store it now:');
    console.log(token);
    return 0;
  } catch (error) {
    const fields = (error as { fields?: Record<string, string> }).fields;
    console.error(fields ? Object.entries(fields).map(([f, m]) => `${f}: ${m}`).join('\n') : (error as Error).message);
    return 1;
  } finally {
    await auth.close();
    await pubsub.close();
  }
});
