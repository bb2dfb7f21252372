// npm start's pure parts: its own flags apart from those of `flotilla run`, and where the CRDs of
// Istio and the Gateway API come from (the cache of an earlier start, else stand-ins when Go
// cannot fetch them). The whole of npm start runs in e2e/integration/microservice-start.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildSampleServer } from './database-servers.ts';
import { crdNames, ROUTE_CRD_SOURCES, routeCrds, standInCrd } from './route-crds.ts';
import { parseStartArgs } from './start.ts';

describe('parseStartArgs', () => {
  const table: { argv: string[]; want: ReturnType<typeof parseStartArgs> }[] = [
    { argv: [], want: { runArgs: [], samples: true, routeCrds: true, databases: true } },
    {
      argv: ['--namespace', 'shop', '--log-level', 'debug'],
      want: {
        runArgs: ['--namespace', 'shop', '--log-level', 'debug'],
        samples: true,
        routeCrds: true,
        databases: true,
      },
    },
    {
      argv: ['--no-samples', '-n', 'shop', '--no-route-crds', '--no-databases'],
      want: { runArgs: ['-n', 'shop'], samples: false, routeCrds: false, databases: false },
    },
    {
      argv: ['--kubeconfig', '/k/config', '--no-leader-elect'],
      want: {
        kubeconfig: '/k/config',
        runArgs: ['--kubeconfig', '/k/config', '--no-leader-elect'],
        samples: true,
        routeCrds: true,
        databases: true,
      },
    },
    {
      argv: ['--kubeconfig=/k/config'],
      want: {
        kubeconfig: '/k/config',
        runArgs: ['--kubeconfig=/k/config'],
        samples: true,
        routeCrds: true,
        databases: true,
      },
    },
  ];
  for (const { argv, want } of table) {
    it(`${JSON.stringify(argv)}`, () => assert.deepEqual(parseStartArgs(argv), want));
  }
});

describe('route CRDs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-route-crds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pins Istio and the Gateway API, with stand-ins for the kinds the controller writes', () => {
    assert.deepEqual(
      ROUTE_CRD_SOURCES.map((s) => `${s.module}@${s.version}`),
      ['istio.io/api@v1.31.4', 'sigs.k8s.io/gateway-api@v1.3.0'],
    );
    assert.deepEqual(
      ROUTE_CRD_SOURCES.flatMap((s) => s.standIns.map((k) => `${k.plural}.${k.group}`)),
      [
        'virtualservices.networking.istio.io',
        'destinationrules.networking.istio.io',
        'httproutes.gateway.networking.k8s.io',
      ],
    );
  });

  it('uses the CRDs an earlier start cached, without asking Go', () => {
    const source = ROUTE_CRD_SOURCES[0];
    assert.ok(source);
    const cached = join(dir, `${source.module.replaceAll('/', '_')}@${source.version}`);
    mkdirSync(cached, { recursive: true });
    writeFileSync(
      join(cached, 'crds.yaml'),
      `${JSON.stringify(standInCrd('networking.istio.io', 'Sidecar', 'sidecars'))}\n`,
    );
    const [got] = routeCrds(dir, [source]);
    assert.equal(got?.origin, 'cache');
    assert.deepEqual(got?.names, ['sidecars.networking.istio.io']);
  });

  it('falls back to stand-ins, and says why, when Go cannot fetch the module', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const source = { ...(ROUTE_CRD_SOURCES[1] as (typeof ROUTE_CRD_SOURCES)[number]), version: 'v0.0.0-missing' };
      const [got] = routeCrds(dir, [source]);
      assert.equal(got?.origin, 'stand-in');
      assert.match(got?.note ?? '', /could not be had/);
      assert.deepEqual(crdNames(readFileSync(got?.file ?? '', 'utf8')), ['httproutes.gateway.networking.k8s.io']);
    } finally {
      process.env.PATH = path;
    }
  });

  it('a stand-in serves v1 with any fields', () => {
    const crd = standInCrd('gateway.networking.k8s.io', 'HTTPRoute', 'httproutes') as {
      spec: { versions: { name: string; served: boolean; schema: { openAPIV3Schema: object } }[] };
    };
    assert.equal(crd.spec.versions[0]?.name, 'v1');
    assert.deepEqual(crd.spec.versions[0]?.schema.openAPIV3Schema, {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });
});

describe('buildSampleServer', () => {
  it('points the samples’ DatabaseServer at the loopback server, its admin Secret in flotilla-system', () => {
    const [secret, server] = buildSampleServer({
      engine: 'mysql',
      host: '127.0.0.1',
      port: 13306,
      username: 'flotilla_admin',
      password: 'pw',
    });
    assert.deepEqual(secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'mysql-admin', namespace: 'flotilla-system' },
      type: 'Opaque',
      stringData: { username: 'flotilla_admin', password: 'pw' },
    });
    assert.deepEqual((server as { metadata: unknown; spec: unknown }).metadata, { name: 'mysql-main' });
    assert.deepEqual((server as { spec: unknown }).spec, {
      engine: 'mysql',
      host: '127.0.0.1',
      port: 13306,
      adminSecretRef: { namespace: 'flotilla-system', name: 'mysql-admin' },
    });
  });
});
