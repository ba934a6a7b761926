import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import { afterPermissionCheck } from '../../../src/live/permissions.ts';

const forbidden = new DevError('FORBIDDEN', 'forbidden: to start you need permission to patch deployments', 'ask an admin');
const later = <T>(ms: number, value: () => T) => new Promise<T>((resolve, reject) => setTimeout(() => { try { resolve(value()); } catch (e) { reject(e); } }, ms));

describe('afterPermissionCheck', () => {
  it('reports the missing permission even when a read was refused first', async () => {
    const check = later(30, () => { throw forbidden; });
    const reads = later(1, () => { throw new DevError('FORBIDDEN', 'list HorizontalPodAutoscaler: forbidden', 'hint'); });
    await expect(afterPermissionCheck(check, reads)).rejects.toBe(forbidden);
  });

  it("gives the reads' error when the check passed, and their value when both passed", async () => {
    const failed = new Error('not found');
    await expect(afterPermissionCheck(later(5, () => undefined), later(1, () => { throw failed; }))).rejects.toBe(failed);
    await expect(afterPermissionCheck(later(1, () => undefined), later(5, () => [1, 2]))).resolves.toEqual([1, 2]);
    await expect(afterPermissionCheck(undefined, Promise.resolve('read'))).resolves.toBe('read');
  });
});
