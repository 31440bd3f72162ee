/**
 * What docs/iam/cws-cli-policy.json decides that cws can tell before AWS does:
 * which base images a holder of the policy may launch from. RunInstances is
 * authorized against the image too (docs/decisions.md §48), so a build from
 * any other image is denied at launch, after its preflight has passed; the dry
 * run says so first. test/aws/iam-policy-facts.test.ts holds these facts equal
 * to the policy file, so neither changes without the other. Imports no SDK.
 */
import { ownValue } from "../own-keys.js";
import type { ImageInfo } from "./ports.js";

/**
 * The `ec2:Owner` values of LaunchFromDistributionImages, and whose each is.
 * Amazon twice: AWS's examples use the alias, and Amazon Linux images report
 * the account id (§48).
 */
export const DISTRIBUTION_IMAGE_OWNERS: Readonly<Record<string, string>> = {
  amazon: "Amazon",
  "137112412989": "Amazon",
  "099720109477": "Canonical",
  "136693071363": "Debian",
};

/** Whose images LaunchFromDistributionImages allows, in words: `Amazon, Canonical or Debian`. */
export function distributionsInWords(): string {
  const names = [...new Set(Object.values(DISTRIBUTION_IMAGE_OWNERS))];
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
}

/** The tag LaunchFromCwsImages reads (`aws:ResourceTag/cws:managed-by`). */
const CWS_IMAGE_TAG = { key: "cws:managed-by", value: "cws" } as const;

/**
 * Whether the policy lets its holder launch from `image`, and by which
 * statement: a cws image (LaunchFromCwsImages), an image of a listed owner
 * (LaunchFromDistributionImages, by its owner's alias or id), or neither.
 */
export type ImageLaunch =
  | { allowed: true; statement: "LaunchFromCwsImages" }
  | { allowed: true; statement: "LaunchFromDistributionImages"; owner: string; distribution: string }
  | { allowed: false; owner: string };

export function imageLaunch(image: Pick<ImageInfo, "ownerId" | "ownerAlias" | "tags">): ImageLaunch {
  if (ownValue(image.tags, CWS_IMAGE_TAG.key) === CWS_IMAGE_TAG.value) return { allowed: true, statement: "LaunchFromCwsImages" };
  for (const owner of [image.ownerId, image.ownerAlias]) {
    const distribution = owner === undefined ? undefined : ownValue(DISTRIBUTION_IMAGE_OWNERS, owner);
    if (owner !== undefined && distribution !== undefined) return { allowed: true, statement: "LaunchFromDistributionImages", owner, distribution };
  }
  return { allowed: false, owner: image.ownerAlias !== undefined ? `${image.ownerAlias} (${image.ownerId})` : image.ownerId };
}
