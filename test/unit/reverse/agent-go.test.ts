// The agent's own Go tests (agent/*_test.go: framing, half-close, windows, many connections,
// a busy port, the end of stdin), run with go test.
import { expect, it } from 'vitest';
import { testAgent } from '../../../scripts/agent.ts';

it('the Go agent passes go test', () => {
  const r = testAgent();
  expect(r.output).toMatch(/^ok\s+kubectl-dev\.io\/agent/m);
  expect(r.status).toBe(0);
}, 300_000);
