/** One way of providing the cluster: kind (on Docker, or on Podman with a node image built here), or the local control plane. */
export interface ClusterBackend {
  name: string;
  /** Brings the cluster up, or reuses it when it is already up; realNode adds a real kubelet node. */
  up(options?: { realNode?: boolean }): Promise<void>;
  /** Moves a locally built image (Podman's storage) into the cluster's real node, or every kind node. */
  loadImage?(image: string): Promise<void>;
  /** Removes the cluster and every process of it; harmless when there is none. */
  down(): Promise<void>;
  /** Stops the cluster's API server, keeping every object (unlike down); harmless when it is stopped. */
  stop(): Promise<void>;
  /** Starts a stopped cluster again with its objects, and waits for /readyz and Ready nodes. */
  start(): Promise<void>;
  status(): Promise<ClusterStatus>;
  kubeconfigPath(): string;
}

export interface ClusterStatus {
  running: boolean;
  /** What a person reads: what runs, where, and where its kubeconfig is. */
  lines: string[];
}

export type BackendName = 'kind' | 'local';

/**
 * kind when a Docker engine answers and kind is on PATH; the local control plane otherwise.
 * FLOTILLA_CLUSTER_BACKEND=kind|local overrides the choice.
 */
export function chooseBackend(override: string | undefined, dockerAnswers: boolean, kindOnPath: boolean): BackendName {
  if (override === 'kind' || override === 'local') return override;
  if (override) throw new Error(`FLOTILLA_CLUSTER_BACKEND must be "kind" or "local", not ${JSON.stringify(override)}`);
  return dockerAnswers && kindOnPath ? 'kind' : 'local';
}

export type StopStartAction = 'act' | 'nothing-to-do';

/**
 * What `stop` or `start` does, given whether the cluster exists and whether its API server answers:
 * act, do nothing (already stopped / already running), or fail because there is no cluster —
 * `start` never creates one (that is `up`, which would start from an empty etcd).
 */
export function planStopStart(command: 'stop' | 'start', exists: boolean, answering: boolean): StopStartAction {
  if (!exists) {
    throw new Error(`there is no cluster to ${command}: \`npm run cluster -- up\` creates one`);
  }
  if (command === 'stop') return answering ? 'act' : 'nothing-to-do';
  return answering ? 'nothing-to-do' : 'act';
}
