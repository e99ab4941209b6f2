/** The schema: every module registers its types and root fields on import. */
import { assertValidSchema, lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import '../modules/auth/auth.graphql.ts';
import '../modules/sessions/session.graphql.ts';
import '../modules/inbox/inbox.graphql.ts';
import '../modules/media/media.graphql.ts';
import '../modules/provider/provider.graphql.ts';
import '../modules/outbox/outbox.graphql.ts';
import '../modules/bulk/bulk.graphql.ts';

export function buildSchema() {
  const schema = lexicographicSortSchema(builder.toSchema());
  assertValidSchema(schema); // fail at start, not on the first request
  return schema;
}
