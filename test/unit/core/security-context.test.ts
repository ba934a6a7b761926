// The dev container's securityContext (issue 17): what Pod Security checks stays, what
// blocks development goes, --keep-security-context keeps everything.

import { describe, expect, it } from 'vitest';
import { devSecurityContext } from '../../../src/core/pod.ts';

const restricted = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001 };

describe('devSecurityContext', () => {
  it('keeps what admission checks and the user the pod must run as', () => {
    expect(devSecurityContext({ ...restricted, readOnlyRootFilesystem: true }, {}, false)).toEqual(restricted);
  });

  it('drops the read-only root, and the app image\'s user when the pod need not run as non-root', () => {
    expect(devSecurityContext({ readOnlyRootFilesystem: true, runAsUser: 65532, runAsGroup: 65532, allowPrivilegeEscalation: false }, {}, false))
      .toEqual({ allowPrivilegeEscalation: false });
  });

  it('reads runAsNonRoot from the pod when the container does not set it', () => {
    expect(devSecurityContext({ runAsUser: 1001 }, { securityContext: { runAsNonRoot: true } }, false)).toEqual({ runAsUser: 1001 });
    expect(devSecurityContext({ runAsUser: 1001, runAsNonRoot: false }, { securityContext: { runAsNonRoot: true } }, false)).toEqual({ runAsNonRoot: false });
  });

  it('leaves nothing when only what blocks development was set, and nothing when there was none', () => {
    expect(devSecurityContext({ readOnlyRootFilesystem: true }, {}, false)).toBeUndefined();
    expect(devSecurityContext(undefined, {}, false)).toBeUndefined();
  });

  it('keeps everything with keep, as a copy', () => {
    const current = { ...restricted, readOnlyRootFilesystem: true, privileged: false };
    const kept = devSecurityContext(current, {}, true);
    expect(kept).toEqual(current);
    expect(kept).not.toBe(current);
  });
});
