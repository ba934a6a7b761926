// JSON with exact integers: bigint values (int64 beyond 2^53, as read from YAML) are
// written as their digits and read back as bigint, so a saved original keeps
// 9223372036854775807 exactly. Pure (JSON.rawJSON and the reviver's source text are
// ECMAScript, Node 22+).

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? JSON.rawJSON(value.toString()) : value);

/** JSON.stringify that writes bigint values as JSON integers. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, replacer, indent);
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** JSON.parse that reads integers beyond 2^53 as bigint, exactly. */
export function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && INTEGER.test(context.source) ? BigInt(context.source) : value);
}
