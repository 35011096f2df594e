import type { ScanRange } from '../../storage/engine.js';

/**
 * Where the auth store lives in the node database: inside the 'm' (store metadata)
 * keyspace, so that it is written in the same atomic batch as the applied index, shipped
 * in snapshots and replaced by them, with no change to either (see mvcc/snapshot.ts).
 *
 *   'mauth/state'          AuthStateRecord
 *   'mauth/user/' + name   AuthUserRecord
 *   'mauth/role/' + name   AuthRoleRecord
 */
export const AUTH_STATE_KEY = Buffer.from('mauth/state');
const USER_PREFIX = 'mauth/user/';
const ROLE_PREFIX = 'mauth/role/';

export const userKey = (name: string): Buffer => Buffer.from(USER_PREFIX + name, 'utf8');
export const roleKey = (name: string): Buffer => Buffer.from(ROLE_PREFIX + name, 'utf8');

const span = (prefix: string): ScanRange => ({ gte: Buffer.from(prefix), lt: Buffer.from(prefix.slice(0, -1) + '0') });
/** '0' is the byte after '/'. */
export const USER_SPAN = span(USER_PREFIX);
export const ROLE_SPAN = span(ROLE_PREFIX);
