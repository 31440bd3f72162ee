import { EC2_HANDLERS } from "./ec2.js";
import { IAM_HANDLERS, STS_HANDLERS } from "./iam.js";
import { SSM_HANDLERS } from "./ssm.js";

/** Every action the emulator answers, named as IAM names it ("ec2:RunInstances"), read from the dispatch tables. */
export const HANDLED_ACTIONS: readonly string[] = Object.entries({ ec2: EC2_HANDLERS, ssm: SSM_HANDLERS, sts: STS_HANDLERS, iam: IAM_HANDLERS }).flatMap(
  ([service, handlers]) => Object.keys(handlers).map((action) => `${service}:${action}`),
);

/**
 * The emulator answers the actions that cws ami's source calls (a test of the
 * repository holds the two lists equal) and, besides them, only these, each for
 * the reason given. A handler that nobody calls and nobody needs is removed,
 * not kept in case.
 */
export const ACTIONS_CWS_DOES_NOT_CALL: Readonly<Record<string, string>> = {
  "ec2:CreateLaunchTemplate":
    "cws ami cleanup never deletes an image a launch template names; its tests make launch templates (an AMI id, or resolve:ssm:) to prove it, as a user's Auto Scaling setup would",
  "ec2:CreateLaunchTemplateVersion":
    "cleanup looks at every version of a launch template, not only the default; its tests add a second version naming another image to prove it",
};
