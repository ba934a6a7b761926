// Who holds a workload's dev mode: the user as the API server authenticated them at `start`
// (SelfSubjectReview) and the host they ran it on (pure: both are passed in).

import { isPlainObject } from './objects.ts';

export interface Holder {
  /** The API server's username; absent when it could not be asked. */
  user?: string;
  host?: string;
}

/** The holder as an annotation value (JSON: usernames may hold any character). */
export function holderAnnotation(holder: Holder): string {
  return JSON.stringify({ ...(holder.user ? { user: holder.user } : {}), ...(holder.host ? { host: holder.host } : {}) });
}

export function parseHolder(text: string | undefined): Holder | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isPlainObject(parsed)) return undefined;
    const holder: Holder = {};
    if (typeof parsed.user === 'string' && parsed.user !== '') holder.user = parsed.user;
    if (typeof parsed.host === 'string' && parsed.host !== '') holder.host = parsed.host;
    return holder;
  } catch {
    return undefined;
  }
}

/** `alice on laptop-7`, `alice`, `someone on laptop-7`. */
export function describeHolder(holder: Holder): string {
  return `${holder.user ?? 'an unknown user'}${holder.host ? ` on ${holder.host}` : ''}`;
}

/** True only when both users are known and differ: an unknown user is nobody's to refuse. */
export function isOtherUser(holder: Holder | undefined, me: Holder): boolean {
  return holder?.user !== undefined && me.user !== undefined && holder.user !== me.user;
}
