/**
 * `npm run rotate-encryption-key`: re-seals every secret at rest under ENCRYPTION_KEY, reading the
 * old values with ENCRYPTION_KEY_PREVIOUS. Run it after every process runs with both set; then drop
 * ENCRYPTION_KEY_PREVIOUS.
 */
import { loadConfig } from '../src/config.ts';
import { runAgainstDeployment } from './deployment.ts';
import { resealSecrets } from '../src/modules/system/encryption-rotation.ts';

runAgainstDeployment(loadConfig(), async ({ prisma, secrets }) => {
  const { resealed } = await resealSecrets({ prisma, secrets });
  console.log(`Re-sealed ${resealed} secret(s) under key ${secrets.keyId}. ENCRYPTION_KEY_PREVIOUS may now be removed.`);
  return 0;
});
