// Reading Kubernetes manifests: multi-document YAML, as kubectl takes it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The objects of a multi-document YAML text, empty documents left out. */
export function parseManifests(text: string): Manifest[] {
  return loadAll(text).filter((document): document is Manifest => typeof document === 'object' && document !== null);
}

/** Every object of every .yaml file of a folder, files in name order (the order kubectl apply -f uses). */
export function readManifestDir(dir: string): { file: string; manifest: Manifest }[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
  return files.flatMap((file) =>
    parseManifests(readFileSync(join(dir, file), 'utf8')).map((manifest) => ({ file, manifest })),
  );
}
