// The API server itself refuses bad Flotilla objects, with a message a person understands, and
// creates nothing. The catalogue lives in bad-input/catalogue.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { ensureNamespace, installCrds, kubectlFails } from './api-support.ts';
import { BAD_CREATES, BAD_INPUT_NAMESPACE, BAD_UPDATES, GOOD_UPDATES } from './bad-input/catalogue.ts';

const cluster = await connectToCluster();

type Json = Record<string, unknown>;
const metadataOf = (manifest: Json) => manifest.metadata as { name: string; namespace?: string };

/** kubectl arguments naming the object: `microservice.flotilla.dev NAME -n NS`. */
function target(manifest: Json): string[] {
  const kind = `${String(manifest.kind).toLowerCase()}.flotilla.dev`;
  const { name, namespace } = metadataOf(manifest);
  return [kind, name, ...(namespace ? ['-n', namespace] : [])];
}

async function getJson(manifest: Json): Promise<Json> {
  return JSON.parse(await cluster.kubectl(['get', ...target(manifest), '-o', 'json'])) as Json;
}

async function deleteQuietly(manifests: Json[]): Promise<void> {
  const list = { apiVersion: 'v1', kind: 'List', items: manifests };
  await cluster.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: JSON.stringify(list) });
}

const everyObject = [...BAD_CREATES.map((c) => c.manifest), ...BAD_UPDATES.map((u) => u.original)].concat(
  GOOD_UPDATES.map((u) => u.original),
);

// The cases are independent objects: a few at a time keeps the run short.
describe('the API server refuses bad input', { concurrency: 4 }, () => {
  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, BAD_INPUT_NAMESPACE);
    // Leftovers of an interrupted run would make "nothing was created" or the updates meaningless.
    await deleteQuietly(everyObject);
  });

  after(async () => {
    await deleteQuietly([...BAD_UPDATES, ...GOOD_UPDATES].map((u) => u.original));
  });

  it(`has a catalogue of at least 30 invalid manifests (${BAD_CREATES.length + BAD_UPDATES.length})`, () => {
    assert.ok(BAD_CREATES.length + BAD_UPDATES.length >= 30);
    const names = BAD_CREATES.map((c) => `${c.manifest.kind}/${metadataOf(c.manifest).name}`);
    assert.equal(new Set(names).size, names.length, 'each bad object has a name of its own');
  });

  for (const { name, manifest, message } of BAD_CREATES) {
    it(`refuses ${name}: "${message}"`, async () => {
      const stderr = await kubectlFails(cluster, ['create', '-f', '-'], { input: JSON.stringify(manifest) });
      assert.ok(stderr.includes(message), `expected the answer to contain\n  ${message}\nbut it was\n  ${stderr}`);
      const notFound = await kubectlFails(cluster, ['get', ...target(manifest)]);
      assert.match(notFound, /NotFound|not found/, 'the refused object must not exist');
    });
  }

  for (const { name, original, patch, message } of BAD_UPDATES) {
    it(`refuses ${name} once created: "${message}"`, async () => {
      await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(original) });
      const before = await getJson(original);
      const stderr = await kubectlFails(cluster, [
        'patch',
        ...target(original),
        '--type',
        'merge',
        '-p',
        JSON.stringify(patch),
      ]);
      assert.ok(stderr.includes(message), `expected the answer to contain\n  ${message}\nbut it was\n  ${stderr}`);
      const unchanged = await getJson(original);
      assert.deepEqual(unchanged.spec, before.spec, 'the refused update must leave the object as it was');
    });
  }

  for (const { name, original, patches } of GOOD_UPDATES) {
    it(`accepts ${name}`, async () => {
      await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(original) });
      for (const patch of patches) {
        await cluster.kubectl(['patch', ...target(original), '--type', 'merge', '-p', JSON.stringify(patch)]);
      }
      const spec = (await getJson(original)).spec as Json;
      for (const request of ['promote', 'abort']) assert.equal(spec[request], undefined, `${request} was cleared`);
    });
  }

  it('created nothing beside the objects of the update cases', async () => {
    const listed = await cluster.kubectl([
      'get',
      'microservices.flotilla.dev,rollouts.flotilla.dev',
      '-n',
      BAD_INPUT_NAMESPACE,
      '-o',
      'name',
    ]);
    const names = listed
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf('/') + 1));
    const expected = [...BAD_UPDATES, ...GOOD_UPDATES].map((u) => metadataOf(u.original).name);
    assert.deepEqual(
      names.filter((name) => !expected.includes(name)),
      [],
    );
    const servers = await cluster.kubectl(['get', 'databaseservers.flotilla.dev', '-o', 'name']);
    assert.doesNotMatch(servers, /bad-input-/);
  });
});
