/**
 * The users and roles the authentication tests start from, made through AuthService:
 *
 *   await enableAuthWithAlice(authClient(t, address));
 *   const token = await login(authClient(t, address), 'alice', ALICE_PASSWORD);
 */
import { Permission_Type } from '../../gen/ts/cairn/v1/auth.js';
import type { AuthCalls } from './auth-clients.js';
import { b } from './grpc-clients.js';

export const ROOT_PASSWORD = 'root-pw';
export const ALICE_PASSWORD = 'alice-pw';

/** The user root with the root role, which enabling authentication needs. */
export async function addRoot(admin: AuthCalls): Promise<void> {
  await admin.call('userAdd', { name: 'root', password: ROOT_PASSWORD });
  await admin.call('userGrantRole', { user: 'root', role: 'root' });
}

/** root, and alice with the role app (read and write on the prefix "app/"); then auth enabled. */
export async function enableAuthWithAlice(admin: AuthCalls): Promise<void> {
  await addRoot(admin);
  await admin.call('roleAdd', { name: 'app' });
  await admin.call('roleGrantPermission', {
    name: 'app',
    perm: { type: Permission_Type.TYPE_READWRITE, key: b('app/'), rangeEnd: b('app0') },
  });
  await admin.call('userAdd', { name: 'alice', password: ALICE_PASSWORD });
  await admin.call('userGrantRole', { user: 'alice', role: 'app' });
  await admin.call('authEnable', {});
}
