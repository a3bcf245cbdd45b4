/** The errno names and texts netlink replies are read with: the one table in ../errno.ts. */
export { errnoName, errnoNumber, strerror } from '../errno.js';
