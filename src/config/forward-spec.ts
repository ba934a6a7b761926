// Port-forward specs as kubectl port-forward writes them: LOCAL:REMOTE, :REMOTE (a free
// local port) or PORT (the same port on both sides). Pure: used by the dev config
// checker and by the -p/--forward flag.

import { isIP } from 'node:net';
import { DevError } from '../core/errors.ts';

export interface ForwardSpec {
  /** 0: pick a free local port. */
  local: number;
  remote: number;
  /** As written, for messages. */
  text: string;
}

const FORM = /^(\d{1,5})?:(\d{1,5})$|^(\d{1,5})$/;

/** Parses one spec; throws INVALID_OPTION naming `where` (e.g. "--forward" or a config path). */
export function parseForwardSpec(input: string | number, where: string): ForwardSpec {
  const text = String(input).trim();
  const match = FORM.exec(text);
  if (!match) {
    throw new DevError('INVALID_OPTION', `${where}: "${text}" is not LOCAL:REMOTE, :REMOTE or PORT`,
      'for example -p 8080:80 (local 8080 to the container\'s 80), -p :9229 (a free local port) or -p 3000.');
  }
  const [, local, remote, same] = match;
  const spec = same !== undefined
    ? { local: Number(same), remote: Number(same), text }
    : { local: local === undefined ? 0 : Number(local), remote: Number(remote), text };
  if (spec.remote < 1 || spec.remote > 65535 || spec.local > 65535 || (local !== undefined && spec.local < 1)) {
    throw new DevError('INVALID_OPTION', `${where}: "${text}": ports are 1 to 65535`, 'use :REMOTE to let kubectl-dev pick a free local port.');
  }
  return spec;
}

/** Several specs; one remote port forwarded twice to the same local port is kept once. */
export function parseForwardSpecs(inputs: ReadonlyArray<string | number>, where: string): ForwardSpec[] {
  const out: ForwardSpec[] = [];
  for (const input of inputs) {
    const spec = parseForwardSpec(input, where);
    const taken = out.find((o) => o.local !== 0 && o.local === spec.local);
    if (taken && taken.remote !== spec.remote) {
      throw new DevError('INVALID_OPTION', `${where}: local port ${spec.local} is given twice (${taken.text} and ${spec.text})`, 'give each forward its own local port, or :REMOTE for a free one.');
    }
    if (!taken) out.push(spec);
  }
  return out;
}

/** --address as kubectl port-forward reads it: IP addresses or localhost (127.0.0.1, and ::1 when there is one). */
export function listenAddresses(addresses: readonly string[]): Array<{ host: string; optional: boolean }> {
  const out: Array<{ host: string; optional: boolean }> = [];
  for (const raw of addresses.flatMap((a) => a.split(',')).map((a) => a.trim()).filter((a) => a !== '')) {
    if (raw === 'localhost') out.push({ host: '127.0.0.1', optional: false }, { host: '::1', optional: true });
    else if (isIP(raw) !== 0) out.push({ host: raw, optional: false });
    else throw new DevError('INVALID_OPTION', `--address: "${raw}" is not an IP address or localhost`, 'for example --address localhost or --address 127.0.0.1,192.168.1.5.');
  }
  return out.length > 0 ? out : [{ host: '127.0.0.1', optional: false }];
}

/** A reverse forward: the pod's 127.0.0.1:REMOTE reaches the laptop's 127.0.0.1:LOCAL. */
export interface ReverseSpec {
  remote: number;
  local: number;
  /** As written, for messages. */
  text: string;
}

const REVERSE_FORM = /^(\d{1,5}):(\d{1,5})$|^(\d{1,5})$/;

/** Parses REMOTE:LOCAL (or PORT, the same on both sides); throws INVALID_OPTION naming `where`. */
export function parseReverseSpec(input: string | number, where: string): ReverseSpec {
  const text = String(input).trim();
  const match = REVERSE_FORM.exec(text);
  if (!match) {
    throw new DevError('INVALID_OPTION', `${where}: "${text}" is not REMOTE:LOCAL or PORT`,
      'for example -R 5432:5432 (the pod\'s 127.0.0.1:5432 reaches your 127.0.0.1:5432) or -R 9000:3000.');
  }
  const [, remote, local, same] = match;
  const spec = same !== undefined ? { remote: Number(same), local: Number(same), text } : { remote: Number(remote), local: Number(local), text };
  if (spec.remote < 1 || spec.remote > 65535 || spec.local < 1 || spec.local > 65535) {
    throw new DevError('INVALID_OPTION', `${where}: "${text}": ports are 1 to 65535`, 'give both ports, e.g. -R 9000:3000.');
  }
  return spec;
}

/** Several reverse specs; one pod port given twice is an error unless it goes to the same local port. */
export function parseReverseSpecs(inputs: ReadonlyArray<string | number>, where: string): ReverseSpec[] {
  const out: ReverseSpec[] = [];
  for (const input of inputs) {
    const spec = parseReverseSpec(input, where);
    const taken = out.find((o) => o.remote === spec.remote);
    if (taken && taken.local !== spec.local) {
      throw new DevError('INVALID_OPTION', `${where}: the pod's port ${spec.remote} is given twice (${taken.text} and ${spec.text})`, 'one pod port reaches one local port; give each reverse forward its own REMOTE port.');
    }
    if (!taken) out.push(spec);
  }
  return out;
}
