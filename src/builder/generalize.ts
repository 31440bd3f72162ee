/**
 * Run on the build instance just before it is stopped and imaged, so that no
 * instance launched from the image inherits this one's identity or secrets.
 * The first line is a marker a test emulator can recognise.
 */
export function generalizeScript(workRoot: string): string {
  return [
    "# cws:generalize",
    "set -u",
    // cloud-init runs again on the next boot: new hostname, SSH host keys, user keys from the new instance's key pair.
    "if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs --seed; fi",
    "rm -f /etc/ssh/ssh_host_*",
    "find /root /home -path '*/.ssh/authorized_keys' -type f -delete 2>/dev/null",
    // An empty machine-id is regenerated at boot (systemd); a copied one would make every instance look alike to DHCP, journald and others.
    "if [ -f /etc/machine-id ]; then : > /etc/machine-id; fi",
    "rm -f /var/lib/dbus/machine-id",
    // The SSM agent's registration of this instance; each new instance registers itself.
    "rm -rf /var/lib/amazon/ssm/i-* /var/lib/amazon/ssm/registration",
    "rm -f /root/.bash_history /home/*/.bash_history /root/.python_history /home/*/.python_history /root/.lesshst",
    `rm -rf ${workRoot}`,
    "sync",
    "echo generalized",
  ].join("\n");
}
