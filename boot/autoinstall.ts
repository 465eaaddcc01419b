// Autoinstall files: the kernel argument that points each distro's installer at its file. The file itself is
// rendered from the profile's template by boot/templates.ts.

/** The kernel argument that points a distro's installer at its autoinstall file. */
export function autoinstallKernelArgument(breed: string, kind: string, url: string): string {
  if (kind === 'cloud-init') return `autoinstall ds=nocloud-net;s=${url}/`;
  switch (breed) {
    case 'redhat':
      return `inst.ks=${url}`;
    case 'debian':
    case 'ubuntu':
      return `auto=true priority=critical url=${url}`;
    case 'suse':
      return `autoyast=${url}`;
    default:
      return `autoinstall=${url}`;
  }
}
