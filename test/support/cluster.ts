// Access to the test control plane from e2e tests (see test/cluster/global-setup.ts).
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the test cluster (also in $KUBECONFIG_TEST). */
    kubeconfig: string;
  }
}

/** Path of the admin kubeconfig of the cluster started for this test run (or $KUBECONFIG_TEST). */
export function testKubeconfigPath(): string {
  let p: string | undefined;
  try {
    p = inject('kubeconfig');
  } catch {
    /* not inside a vitest worker */
  }
  p ||= process.env.KUBECONFIG_TEST;
  if (!p) throw new Error('no test cluster: run the e2e project (its globalSetup starts one) or set KUBECONFIG_TEST');
  return p;
}

export function testKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(testKubeconfigPath());
  return kc;
}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last value/error after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Creates a fresh namespace `<prefix>-<random>`; returns its name and a cleanup function. */
export async function createTestNamespace(kc: k8s.KubeConfig, prefix = 'e2e'): Promise<{ name: string; remove: () => Promise<void> }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  // Pods need the namespace's default ServiceAccount (created by the controller-manager).
  await waitFor(`ServiceAccount default in ${name}`, () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(
      () => true,
      () => false,
    ),
  );
  return {
    name,
    remove: async () => {
      await core.deleteNamespace({ name }).catch(() => {});
    },
  };
}
