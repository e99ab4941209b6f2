/**
 * Global ids answered synchronously. Pothos' relay plugin resolves every `id` of a node through an
 * `async` function, so each object with an `id` (every chat and message of the inbox's first
 * screen) becomes a promise that graphql-js awaits field by field: most of the promises, microtask
 * turns and garbage of a large query. This is the same `globalID` field, answering at once when the
 * raw id is at hand and awaiting it only when it is a promise.
 */
import { isThenable, RootFieldBuilder } from '@pothos/core';
// After the relay plugin, whose own `globalID` this replaces.
import '@pothos/plugin-relay';
import { toGlobalId } from './ids.ts';

interface RelayIdOptions {
  encodeGlobalID?: (typename: string, id: string | number | bigint, ctx: object) => string;
}
type RawId = { type: unknown; id: unknown } | string | null | undefined;
type Resolve = (parent: unknown, args: unknown, context: object, info: unknown) => RawId | Promise<RawId>;

const proto = RootFieldBuilder.prototype as unknown as {
  globalID(this: FieldBuilderThis, options: { resolve: Resolve } & Record<string, unknown>): unknown;
};
interface FieldBuilderThis {
  builder: { options: { relay?: RelayIdOptions }; configStore: { getTypeConfig(type: unknown): { name: string } } };
  field(options: Record<string, unknown>): unknown;
}

proto.globalID = function globalID({ resolve, ...options }) {
  const encode = (result: RawId, context: object) => {
    if (!result || typeof result !== 'object') return result;
    const typename = this.builder.configStore.getTypeConfig(result.type).name;
    const id = String(result.id);
    const custom = this.builder.options.relay?.encodeGlobalID;
    return custom ? custom(typename, id, context) : toGlobalId(typename, id);
  };
  return this.field({
    ...options,
    type: 'ID',
    resolve: (parent: unknown, args: unknown, context: object, info: unknown) => {
      const result = resolve(parent, args, context, info);
      return isThenable(result) ? result.then((settled) => encode(settled, context)) : encode(result, context);
    },
  });
};
