// The sync without its initial copy, as a user without `pods/exec` gets it (the copy needs an
// exec into the sidecar; refused, syncthing copies alone). A benchmark switch that lives here:
// a kubeconfig that impersonates a user whose Role in the namespace has everything `sync`
// needs but exec. The cluster's admin (the bench's kubeconfig) may impersonate.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';

const USER = 'kubectl-dev-bench-no-exec';

/** Path of a kubeconfig (beside `kubeconfig`, in `dir`) for a user who may not exec in `namespace`. */
export async function kubeconfigWithoutExec(kubeconfig: string, namespace: string, dir: string): Promise<string> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const read = ['get', 'list', 'watch'];
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: USER },
      rules: [
        { apiGroups: [''], resources: ['pods', 'events'], verbs: read },
        { apiGroups: [''], resources: ['secrets'], verbs: [...read, 'create', 'update', 'patch'] },
        { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] },
        { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: read },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name: USER }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: USER }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }] },
  });
  const config = parse(fs.readFileSync(kubeconfig, 'utf8'));
  for (const entry of config.users ?? []) entry.user = { ...entry.user, as: USER };
  const out = path.join(dir, 'no-exec.kubeconfig');
  fs.writeFileSync(out, stringify(config), { mode: 0o600 });
  return out;
}
