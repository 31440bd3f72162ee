import type { Architecture, BaseAmiAlias } from "../template/schema.js";

/**
 * Base image aliases resolve through the public SSM parameters that the
 * distributions publish in every region, so a build always starts from the
 * current image without anyone updating an id:
 * - Canonical: /aws/service/canonical/ubuntu/server/<release>/stable/current/<arch>/hvm/<volume>/ami-id
 * - Amazon:    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch>
 * - Debian:    /aws/service/debian/release/<release>/latest/<arch>
 * Canonical and Debian say amd64 where EC2 says x86_64.
 */
export function baseImageParameter(alias: BaseAmiAlias, architecture: Architecture): string {
  const debArch = architecture === "x86_64" ? "amd64" : "arm64";
  switch (alias) {
    case "ubuntu-22.04-lts":
      return `/aws/service/canonical/ubuntu/server/22.04/stable/current/${debArch}/hvm/ebs-gp2/ami-id`;
    case "ubuntu-24.04-lts":
      return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${debArch}/hvm/ebs-gp3/ami-id`;
    case "amazon-linux-2023":
      return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
    case "debian-12":
      return `/aws/service/debian/release/12/latest/${debArch}`;
  }
}
