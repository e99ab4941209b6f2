/**
 * `node` and `nodes` answer only for objects the caller may see: an id of a session outside its
 * scope, of anything in such a session, or of an admin-only type (API tokens) is NOT_FOUND, as an
 * unknown id is. Which types belong to a session comes from the data model (a `sessionId` column),
 * so types added later are covered without a list kept by hand.
 */
import type { Context } from '../context.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { NotFoundError } from '../lib/errors.ts';
import { canSeeSession } from '../modules/auth/viewer.ts';

const models = getDatamodel().datamodel.models as Record<string, { fields: readonly { name: string }[] }>;
const SESSION_SCOPED = new Set(Object.entries(models).filter(([, m]) => m.fields.some((f) => f.name === 'sessionId')).map(([name]) => name));

type Delegate = { findUnique(args: { where: { id: string }; select: { sessionId: true } }): Promise<{ sessionId: string | null } | null> };

async function mayLoad(ctx: Context, typename: string, id: string): Promise<boolean> {
  const viewer = ctx.viewer;
  if (!viewer) return false;
  if (!(typename in models)) return false; // not one of ours: as unknown as a missing id
  if (typename === 'WhatsAppSession') return canSeeSession(viewer, id);
  if (viewer.role === 'ADMIN' && viewer.sessionIds === null) return true;
  if (!SESSION_SCOPED.has(typename)) return false;
  if (viewer.sessionIds === null) return true;
  const delegate = (ctx.prisma as unknown as Record<string, Delegate>)[typename[0]!.toLowerCase() + typename.slice(1)];
  const row = await delegate?.findUnique({ where: { id }, select: { sessionId: true } }).catch(() => null);
  return Boolean(row?.sessionId && canSeeSession(viewer, row.sessionId));
}

/** Throws NOT_FOUND unless the caller may see every one of `ids`. */
export async function assertNodesVisible(ctx: Context, ids: readonly { typename: string; id: string }[]): Promise<void> {
  const visible = await Promise.all(ids.map((g) => mayLoad(ctx, g.typename, g.id)));
  if (visible.includes(false)) throw new NotFoundError('Node');
}
