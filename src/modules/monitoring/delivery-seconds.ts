/**
 * A sent message's delivery time, stored on it when it is first known delivered (by the same
 * statement that stamps sentAt/deliveredAt), so that health takes its percentiles over one column.
 * Both milestones are set once; a message delivered without a send seen first gets both at once.
 */

/** SQL: the delivery seconds of the given sentAt/deliveredAt expressions (null until both are known). */
export function deliverySecondsSql(sentAt: string, deliveredAt: string) {
  // GREATEST skips a NULL: the CASE keeps a message not yet delivered without a time. The times
  // are taken as stored (milliseconds): now() carries microseconds the columns round away.
  return `CASE WHEN (${sentAt}) IS NOT NULL AND (${deliveredAt}) IS NOT NULL
    THEN GREATEST(0, EXTRACT(EPOCH FROM ((${deliveredAt})::timestamp(3) - (${sentAt})::timestamp(3))))::float8 END`;
}

/** The same, for values in hand. */
export function deliverySeconds(sentAt: Date | null, deliveredAt: Date | null): number | null {
  return sentAt && deliveredAt ? Math.max(0, (deliveredAt.getTime() - sentAt.getTime()) / 1000) : null;
}
