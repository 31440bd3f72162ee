import type { SimClock } from "./clock.js";
import { stableId } from "./ids.js";
import { BASE_IMAGE_FAMILIES, PUBLIC_AMI_PARAMETERS, type PublicAmiParameter } from "./public-amis.js";
import { RegionState, type Image, type Parameter, type World } from "./state.js";

/** Any well-formed region name is served. */
export const REGION_NAME = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

/** "us-east-1" → "use1", as in zone ids such as use1-az1. */
export function regionShortName(region: string): string {
  const [geo = "", dir = "", num = ""] = region.split("-");
  const compass: Record<string, string> = {
    east: "e",
    west: "w",
    north: "n",
    south: "s",
    central: "c",
    northeast: "ne",
    northwest: "nw",
    southeast: "se",
    southwest: "sw",
  };
  return `${geo}${compass[dir] ?? dir.slice(0, 1)}${num}`;
}

/** A new region: a default VPC with three default subnets, its default security group, and the public base images. */
export function createRegion(world: World, name: string): RegionState {
  const r = new RegionState(name);
  const vpcId = stableId("vpc", `${name}/default-vpc`);
  r.vpcs.set(vpcId, { id: vpcId, cidr: "172.31.0.0/16", isDefault: true, dhcpOptionsId: stableId("dopt", name), tags: new Map() });
  ["a", "b", "c"].forEach((letter, i) => {
    const id = stableId("subnet", `${name}/default-${letter}`);
    r.subnets.set(id, {
      id,
      vpcId,
      availabilityZone: `${name}${letter}`,
      availabilityZoneId: `${regionShortName(name)}-az${i + 1}`,
      cidr: `172.31.${i * 16}.0/20`,
      defaultForAz: true,
      nextHost: 10,
      tags: new Map(),
    });
  });
  const sgId = stableId("sg", `${name}/default-sg`);
  r.securityGroups.set(sgId, {
    id: sgId,
    name: "default",
    description: "default VPC security group",
    vpcId,
    ownerId: world.accountId,
    isDefault: true,
    tags: new Map(),
  });

  for (const family of BASE_IMAGE_FAMILIES) {
    for (const seed of family.images) {
      const id = stableId("ami", `${name}/${seed.name}`);
      const snapshotId = stableId("snap", `${name}/${seed.name}`);
      r.snapshots.set(snapshotId, {
        id: snapshotId,
        region: name,
        volumeSize: family.volumeSizeGiB,
        ownerId: family.ownerId,
        startedAt: -86_000,
        completeAt: -86_000,
        encrypted: false,
        tags: new Map(),
      });
      const image: Image = {
        id,
        region: name,
        name: seed.name,
        description: seed.description,
        ownerId: family.ownerId,
        ownerAlias: family.ownerAlias,
        public: true,
        architecture: seed.architecture,
        family: family.key,
        availableAt: -86_000,
        creationDate: seed.creationDate,
        rootDeviceName: family.rootDeviceName,
        devices: [
          {
            deviceName: family.rootDeviceName,
            snapshotId,
            size: family.volumeSizeGiB,
            type: family.volumeType,
            encrypted: false,
            deleteOnTermination: true,
          },
        ],
        tags: new Map(),
        imdsSupport: family.imdsSupport,
        bootMode: family.bootMode,
        treeReady: true,
        treePromise: Promise.resolve(),
      };
      r.images.set(id, image);
    }
  }
  return r;
}

/** The value of a public AMI parameter in a region: the id of the newest matching image. */
export function resolvePublicParameter(region: RegionState, p: PublicAmiParameter): { image: Image } | undefined {
  const family = BASE_IMAGE_FAMILIES.find((f) => f.key === p.family);
  if (!family) return undefined;
  let newest: Image | undefined;
  for (const img of region.images.values()) {
    if (img.ownerId !== family.ownerId || img.architecture !== p.architecture || !p.namePattern.test(img.name)) continue;
    if (!newest || img.creationDate > newest.creationDate) newest = img;
  }
  return newest ? { image: newest } : undefined;
}

export function publicParameter(region: RegionState, name: string, clock: Pick<SimClock, "simAt">): Parameter | undefined {
  const p = PUBLIC_AMI_PARAMETERS.find((q) => q.name === name);
  if (!p) return undefined;
  const resolved = resolvePublicParameter(region, p);
  if (!resolved) return undefined;
  return {
    name: p.name,
    type: "String",
    value: resolved.image.id,
    version: 1,
    lastModified: clock.simAt(Date.parse(resolved.image.creationDate)),
    dataType: "text",
  };
}
