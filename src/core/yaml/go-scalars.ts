// What a YAML scalar is to Kubernetes: the resolution of go-yaml v2 (go.yaml.in/yaml/v2
// resolve.go), which sigs.k8s.io/yaml uses under kubectl and Helm, and the key
// conversion of sigs.k8s.io/yaml's YAMLToJSON. Written from their behaviour, checked
// against the real Go reader by test/unit/core/yaml-differential.test.ts. Pure.

const TAG = 'tag:yaml.org,2002:';
export const STR_TAG = `${TAG}str`;
export const BINARY_TAG = `${TAG}binary`;
export const MERGE_TAG = `${TAG}merge`;
const BOOL_TAG = `${TAG}bool`;
const INT_TAG = `${TAG}int`;
const FLOAT_TAG = `${TAG}float`;
const NULL_TAG = `${TAG}null`;
const TIMESTAMP_TAG = `${TAG}timestamp`;
const RESOLVABLE = new Set(['', STR_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG, TIMESTAMP_TAG]);

/** A scalar as go-yaml decodes it into interface{}. Timestamps stay strings there. */
export type GoScalar =
  | { type: 'null'; value: null }
  | { type: 'bool'; value: boolean }
  /** int64 range; `unsigned` when only uint64 holds it (above 2^63-1). */
  | { type: 'int'; value: bigint; unsigned: boolean }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string };

const MAP: ReadonlyMap<string, GoScalar> = new Map<string, GoScalar>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s): [string, GoScalar] => [s, { type: 'bool', value: true }]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s): [string, GoScalar] => [s, { type: 'bool', value: false }]),
  ...['', '~', 'null', 'Null', 'NULL'].map((s): [string, GoScalar] => [s, { type: 'null', value: null }]),
  ...['.nan', '.NaN', '.NAN'].map((s): [string, GoScalar] => [s, { type: 'float', value: Number.NaN }]),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s): [string, GoScalar] => [s, { type: 'float', value: Number.POSITIVE_INFINITY }]),
  ...['-.inf', '-.Inf', '-.INF'].map((s): [string, GoScalar] => [s, { type: 'float', value: Number.NEGATIVE_INFINITY }]),
]);
/** Scalars whose first character go-yaml looks up in the table above (others are strings at once). */
const HINTED = /^[yYnNtTfFoO~+\-.0-9]/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const DIGITS: Record<number, RegExp> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };
const PREFIX: Record<string, number> = { x: 16, X: 16, o: 8, O: 8, b: 2, B: 2 };

/** strconv.ParseUint(s, 0, 64) without the range check: Go's base prefixes, a bare leading 0 is octal. */
function unsignedDigits(s: string): bigint | undefined {
  let base = 10;
  let digits = s;
  if (s.length > 1 && s[0] === '0') {
    const prefixed = PREFIX[s[1] as string];
    if (prefixed !== undefined) {
      base = prefixed;
      digits = s.slice(2);
    } else {
      base = 8;
      digits = s.slice(1);
    }
  }
  if (!(DIGITS[base] as RegExp).test(digits)) return undefined;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  return BigInt(prefix + digits);
}

function parseInt64(s: string): bigint | undefined {
  const negative = s[0] === '-';
  const body = s[0] === '+' || s[0] === '-' ? s.slice(1) : s;
  const magnitude = body === '' ? undefined : unsignedDigits(body);
  if (magnitude === undefined) return undefined;
  const value = negative ? -magnitude : magnitude;
  return value >= INT64_MIN && value <= INT64_MAX ? value : undefined;
}

function parseUint64(s: string): bigint | undefined {
  if (s === '' || s[0] === '+' || s[0] === '-') return undefined;
  const value = unsignedDigits(s);
  return value !== undefined && value <= UINT64_MAX ? value : undefined;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/** strconv.ParseFloat(s, 64) for the decimal forms above: Infinity means Go's range error. */
function parseFloat64(s: string): number | undefined {
  const value = Number(s);
  return Number.isFinite(value) ? value : undefined;
}

/** go-yaml's quick timestamp test (4 digits then '-'); what follows is a Go time layout check, approximated. */
const TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?$/;

function intScalar(value: bigint): GoScalar {
  return { type: 'int', value, unsigned: value > INT64_MAX };
}

/** go-yaml's resolve() of a scalar's text: the table, then int, uint, float; anything else is a string. */
function resolveUntagged(text: string): GoScalar {
  if (text !== '' && !HINTED.test(text)) return { type: 'string', value: text };
  const mapped = MAP.get(text);
  if (mapped !== undefined) return mapped;
  const first = text[0];
  if (first === '.') {
    if (DOT_FLOAT.test(text)) {
      const value = parseFloat64(text);
      if (value !== undefined) return { type: 'float', value };
    }
    return { type: 'string', value: text };
  }
  if (first === '+' || first === '-' || (first !== undefined && first >= '0' && first <= '9')) {
    // Timestamps decode to their text in interface{} (see go-yaml's decoder), so they need no test here.
    const plain = text.includes('_') ? text.replaceAll('_', '') : text;
    const signed = parseInt64(plain);
    if (signed !== undefined) return intScalar(signed);
    const unsigned = parseUint64(plain);
    if (unsigned !== undefined) return intScalar(unsigned);
    if (YAML_STYLE_FLOAT.test(plain)) {
      const value = parseFloat64(plain);
      if (value !== undefined) return { type: 'float', value };
    }
  }
  return { type: 'string', value: text };
}

export class GoScalarError extends Error {}

/**
 * The scalar go-yaml reads. `tag` is the node's tag (full form, '' when none, '!' for
 * the non-specific tag); `plain` says whether an untagged scalar was plain (quoted and
 * block scalars are strings). Throws GoScalarError where go-yaml fails ("cannot decode").
 */
export function resolveScalar(text: string, tag: string, plain: boolean): GoScalar {
  if (tag === '' && !plain) return { type: 'string', value: text };
  if (tag === BINARY_TAG || !RESOLVABLE.has(tag)) return { type: 'string', value: text };
  if (tag === STR_TAG) return { type: 'string', value: text };
  const resolved = resolveUntagged(text);
  if (tag === '') return resolved;
  const want = tag.slice(TAG.length);
  if (want === 'timestamp') {
    if (TIMESTAMP.test(text)) return { type: 'string', value: text };
  } else if (want === resolved.type) {
    return resolved;
  } else if (want === 'float' && resolved.type === 'int' && !resolved.unsigned) {
    return { type: 'float', value: Number(resolved.value) };
  }
  throw new GoScalarError(`cannot decode !!${resolved.type === 'string' ? 'str' : resolved.type} \`${text}\` as a !!${want}`);
}

/** The value of a resolved scalar in the object model: numbers, with bigint beyond 2^53 so that int64 stays exact. */
export function scalarValue(scalar: GoScalar): unknown {
  if (scalar.type !== 'int') return scalar.value;
  const n = Number(scalar.value);
  return Number.isSafeInteger(n) ? n : scalar.value;
}

/**
 * The JSON key sigs.k8s.io/yaml makes of a mapping key, or undefined where it fails
 * (null and uint64 keys). Floats are formatted as float32 (`'g', -1, 32`), as it does.
 */
export function jsonKeyOf(scalar: GoScalar): string | undefined {
  switch (scalar.type) {
    case 'string': return scalar.value;
    case 'bool': return scalar.value ? 'true' : 'false';
    case 'int': return scalar.unsigned ? undefined : scalar.value.toString();
    case 'float': return formatFloat32G(scalar.value);
    case 'null': return undefined;
  }
}

/** strconv.FormatFloat(f, 'g', -1, 32), with go-yaml's names for the infinities and NaN. */
export function formatFloat32G(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  const x = Math.fround(f);
  if (x === Number.POSITIVE_INFINITY) return '.inf';
  if (x === Number.NEGATIVE_INFINITY) return '-.inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let exp = '';
  for (let p = 1; p <= 9; p++) {
    exp = x.toExponential(p - 1);
    if (Math.fround(Number(exp)) === x) break;
  }
  const [mantissa, e] = exp.split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/[-.]/g, '');
  const exponent = Number(e);
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 6) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const abs = Math.abs(exponent);
    return `${sign}${digits[0]}${frac}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fracPart = digits.slice(exponent + 1);
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

/**
 * Whether a string printed as a plain scalar would be read back as something else by
 * a Go YAML reader (v2 as kubectl; v3 as kustomize's kyaml, which also reads 0o17 and
 * .inf as numbers) — then it must be quoted. Keys too: `yes:` is the key "true" to kubectl.
 */
export function plainIsNotString(text: string): boolean {
  const resolved = resolveUntagged(text);
  if (resolved.type !== 'string') return true;
  // Base-60 and dates are strings to go-yaml, but numbers or timestamps to YAML 1.1
  // readers; floats beyond float64 (1e400) are strings to go-yaml, infinities to others.
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(text) || TIMESTAMP.test(text) || YAML_STYLE_FLOAT.test(text.replaceAll('_', ''));
}
