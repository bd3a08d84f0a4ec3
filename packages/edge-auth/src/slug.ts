// The user slug of docs/CONTRACTS.md ("Names and keys"), computed by @openhands-team/contracts; this module only remembers answers.
import { userSlug as computeUserSlug } from "@openhands-team/contracts";

// A pure function of `sub`, asked on every authenticated request: the last few thousand answers are kept (a hash costs a
// warm request about 6 %). Emptied when full, so its size stays bounded whatever subs arrive.
const SLUG_CACHE_SIZE = 4096;
const slugs = new Map<string, string>();

/** `userSlug` of @openhands-team/contracts, remembered. */
export function userSlug(sub: string): string {
  let slug = slugs.get(sub);
  if (slug === undefined) {
    slug = computeUserSlug(sub);
    if (slugs.size >= SLUG_CACHE_SIZE) slugs.clear();
    slugs.set(sub, slug);
  }
  return slug;
}
