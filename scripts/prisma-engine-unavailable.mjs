#!/usr/bin/env node
// Stands in for Prisma's native schema engine, which cannot be downloaded on our machines.
process.stderr.write(
  'The Prisma schema engine binary is not available offline. Use the project scripts instead:\n' +
    '  npm run migrate:deploy | npm run migrate:create -- <name> | npm run migrate:status\n',
);
process.exit(1);
