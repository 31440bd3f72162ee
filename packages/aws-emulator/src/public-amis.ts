/**
 * Reference data: the public base images the emulator seeds into every
 * region, and the public SSM parameters that vendors publish to point at the
 * newest of them. Tests and code can import this to know what to expect.
 *
 * Owners, name patterns and parameter paths follow what Canonical, Amazon and
 * Debian really publish; the image dates and ids are made up.
 */

export type Architecture = "x86_64" | "arm64";

export const CANONICAL_OWNER_ID = "099720109477";
export const AMAZON_OWNER_ID = "137112412989";
export const DEBIAN_OWNER_ID = "136693071363";

export type FamilyKey = "ubuntu-22.04" | "ubuntu-24.04" | "al2023" | "debian-12";

export interface OsRelease {
  /** `ID` in /etc/os-release */
  id: string;
  versionId: string;
  prettyName: string;
  name: string;
  codename?: string;
  idLike?: string;
  /** The default login user that cloud-init creates on this distribution. */
  defaultUser: string;
  /** What SSM reports as PlatformName / PlatformVersion. */
  platformName: string;
  platformVersion: string;
}

export interface SeedImage {
  /** Image name, exactly in the vendor's naming scheme. */
  name: string;
  architecture: Architecture;
  /** ISO-8601 CreationDate. */
  creationDate: string;
  description: string;
  /** Decoys share the owner but are not what the family's parameters point at. */
  decoy?: boolean;
}

export interface BaseImageFamily {
  key: FamilyKey;
  ownerId: string;
  /** `ImageOwnerAlias` ("amazon" for Amazon's images, none for Canonical and Debian). */
  ownerAlias?: string;
  rootDeviceName: string;
  volumeType: "gp2" | "gp3";
  volumeSizeGiB: number;
  /** "v2.0" makes new instances default to IMDSv2 (HttpTokens=required). */
  imdsSupport?: "v2.0";
  bootMode?: "uefi-preferred" | "uefi" | "legacy-bios";
  os: OsRelease;
  images: readonly SeedImage[];
}

function ubuntuImages(release: "22.04" | "24.04"): SeedImage[] {
  const codename = release === "22.04" ? "jammy" : "noble";
  const dir = release === "22.04" ? "hvm-ssd" : "hvm-ssd-gp3";
  const dates = release === "22.04" ? ["20231201", "20240301", "20240701"] : ["20240423", "20240801", "20241109"];
  const out: SeedImage[] = [];
  for (const date of dates) {
    for (const [arch, debArch] of [["x86_64", "amd64"], ["arm64", "arm64"]] as const) {
      out.push({
        name: `ubuntu/images/${dir}/ubuntu-${codename}-${release}-${debArch}-server-${date}`,
        architecture: arch,
        creationDate: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T08:00:00.000Z`,
        description: `Canonical, Ubuntu, ${release}, ${debArch} ${codename} image`,
      });
    }
  }
  // Newer images from the same owner that a too-broad name filter would pick.
  for (const [arch, debArch] of [["x86_64", "amd64"], ["arm64", "arm64"]] as const) {
    out.push({
      name: `ubuntu-minimal/images/${dir}/ubuntu-${codename}-${release}-${debArch}-minimal-20241201`,
      architecture: arch,
      creationDate: "2024-12-01T08:00:00.000Z",
      description: `Canonical, Ubuntu Minimal, ${release}, ${debArch} ${codename} image`,
      decoy: true,
    });
    out.push({
      name: `ubuntu-pro-server/images/${dir}/ubuntu-${codename}-${release}-${debArch}-pro-server-20241202`,
      architecture: arch,
      creationDate: "2024-12-02T08:00:00.000Z",
      description: `Canonical, Ubuntu Pro, ${release}, ${debArch} ${codename} image`,
      decoy: true,
    });
  }
  return out;
}

function al2023Images(): SeedImage[] {
  const versions: Array<[string, string]> = [
    ["2023.5.20240819.0", "2024-08-19T20:00:00.000Z"],
    ["2023.6.20241010.0", "2024-10-10T20:00:00.000Z"],
    ["2023.6.20241121.0", "2024-11-21T20:00:00.000Z"],
  ];
  const out: SeedImage[] = [];
  for (const [version, date] of versions) {
    for (const arch of ["x86_64", "arm64"] as const) {
      out.push({
        name: `al2023-ami-${version}-kernel-6.1-${arch}`,
        architecture: arch,
        creationDate: date,
        description: `Amazon Linux 2023 AMI ${version} ${arch} HVM kernel-6.1`,
      });
    }
  }
  for (const arch of ["x86_64", "arm64"] as const) {
    out.push({
      name: `al2023-ami-minimal-2023.6.20241212.0-kernel-6.1-${arch}`,
      architecture: arch,
      creationDate: "2024-12-12T20:00:00.000Z",
      description: `Amazon Linux 2023 AMI 2023.6.20241212.0 ${arch} Minimal HVM kernel-6.1`,
      decoy: true,
    });
  }
  return out;
}

function debianImages(): SeedImage[] {
  const builds: Array<[string, string]> = [
    ["20240507-1740", "2024-05-07T18:00:00.000Z"],
    ["20240717-1811", "2024-07-17T18:00:00.000Z"],
    ["20241004-1890", "2024-10-04T18:00:00.000Z"],
  ];
  const out: SeedImage[] = [];
  for (const [build, date] of builds) {
    for (const [arch, debArch] of [["x86_64", "amd64"], ["arm64", "arm64"]] as const) {
      out.push({
        name: `debian-12-${debArch}-${build}`,
        architecture: arch,
        creationDate: date,
        description: `Debian 12 (${build})`,
      });
    }
  }
  return out;
}

export const BASE_IMAGE_FAMILIES: readonly BaseImageFamily[] = [
  {
    key: "ubuntu-22.04",
    ownerId: CANONICAL_OWNER_ID,
    rootDeviceName: "/dev/sda1",
    volumeType: "gp2",
    volumeSizeGiB: 8,
    os: {
      id: "ubuntu",
      idLike: "debian",
      versionId: "22.04",
      codename: "jammy",
      name: "Ubuntu",
      prettyName: "Ubuntu 22.04.5 LTS",
      defaultUser: "ubuntu",
      platformName: "Ubuntu",
      platformVersion: "22.04",
    },
    images: ubuntuImages("22.04"),
  },
  {
    key: "ubuntu-24.04",
    ownerId: CANONICAL_OWNER_ID,
    rootDeviceName: "/dev/sda1",
    volumeType: "gp3",
    volumeSizeGiB: 8,
    bootMode: "uefi-preferred",
    os: {
      id: "ubuntu",
      idLike: "debian",
      versionId: "24.04",
      codename: "noble",
      name: "Ubuntu",
      prettyName: "Ubuntu 24.04.1 LTS",
      defaultUser: "ubuntu",
      platformName: "Ubuntu",
      platformVersion: "24.04",
    },
    images: ubuntuImages("24.04"),
  },
  {
    key: "al2023",
    ownerId: AMAZON_OWNER_ID,
    ownerAlias: "amazon",
    rootDeviceName: "/dev/xvda",
    volumeType: "gp3",
    volumeSizeGiB: 8,
    imdsSupport: "v2.0",
    bootMode: "uefi-preferred",
    os: {
      id: "amzn",
      idLike: "fedora",
      versionId: "2023",
      name: "Amazon Linux",
      prettyName: "Amazon Linux 2023.6.20241121",
      defaultUser: "ec2-user",
      platformName: "Amazon Linux",
      platformVersion: "2023",
    },
    images: al2023Images(),
  },
  {
    key: "debian-12",
    ownerId: DEBIAN_OWNER_ID,
    rootDeviceName: "/dev/xvda",
    volumeType: "gp2",
    volumeSizeGiB: 8,
    os: {
      id: "debian",
      versionId: "12",
      codename: "bookworm",
      name: "Debian GNU/Linux",
      prettyName: "Debian GNU/Linux 12 (bookworm)",
      defaultUser: "admin",
      platformName: "Debian GNU/Linux",
      platformVersion: "12",
    },
    images: debianImages(),
  },
];

export interface PublicAmiParameter {
  /** The parameter name, exactly as the vendor publishes it. */
  name: string;
  family: FamilyKey;
  architecture: Architecture;
  /** Image names the parameter may resolve to; the newest by CreationDate wins. */
  namePattern: RegExp;
}

const UBUNTU_2204 = (deb: string) => new RegExp(`^ubuntu/images/hvm-ssd/ubuntu-jammy-22\\.04-${deb}-server-\\d{8}$`);
const UBUNTU_2404 = (deb: string) => new RegExp(`^ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24\\.04-${deb}-server-\\d{8}$`);
const AL2023 = (arch: string) => new RegExp(`^al2023-ami-2023\\.[\\d.]+-kernel-6\\.1-${arch}$`);
const DEBIAN_12 = (deb: string) => new RegExp(`^debian-12-${deb}-\\d{8}-\\d+$`);

/**
 * The public parameters seeded into every region. Each resolves to the id of
 * the newest matching seeded image of that region.
 */
export const PUBLIC_AMI_PARAMETERS: readonly PublicAmiParameter[] = [
  ...(["22.04", "jammy"] as const).flatMap((rel) =>
    (
      [
        ["amd64", "x86_64"],
        ["arm64", "arm64"],
      ] as const
    ).map(([deb, arch]) => ({
      name: `/aws/service/canonical/ubuntu/server/${rel}/stable/current/${deb}/hvm/ebs-gp2/ami-id`,
      family: "ubuntu-22.04" as const,
      architecture: arch,
      namePattern: UBUNTU_2204(deb),
    })),
  ),
  ...(["24.04", "noble"] as const).flatMap((rel) =>
    (
      [
        ["amd64", "x86_64"],
        ["arm64", "arm64"],
      ] as const
    ).map(([deb, arch]) => ({
      name: `/aws/service/canonical/ubuntu/server/${rel}/stable/current/${deb}/hvm/ebs-gp3/ami-id`,
      family: "ubuntu-24.04" as const,
      architecture: arch,
      namePattern: UBUNTU_2404(deb),
    })),
  ),
  ...(["kernel-default", "kernel-6.1"] as const).flatMap((kernel) =>
    (["x86_64", "arm64"] as const).map((arch) => ({
      name: `/aws/service/ami-amazon-linux-latest/al2023-ami-${kernel}-${arch}`,
      family: "al2023" as const,
      architecture: arch,
      namePattern: AL2023(arch),
    })),
  ),
  ...(["12", "bookworm"] as const).flatMap((rel) =>
    (
      [
        ["amd64", "x86_64"],
        ["arm64", "arm64"],
      ] as const
    ).map(([deb, arch]) => ({
      name: `/aws/service/debian/release/${rel}/latest/${deb}`,
      family: "debian-12" as const,
      architecture: arch,
      namePattern: DEBIAN_12(deb),
    })),
  ),
];

/** The canonical parameter for a family and architecture (the numeric-release form). */
export function publicAmiParameterName(family: FamilyKey, architecture: Architecture): string {
  const found = PUBLIC_AMI_PARAMETERS.find((p) => p.family === family && p.architecture === architecture);
  if (!found) throw new Error(`no public parameter for ${family}/${architecture}`);
  return found.name;
}

/** The seeded image a public parameter resolves to (by name, region-independent). */
export function newestSeedImage(parameter: PublicAmiParameter): SeedImage {
  const family = BASE_IMAGE_FAMILIES.find((f) => f.key === parameter.family);
  const candidates = (family?.images ?? []).filter(
    (i) => !i.decoy && i.architecture === parameter.architecture && parameter.namePattern.test(i.name),
  );
  const newest = candidates.sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0];
  if (!newest) throw new Error(`no seeded image for ${parameter.name}`);
  return newest;
}
