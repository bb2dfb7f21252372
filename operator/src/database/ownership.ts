// Flotilla's mark of ownership on a server, pure: what it says, and what may be done with a database,
// role or ACL user given what the server holds. Whatever exists without Flotilla's mark was made by someone
// else, and is never altered unless the DatabaseServer allows adoption.

/** The mark's text, as stored on the server (postgres: the object's COMMENT). */
export const OWNER_MARK_PREFIX = 'flotilla.dev/owner=';

/** `flotilla.dev/owner=<namespace>/<name>`. Pure. */
export function formatOwnerMark(owner: string): string {
  return `${OWNER_MARK_PREFIX}${owner}`;
}

/** The owner a mark names, or undefined when the text is not Flotilla's mark. Pure. */
export function parseOwnerMark(text: string | null | undefined): string | undefined {
  if (!text?.startsWith(OWNER_MARK_PREFIX)) return undefined;
  const owner = text.slice(OWNER_MARK_PREFIX.length).trim();
  return owner || undefined;
}

/** What the server holds under a name: nothing, or an object with Flotilla's mark (owner) or without one. */
export type Found = { exists: false } | { exists: true; owner: string | undefined };

/** What ensureDatabase (ensureCacheUser) will do with one object. */
export type Claim = 'create' | 'ours' | 'adopt';

export type OwnedObject = 'database' | 'role' | 'user' | 'ACL user' | 'broker user';

/**
 * An object exists on the server and belongs to someone else: another MicroService (its mark names it),
 * or nobody Flotilla knows (no mark). Nothing was changed.
 */
export class OwnershipConflictError extends Error {
  override name = 'OwnershipConflictError';
  readonly object: OwnedObject;
  readonly objectName: string;
  /** The MicroService (`namespace/name`) the mark names; undefined when there is no mark. */
  readonly markedOwner: string | undefined;
  /** Unmarked and holding administrative powers: refused even where adoption is allowed. */
  readonly privileged: boolean;
  constructor(object: OwnedObject, objectName: string, markedOwner: string | undefined, privileged = false) {
    super(
      markedOwner
        ? `${object} ${objectName} belongs to MicroService ${markedOwner}`
        : `${object} ${objectName} exists and was not created by Flotilla${privileged ? '; it has administrative privileges and is never adopted' : ''}`,
    );
    this.object = object;
    this.objectName = objectName;
    this.markedOwner = markedOwner;
    this.privileged = privileged;
  }
}

/**
 * What may be done with one object: create it when missing; use it when its mark names `owner`; adopt it
 * when it has no mark and adoption is allowed. Anything else throws OwnershipConflictError. Pure.
 */
export function decideClaim(
  object: OwnedObject,
  name: string,
  found: Found,
  request: { owner: string; adopt?: boolean },
): Claim {
  if (!found.exists) return 'create';
  if (found.owner === request.owner) return 'ours';
  if (found.owner !== undefined) throw new OwnershipConflictError(object, name, found.owner);
  if (request.adopt) return 'adopt';
  throw new OwnershipConflictError(object, name, undefined);
}
