/**
 * The cross-SDK scenario: scenario.ts, run as its own process against a fresh cluster,
 * prints exactly sdk/scenario/expected.txt.
 */
import { credentials } from '@grpc/grpc-js';
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startClusterProcesses } from '../../../test/helpers/cluster-process.js';
import { REPO_ROOT } from '../../../test/helpers/node-process.js';
import { createTestPki, memberSan } from '../../../test/helpers/test-certificates.js';

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('scenario.ts prints expected.txt against a fresh three-member cluster', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const env = { CAIRN_ENDPOINTS: cluster.endpoints.join(',') };
  const expected = await readFile(join(REPO_ROOT, 'sdk/scenario/expected.txt'), 'utf8');
  const result = await run(process.execPath, ['--import', 'tsx', 'sdk/typescript/scenario.ts'], env);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, expected);
});

test('scenario.ts prints expected.txt against three members with TLS and --client-cert-auth (CAIRN_CACERT/CERT/KEY)', async (t) => {
  const pki = createTestPki();
  t.teardown(() => pki.cleanup());
  const client = pki.issue('sdk-client');
  const members = new Map(['n1', 'n2', 'n3'].map((n) => [n, pki.issue(n, { san: memberSan(n) })] as const));
  const cluster = await startClusterProcesses(3, ['--client-cert-auth', '--trusted-ca-file', pki.caFile], {
    memberArgs: (name) => ['--cert-file', members.get(name)!.certFile, '--key-file', members.get(name)!.keyFile],
    credentials: credentials.createSsl(readFileSync(pki.caFile), readFileSync(client.keyFile), readFileSync(client.certFile)),
  });
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const env = {
    CAIRN_ENDPOINTS: cluster.endpoints.join(','),
    CAIRN_CACERT: pki.caFile,
    CAIRN_CERT: client.certFile,
    CAIRN_KEY: client.keyFile,
  };
  const result = await run(process.execPath, ['--import', 'tsx', 'sdk/typescript/scenario.ts'], env);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, await readFile(join(REPO_ROOT, 'sdk/scenario/expected.txt'), 'utf8'));
});
