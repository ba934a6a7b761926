// Reverse forwards (-R REMOTE:LOCAL) on the test cluster's real node: `kubectl dev start` runs
// as a user runs it (dist/kubectl-dev.cjs, which finds dist/agent/), the agent goes into the
// sync sidecar by exec, and requests made FROM the dev container (kubectl dev exec … wget, a
// node client) reach servers on this machine's loopback — one request, 50 at once, one whose
// client shuts its write side first, and again after the dev pod was replaced. A REMOTE port
// something in the pod already listens on is refused with why.
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { BIN } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { tempDir } from '../unit/sync/support.ts';
import { interrupt, spawnCli, type CliRun } from './cli-process.ts';
import { devAsync } from './live-support.ts';
import { builtAgent } from '../unit/reverse/support.ts';

const NAME = 'web';
const HTTP_REMOTE = 7000;
const RAW_REMOTE = 7001;

describe('reverse forwards from the dev container to this machine', () => {
  const kc = testKubeConfig();
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let env: NodeJS.ProcessEnv;
  let start: CliRun;
  let httpServer: http.Server;
  let rawServer: net.Server;
  let inFlight = 0;
  let maxInFlight = 0;
  const ports = { http: 0, raw: 0 };

  const execInDev = (script: string, timeoutMs = 120_000) => devAsync(['exec', `deploy/${NAME}`, '-n', ns, '--', '/bin/sh', '-c', script], { KUBECONFIG: testKubeconfigPath() }, timeoutMs);

  beforeAll(async () => {
    builtAgent(); // dist/agent/, which the CLI carries (built here when a checkout has none yet)
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'reverse'));
    root = tempDir('e2e-reverse');
    const localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'README'), 'reverse\n');
    env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_STATE_HOME: path.join(root, 'state'), NO_COLOR: '1' };
    // The laptop's HTTP server: answers each path after a pause, so that 50 requests are open at once.
    httpServer = http.createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end(`hello ${req.url}\n`);
      }, 300);
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    ports.http = (httpServer.address() as net.AddressInfo).port;
    // A raw TCP server that answers only once the client has shut its write side (half-close).
    rawServer = net.createServer({ allowHalfOpen: true }, (socket) => {
      let got = '';
      socket.on('data', (d) => (got += d.toString()));
      socket.on('end', () => socket.end(`after your end I read ${got.length} bytes: ${got}`));
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    ports.raw = (rawServer.address() as net.AddressInfo).port;

    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NAME },
        spec: {
          selector: { matchLabels: { app: NAME } },
          template: {
            metadata: { labels: { app: NAME } },
            spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'app', image: 'docker.io/library/busybox:1.36', command: ['sleep', '3600'] }] },
          },
        },
      },
    });
    start = spawnCli(BIN, ['start', `deploy/${NAME}`, '-n', ns, '--image', 'docker.io/library/node:24', '--local-dir', localDir, '-q',
      '-R', `${HTTP_REMOTE}:${ports.http}`, '--reverse', `${RAW_REMOTE}:${ports.raw}`], { cwd: root, env });
    await waitFor('the reverse forwards up', () => /reverse forwarding .*127\.0\.0\.1:7001/.test(start.out()) || (start.child.exitCode !== null ? Promise.reject(new Error(start.all())) : undefined), 180_000, 200)
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${start.all()}`);
      });
  });

  afterAll(async () => {
    if (start && start.child.exitCode === null) await interrupt(start);
    await devAsync(['end', `deploy/${NAME}`, '-n', ns, '--force'], { KUBECONFIG: testKubeconfigPath() }).catch(() => undefined);
    httpServer?.close();
    rawServer?.close();
    await removeNs?.();
  });

  it('a request made in the dev container is answered by the server on this machine', async () => {
    expect(start.out()).toContain(`127.0.0.1:${HTTP_REMOTE} → 127.0.0.1:${ports.http} here`);
    const r = await execInDev(`wget -qO- http://127.0.0.1:${HTTP_REMOTE}/one`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello /one\n');
    expect(r.code).toBe(0);
  });

  it('50 parallel connections are all answered, each with its own body', async () => {
    maxInFlight = 0;
    const r = await execInDev(`for i in $(seq 1 50); do wget -qO /tmp/r$i http://127.0.0.1:${HTTP_REMOTE}/n$i & done; wait; for i in $(seq 1 50); do printf '%s:' $i; cat /tmp/r$i; done`);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(50);
    lines.forEach((line, i) => expect(line).toBe(`${i + 1}:hello /n${i + 1}`));
    // They were open at the same time on this machine, not one after the other.
    expect(maxInFlight).toBeGreaterThanOrEqual(25);
  });

  it('a client that shuts its write side still reads the answer (half-close both ways)', async () => {
    const client = `const s = require('net').connect(${RAW_REMOTE}, '127.0.0.1', () => s.end('ping-half-close')); let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => { console.log(b); });`;
    const r = await execInDev(`node -e "${client.replaceAll('"', '\\"')}"`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('after your end I read 15 bytes: ping-half-close');
  });

  it('follows the dev pod when it is replaced', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const selector = `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', NAME)}`;
    const old = (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items.map((p) => p.metadata!.name!);
    expect(old).toHaveLength(1);
    await core.deleteNamespacedPod({ name: old[0]!, namespace: ns, gracePeriodSeconds: 0 });
    const body = await waitFor('an answer from the new dev pod', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata!.name !== old[0]);
      if (pods.length === 0) return undefined;
      const r = await execInDev(`timeout 10 wget -qO- http://127.0.0.1:${HTTP_REMOTE}/again`, 30_000);
      return r.code === 0 ? r.stdout : undefined;
    }, 150_000, 1_000).catch((error: Error) => {
      throw new Error(`${error.message}\nkubectl dev start printed:\n${start.all().slice(-3_000)}`);
    });
    expect(body).toBe('hello /again\n');
    expect(start.child.exitCode).toBeNull();
  }, 240_000);

  it('kubectl dev run -R: the command it runs in the container reaches this machine', async () => {
    const run = spawnCli(BIN, ['run', `deploy/${NAME}`, '-n', ns, '--no-restart', '-R', `7002:${ports.http}`, '--', '/bin/sh', '-c', 'wget -qO- http://127.0.0.1:7002/from-run'], { cwd: root, env });
    try {
      await waitFor('the answer in run\'s output', () => /hello \/from-run/.test(run.out()) || (run.child.exitCode !== null ? Promise.reject(new Error(run.all())) : undefined), 120_000, 200)
        .catch((error: Error) => {
          throw new Error(`${error.message}\n${run.all()}`);
        });
      expect(run.all()).toContain(`127.0.0.1:7002 → 127.0.0.1:${ports.http} here`);
    } finally {
      expect(await interrupt(run)).toBe(0);
    }
  });

  it('refuses a REMOTE port something in the pod listens on, saying which', async () => {
    const r = await devAsync(['sync', `deploy/${NAME}`, '-n', ns, '-R', `8384:${ports.http}`], { KUBECONFIG: testKubeconfigPath(), XDG_STATE_HOME: path.join(root, 'state2') }, 90_000);
    expect(r.stderr).toMatch(/port 8384 on the dev pod's loopback is already in use/);
    expect(r.stderr).toMatch(/pick another REMOTE port/);
    expect(r.code).toBe(EXIT.usage);
  });
});
