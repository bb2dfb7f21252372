// The CRDs of Istio and of the Gateway API, so that the local cluster serves the route kinds the
// MicroService controller writes (VirtualService, DestinationRule, HTTPRoute). The real ones, as
// their projects publish them, come from their Go modules through the Go module proxy
// (`go mod download`) and are kept in ~/.cache/flotilla/route-crds/<module>@<version>/; only when
// neither Go nor that cache can provide them do minimal stand-ins take their place (any fields
// accepted), and the caller is told so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, loadAll } from 'js-yaml';

export interface RouteCrdSource {
  /** What a person calls it. */
  name: string;
  module: string;
  version: string;
  /** Files or folders of YAML inside the module. */
  paths: string[];
  /** The kinds the controller needs, should the real CRDs be out of reach. */
  standIns: { group: string; kind: string; plural: string }[];
}

/** Pinned: the versions `npm start` installs. */
export const ROUTE_CRD_SOURCES: RouteCrdSource[] = [
  {
    name: 'Istio',
    module: 'istio.io/api',
    version: 'v1.31.4',
    paths: ['kubernetes/customresourcedefinitions.gen.yaml'],
    standIns: [
      { group: 'networking.istio.io', kind: 'VirtualService', plural: 'virtualservices' },
      { group: 'networking.istio.io', kind: 'DestinationRule', plural: 'destinationrules' },
    ],
  },
  {
    name: 'Gateway API (standard channel)',
    module: 'sigs.k8s.io/gateway-api',
    version: 'v1.3.0',
    paths: ['config/crd/standard'],
    standIns: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', plural: 'httproutes' }],
  },
];

export interface RouteCrds {
  source: RouteCrdSource;
  /** One YAML file holding every CRD of the source. */
  file: string;
  /** The names of those CRDs (`plural.group`), to wait for. */
  names: string[];
  /** How they were had: the proxy now, the cache of an earlier start, or stand-ins. */
  origin: 'go-module' | 'cache' | 'stand-in';
  /** Why stand-ins, when they are. */
  note?: string;
}

/** A namespaced CRD of `kind` in `group`, version v1, any fields, with a status subresource. */
export function anyFieldsCrd(group: string, kind: string, plural: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` } as { name: string; annotations?: Record<string, string> },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          subresources: { status: {} },
        },
      ],
    },
  };
}

/** A CRD of `kind` in `group`, version v1, with any fields: what stands in for the real one. */
export function standInCrd(group: string, kind: string, plural: string): object {
  const crd = anyFieldsCrd(group, kind, plural);
  crd.metadata.annotations = { 'flotilla.dev/stand-in': 'a minimal stand-in of the real CRD, made by npm start' };
  return crd;
}

/** The names of the CRDs in a YAML text. */
export function crdNames(yaml: string): string[] {
  return (loadAll(yaml) as { kind?: string; metadata?: { name?: string } }[])
    .filter((doc) => doc?.kind === 'CustomResourceDefinition' && doc.metadata?.name)
    .map((doc) => String(doc.metadata?.name));
}

function yamlFilesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml')
    .sort()
    .map((name) => join(path, name));
}

/** `go mod download -json module@version`: the module's folder, or why not. */
function goModuleDir(module: string, version: string): { dir?: string; error?: string } {
  const result = spawnSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
    encoding: 'utf8',
    timeout: 180_000,
    cwd: '/',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  if (result.error) return { error: `go: ${result.error.message}` };
  try {
    const answer = JSON.parse(result.stdout) as { Dir?: string; Error?: string };
    if (answer.Dir) return { dir: answer.Dir };
    return { error: answer.Error ?? `go mod download exited ${result.status}` };
  } catch {
    return { error: (result.stderr || `go mod download exited ${result.status}`).trim() };
  }
}

/** The CRDs of each source, in one file each under `cacheDir`; fetched once per version. */
export function routeCrds(cacheDir: string, sources: RouteCrdSource[] = ROUTE_CRD_SOURCES): RouteCrds[] {
  return sources.map((source) => {
    const dir = join(cacheDir, `${source.module.replaceAll('/', '_')}@${source.version}`);
    const file = join(dir, 'crds.yaml');
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      return { source, file, names: crdNames(text), origin: 'cache' };
    }
    const fetched = goModuleDir(source.module, source.version);
    if (fetched.dir) {
      const moduleDir = fetched.dir;
      const header = `# ${source.name} CRDs from the Go module ${source.module}@${source.version} (${source.paths.join(', ')})\n`;
      const text =
        header +
        source.paths
          .flatMap((path) => yamlFilesUnder(join(moduleDir, path)))
          .map((path) => readFileSync(path, 'utf8').replace(/^---\s*\n/, ''))
          .join('\n---\n');
      const names = crdNames(text);
      if (names.length > 0) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, text);
        return { source, file, names, origin: 'go-module' };
      }
      fetched.error = `no CRD in ${source.paths.join(', ')} of ${source.module}@${source.version}`;
    }
    const standInFile = join(cacheDir, 'stand-ins', `${source.module.replaceAll('/', '_')}.yaml`);
    const crds = source.standIns.map((s) => standInCrd(s.group, s.kind, s.plural));
    mkdirSync(join(cacheDir, 'stand-ins'), { recursive: true });
    writeFileSync(standInFile, crds.map((crd) => dump(crd)).join('---\n'));
    return {
      source,
      file: standInFile,
      names: crdNames(readFileSync(standInFile, 'utf8')),
      origin: 'stand-in',
      note: `the real CRDs could not be had (${fetched.error})`,
    };
  });
}
