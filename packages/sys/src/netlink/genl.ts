/** Generic netlink: family resolution through the controller (CTRL_CMD_GETFAMILY). */
import { NetlinkError } from '../errors.js';
import { attrString, getU16, parseAttrs } from './attrs.js';
import { CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, GENL_ID_CTRL } from './constants.js';
import { genlHeader, parseGenl } from './message.js';
import type { NetlinkSocket } from './socket.js';

/** The controller's request body for a family name (also used by unit tests as the expected bytes). */
export function getFamilyRequest(name: string): Buffer {
  return Buffer.concat([genlHeader(CTRL_CMD_GETFAMILY, 1), attrString(CTRL_ATTR_FAMILY_NAME, name)]);
}

/** The family id, or throws SyscallError ENOENT when no such family is registered (module not loaded). */
export function resolveFamily(sock: NetlinkSocket, name: string): number {
  const replies = sock.request(GENL_ID_CTRL, 0, getFamilyRequest(name), 'CTRL_CMD_GETFAMILY', { family: name });
  for (const m of replies) {
    const id = getU16(parseAttrs(parseGenl(m.payload).body), CTRL_ATTR_FAMILY_ID);
    if (id !== undefined) return id;
  }
  throw new NetlinkError('resolve family', 'EBADMSG', `controller reply for ${name} has no family id`);
}
