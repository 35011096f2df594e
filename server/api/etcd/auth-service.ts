import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Permission_Type as CairnPermissionType, type Permission as CairnPermission } from '../../../gen/ts/cairn/v1/auth.js';
import { Permission_Type, type Permission } from '../../../gen/ts/etcd/api/authpb/auth.js';
import type { AuthServer, ResponseHeader } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { ROOT_ROLE, type AuthStore } from '../../apply/auth/auth-store.js';
import type { AuthOperations } from '../auth-service.js';
import { ETCD_ERRORS, EtcdStatusError, type EtcdStatus } from './rpctypes.js';
import { etcdError } from './etcd-call-errors.js';
import { etcdUnary } from './etcd-unary.js';

export interface EtcdAuthDeps {
  /** cairn.v1's Auth calls (auth-service.ts): the same checks, commands and store. */
  readonly ops: AuthOperations;
  readonly store: AuthStore;
  readonly linearizableReadBarrier: () => Promise<void>;
  readonly header: () => ResponseHeader;
  readonly logger: Logger;
}

/** etcd numbers READ, WRITE, READWRITE from 0; Cairn from 1 (0 is "unspecified", refused). */
function toCairnPermission(perm: Permission | undefined): CairnPermission {
  if (perm === undefined) throw new EtcdStatusError(ETCD_ERRORS.permissionNotGiven);
  const type =
    perm.permType === Permission_Type.READ
      ? CairnPermissionType.TYPE_READ
      : perm.permType === Permission_Type.WRITE
        ? CairnPermissionType.TYPE_WRITE
        : perm.permType === Permission_Type.READWRITE
          ? CairnPermissionType.TYPE_READWRITE
          : CairnPermissionType.UNRECOGNIZED;
  return { type, key: perm.key, rangeEnd: perm.rangeEnd };
}

function toEtcdPermission(perm: CairnPermission): Permission {
  const permType =
    perm.type === CairnPermissionType.TYPE_READ
      ? Permission_Type.READ
      : perm.type === CairnPermissionType.TYPE_WRITE
        ? Permission_Type.WRITE
        : Permission_Type.READWRITE;
  return { permType, key: perm.key, rangeEnd: perm.rangeEnd };
}

function named(name: string, empty: EtcdStatus): string {
  if (name === '') throw new EtcdStatusError(empty);
  return name;
}

/**
 * etcd's Auth service: each call translated to cairn.v1's (users, roles and permissions are
 * one replicated auth store), answered with etcd's messages. Tokens are Cairn's: a token from
 * either service's Authenticate works on both, in the "token" metadata etcd's clients send.
 */
export function etcdAuthService(deps: EtcdAuthDeps): AuthServer {
  const { ops, logger } = deps;
  const done = async (call: Promise<unknown>): Promise<{ header: ResponseHeader }> => {
    await call;
    return { header: deps.header() };
  };
  /** etcd turns auth on or off idempotently; Cairn would draw a new token key each time. */
  const unlessAlready = async (enabled: boolean, change: () => Promise<unknown>): Promise<{ header: ResponseHeader }> => {
    await deps.linearizableReadBarrier();
    if (deps.store.enabled === enabled) return { header: deps.header() };
    return done(change());
  };

  return {
    authEnable: etcdUnary(logger, 'AuthEnable', () => unlessAlready(true, () => ops.authEnable({}))),
    authDisable: etcdUnary(logger, 'AuthDisable', () => unlessAlready(false, () => ops.authDisable({}))),
    authStatus: etcdUnary(logger, 'AuthStatus', async () => {
      const res = await ops.authStatus({});
      return { header: deps.header(), enabled: res.enabled, authRevision: res.authRevision };
    }),
    authenticate: etcdUnary(logger, 'Authenticate', async (req) => {
      const res = await ops.authenticate({ name: req.name, password: req.password });
      return { header: deps.header(), token: res.token };
    }),
    userAdd: etcdUnary(logger, 'UserAdd', (req) => {
      named(req.name, ETCD_ERRORS.userEmpty);
      if (req.options?.noPassword === true || (req.password === '' && req.hashedPassword !== '')) {
        throw etcdError(
          status.INVALID_ARGUMENT,
          'etcdserver: Cairn users have a password, which the server hashes itself: send it in password (no --no-password, no pre-hashed password)',
        );
      }
      return done(ops.userAdd({ name: req.name, password: req.password }));
    }),
    userGet: etcdUnary(logger, 'UserGet', async (req) => {
      const res = await ops.userGet({ name: named(req.name, ETCD_ERRORS.userEmpty) });
      return { header: deps.header(), roles: res.roles };
    }),
    userList: etcdUnary(logger, 'UserList', async () => ({ header: deps.header(), users: (await ops.userList({})).users })),
    userDelete: etcdUnary(logger, 'UserDelete', (req) => done(ops.userDelete({ name: named(req.name, ETCD_ERRORS.userEmpty) }))),
    userChangePassword: etcdUnary(logger, 'UserChangePassword', (req) => {
      named(req.name, ETCD_ERRORS.userEmpty);
      if (req.password === '' && req.hashedPassword !== '') {
        throw etcdError(status.INVALID_ARGUMENT, 'etcdserver: Cairn hashes passwords itself: send the new password in password');
      }
      return done(ops.userChangePassword({ name: req.name, password: req.password }));
    }),
    userGrantRole: etcdUnary(logger, 'UserGrantRole', (req) =>
      done(ops.userGrantRole({ user: named(req.user, ETCD_ERRORS.userEmpty), role: named(req.role, ETCD_ERRORS.roleEmpty) })),
    ),
    userRevokeRole: etcdUnary(logger, 'UserRevokeRole', (req) =>
      done(ops.userRevokeRole({ name: named(req.name, ETCD_ERRORS.userEmpty), role: named(req.role, ETCD_ERRORS.roleEmpty) })),
    ),
    roleAdd: etcdUnary(logger, 'RoleAdd', (req) => done(ops.roleAdd({ name: named(req.name, ETCD_ERRORS.roleEmpty) }))),
    roleGet: etcdUnary(logger, 'RoleGet', async (req) => {
      const res = await ops.roleGet({ role: named(req.role, ETCD_ERRORS.roleEmpty) });
      return { header: deps.header(), perm: res.perm.map(toEtcdPermission) };
    }),
    // etcd lists the roles stored by RoleAdd; its root role is implicit (granting it needs no
    // RoleAdd), so it is listed only after an explicit `role add root`. Cairn's root role always
    // exists and can never be added, so through etcd's API it is never listed.
    roleList: etcdUnary(logger, 'RoleList', async () => ({
      header: deps.header(),
      roles: (await ops.roleList({})).roles.filter((role) => role !== ROOT_ROLE),
    })),
    roleDelete: etcdUnary(logger, 'RoleDelete', (req) => done(ops.roleDelete({ role: named(req.role, ETCD_ERRORS.roleEmpty) }))),
    roleGrantPermission: etcdUnary(logger, 'RoleGrantPermission', (req) =>
      done(ops.roleGrantPermission({ name: named(req.name, ETCD_ERRORS.roleEmpty), perm: toCairnPermission(req.perm) })),
    ),
    roleRevokePermission: etcdUnary(logger, 'RoleRevokePermission', (req) =>
      done(ops.roleRevokePermission({ role: named(req.role, ETCD_ERRORS.roleEmpty), key: req.key, rangeEnd: req.rangeEnd })),
    ),
  };
}
