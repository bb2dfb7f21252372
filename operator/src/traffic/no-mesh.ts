// No mesh installed: no routes. A Rollout's canary is then split by pod counts (trafficRouting
// `replicas`), every pod behind the service's one Service.
import type { Router } from './router.ts';
import { RoutesReadyReason } from './router.ts';

export const noMeshRouter: Router = {
  name: 'none',
  kinds: [],
  buildRoutes(ms) {
    const unserved = ms.spec.expose ? `; ${ms.spec.expose.hosts.join(', ')} is not served` : '';
    return {
      objects: [],
      condition: {
        status: 'False',
        reason: RoutesReadyReason.NoMeshInstalled,
        message: `neither Istio nor the Gateway API is installed; no routes were written${unserved}`,
      },
    };
  },
  buildSplitServices: () => [],
};
