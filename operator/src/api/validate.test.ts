import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { API_VERSION, DURATION_PATTERN } from './common.ts';
import { readManifestDir } from './manifests.ts';
import type { MicroService } from './microservice.ts';
import {
  fieldPath,
  validateAnalysisTemplate,
  validateClusterAnalysisTemplate,
  validateDatabaseServer,
  validateMicroService,
  validateRollout,
} from './validate.ts';

const samplesDir = fileURLToPath(new URL('../../../samples/', import.meta.url));

const validators: Record<string, (object: unknown) => { valid: boolean; errors?: string[] }> = {
  MicroService: validateMicroService,
  Rollout: validateRollout,
  DatabaseServer: validateDatabaseServer,
  AnalysisTemplate: validateAnalysisTemplate,
  ClusterAnalysisTemplate: validateClusterAnalysisTemplate,
};

/** A valid MicroService, changed by the modifiers. */
function microService(...modifiers: ((object: MicroService) => void)[]): MicroService {
  const object: MicroService = {
    apiVersion: API_VERSION,
    kind: 'MicroService',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { image: 'registry.example.com/shop/orders:1.4.2', ports: [{ name: 'http', port: 8002 }] },
  };
  for (const modify of modifiers) modify(object);
  return object;
}

describe('validate', () => {
  it('accepts every Flotilla object of samples/', () => {
    const flotilla = readManifestDir(samplesDir).filter(({ manifest }) => manifest.apiVersion === API_VERSION);
    assert.equal(flotilla.length, 11, 'five MicroServices, two Rollouts, three DatabaseServers, one AnalysisTemplate');
    for (const { file, manifest } of flotilla) {
      const validate = validators[manifest.kind];
      assert.ok(validate, `${file}: unknown kind ${manifest.kind}`);
      assert.deepEqual(validate(manifest), { valid: true, value: manifest }, `${file} ${manifest.metadata.name}`);
    }
  });

  const cases: { name: string; object: unknown; errors: string[] }[] = [
    {
      name: 'a missing image',
      object: microService((ms) => {
        delete (ms.spec as Partial<MicroService['spec']>).image;
      }),
      errors: ['spec.image: is required'],
    },
    {
      name: 'a port out of range',
      object: microService((ms) => {
        ms.spec.ports = [{ name: 'http', port: 70000 }];
      }),
      errors: ['spec.ports[0].port: must be <= 65535'],
    },
    {
      name: 'an unknown reclaim policy',
      object: microService((ms) => {
        ms.spec.database = { serverRef: 'postgres-main', reclaimPolicy: 'Keep' as 'Retain' };
      }),
      errors: ['spec.database.reclaimPolicy: must be one of "Retain", "Delete"'],
    },
    {
      name: 'a duration without unit',
      object: microService((ms) => {
        ms.spec.traffic = { timeout: '2' };
      }),
      errors: [`spec.traffic.timeout: must match pattern "${DURATION_PATTERN}"`],
    },
    {
      name: 'a probe port that is neither number nor name',
      object: microService((ms) => {
        ms.spec.probes = { readiness: { httpGet: { port: true as unknown as number } } };
      }),
      errors: ['spec.probes.readiness.httpGet.port: must be an integer or a string'],
    },
  ];
  for (const { name, object, errors } of cases) {
    it(`rejects ${name}, saying where and why`, () => {
      assert.deepEqual(validateMicroService(object), { valid: false, errors });
    });
  }

  it('rejects a Rollout without a strategy and a DatabaseServer with an unknown engine', () => {
    assert.deepEqual(
      validateRollout({ apiVersion: API_VERSION, kind: 'Rollout', metadata: { name: 'a' }, spec: { serviceRef: {} } }),
      { valid: false, errors: ['spec.strategy: is required', 'spec.serviceRef.name: is required'] },
    );
    const server = {
      apiVersion: API_VERSION,
      kind: 'DatabaseServer',
      metadata: { name: 'oracle' },
      spec: { engine: 'oracle', host: 'db', port: 1521, adminSecretRef: { namespace: 'a', name: 'b' } },
    };
    assert.deepEqual(validateDatabaseServer(server), {
      valid: false,
      errors: ['spec.engine: must be one of "postgres", "mysql", "redis", "rabbitmq"'],
    });
  });

  it('spells field paths as kubectl does', () => {
    assert.equal(fieldPath('/spec/ports/0/name'), 'spec.ports[0].name');
    assert.equal(fieldPath(''), '<root>');
    assert.equal(fieldPath('/metadata/annotations/a~1b'), 'metadata.annotations.a/b');
  });
});

describe('validate agrees with the API server', () => {
  // The API server's words for a failed schema check; the CEL rules answer with their own messages.
  const schemaLevel =
    /should be|should match|should have|Required value|Unsupported value|may not be more|unknown field/;

  it('rejects every create of the bad-input catalogue, with the same message for the CEL rules', async () => {
    const { BAD_CREATES } = await import('../../../e2e/integration/bad-input/catalogue.ts');
    for (const { name, manifest, message } of BAD_CREATES) {
      const validate = validators[String(manifest.kind)];
      assert.ok(validate);
      const result = validate(manifest);
      assert.equal(result.valid, false, `ajv accepts ${name}`);
      if (!schemaLevel.test(message)) {
        const errors = result.errors ?? [];
        assert.ok(
          errors.some((error) => error.includes(message)),
          `${name}: expected "${message}" among\n${errors.join('\n')}`,
        );
      }
    }
  });

  it('reports a CEL rule at its field, as kubectl does', () => {
    const object = microService((ms) => {
      ms.spec.traffic = { timeout: '1s', retries: { attempts: 3, perTryTimeout: '500ms' } };
      ms.spec.dependsOn = ['orders'];
    });
    assert.deepEqual(validateMicroService(object), {
      valid: false,
      errors: [
        'spec.dependsOn: spec.dependsOn must not name the service itself',
        'spec.traffic: retries.attempts × retries.perTryTimeout must not exceed timeout: the timeout would cut the last retries off',
      ],
    });
  });
});
