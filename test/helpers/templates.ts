/** A minimal valid template, for tests to break one field at a time. */
export const VALID_TEMPLATE = `name: "Test Environment"
description: "A template for tests"
version: "1.0.0"
base_ami:
  source: ubuntu-22.04-lts
  architecture: [x86_64, arm64]
regions: [us-east-1, us-west-2]
setup_script: |
  #!/bin/bash
  set -euo pipefail
  echo ready > /var/tmp/ready
validation_tests:
  - name: "ready file"
    command: "cat /var/tmp/ready"
    expected: "ready"
ports: [22]
estimated_cost_per_hour:
  x86_64: 0.0416
  arm64: 0.0336
`;
