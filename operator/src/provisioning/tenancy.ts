// Who may use a DatabaseServer, pure: spec.allowedNamespaces (the Gateway API's `from: All | Same |
// Selector`) and spec.adoption. Checked before anything is done on the server or in the namespace.
import type { AllowedNamespaces, LabelSelector } from '../api/databaseserver.ts';

/** The parts of a DatabaseServer's spec that say who may use it. */
export interface TenancySpec {
  adminSecretRef?: { namespace?: string };
  allowedNamespaces?: AllowedNamespaces;
  adoption?: { allowed?: boolean; namespaces?: string[] };
}

/** Whether `labels` satisfy a metav1.LabelSelector (matchLabels and matchExpressions, ANDed). Pure. */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    const ok =
      operator === 'In'
        ? has && values.includes(value ?? '')
        : operator === 'NotIn'
          ? !has || !values.includes(value ?? '')
          : operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

export type NamespaceVerdict = { allowed: true } | { allowed: false; message: string };

/**
 * Whether a MicroService in `namespace` may use the server `serverName`. `Same` means the namespace of the
 * admin Secret (a cluster-scoped server has none of its own). `labels` are the namespace's, undefined when
 * the namespace is not (yet) known: then a Selector admits nothing. Pure.
 */
export function checkNamespaceAllowed(
  serverName: string,
  spec: TenancySpec,
  namespace: string,
  labels: Readonly<Record<string, string>> | undefined,
): NamespaceVerdict {
  const from = spec.allowedNamespaces?.from ?? 'All';
  if (from === 'All') return { allowed: true };
  if (from === 'Same') {
    const same = spec.adminSecretRef?.namespace ?? '';
    return namespace === same
      ? { allowed: true }
      : {
          allowed: false,
          message: `DatabaseServer ${serverName} admits only namespace ${same} (allowedNamespaces.from: Same), not ${namespace}`,
        };
  }
  const selector = spec.allowedNamespaces?.selector ?? {};
  if (labels && labelSelectorMatches(selector, labels)) return { allowed: true };
  return {
    allowed: false,
    message: `DatabaseServer ${serverName} admits only namespaces matching its allowedNamespaces.selector; ${namespace} does not match`,
  };
}

/** Whether a MicroService in `namespace` may take over what exists on the server without Flotilla's mark. Pure. */
export function adoptionAllowed(spec: TenancySpec, namespace: string): boolean {
  return spec.adoption?.allowed === true && (spec.adoption.namespaces ?? []).includes(namespace);
}
