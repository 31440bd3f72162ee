import type { SsmPort } from "../aws/ports.js";
import type { Architecture } from "../template/schema.js";
import { ssmParameterName } from "./operations.js";

/**
 * Write the current AMI of a target where running systems read it without the
 * git file: /cloudworkstation/amis/<template>/<region>/<arch>, in the target's
 * region (`ssm` is that region's port). Returns the parameter's name.
 */
export async function publishAmiToSsm(ssm: SsmPort, target: { templateId: string; region: string; architecture: Architecture }, amiId: string): Promise<string> {
  const name = ssmParameterName(target.templateId, target.region, target.architecture);
  await ssm.putParameter(name, amiId, { overwrite: true, description: `Current cws AMI for ${target.templateId} (${target.architecture})` });
  return name;
}
