import { describe, expect, it } from 'vitest';
import { findMount, parseMountinfo, readMountinfo } from '../../src/storage/mountinfo.js';

const TEXT = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
36 22 0:40 / /srv/www rw,relatime shared:20 - nfs4 10.77.0.30:/export rw,vers=4.2
37 22 0:41 / /srv/www ro,relatime - tmpfs tmpfs rw,size=1024k
38 22 0:42 / /mnt/with\\040space rw - fuse.sshfs me@host:/a\\040b rw
39 22 0:43 / /mnt/superro rw - ext4 /dev/sdb1 ro
`;

describe('mountinfo', () => {
  it('parses fields, octal escapes and read-only flags', () => {
    const e = parseMountinfo(TEXT);
    expect(e[1]).toEqual({ mountPoint: '/srv/www', fstype: 'nfs4', source: '10.77.0.30:/export', readOnly: false });
    expect(e[3]).toEqual({ mountPoint: '/mnt/with space', fstype: 'fuse.sshfs', source: 'me@host:/a b', readOnly: false });
    expect(e[4]!.readOnly).toBe(true);
  });

  it('finds the topmost mount at a path', () => {
    const e = parseMountinfo(TEXT);
    expect(findMount(e, '/srv/www')).toEqual({ mountPoint: '/srv/www', fstype: 'tmpfs', source: 'tmpfs', readOnly: true });
    expect(findMount(e, '/srv')).toBeNull();
  });

  it('reads this process’s mountinfo', async () => {
    expect(findMount(await readMountinfo(), '/')).not.toBeNull();
  });
});
