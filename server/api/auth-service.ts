import { randomBytes } from 'node:crypto';
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AuthCommand } from '../../gen/ts/cairn/internal/v1/auth.js';
import type { AuthServiceServer, AuthServiceService } from '../../gen/ts/cairn/v1/auth.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { AuthStore } from '../apply/auth/auth-store.js';
import { hashPassword, verifyPassword } from '../apply/auth/password-hash.js';
import type { WritePath } from '../apply/write-path.js';
import { CairnError, ErrorCode } from '../errors.js';
import { issueToken } from './auth/tokens.js';
import { checkName, checkPassword, checkPermission, checkPermissionKey } from './auth/validate-auth.js';
import { unary } from './unary.js';

export interface AuthServiceDeps {
  store: AuthStore;
  writes: WritePath;
  /** Header for answers read from local state. */
  header: () => ResponseHeader;
  linearizableReadBarrier: () => Promise<void>;
  tokenTtlMs: number;
  maxKeyBytes: number;
  logger: Logger;
}

/**
 * The Auth service: changes go through the log as AuthCommands; reads and Authenticate
 * wait for the read barrier, so that a user added on another member a moment ago is seen.
 * Passwords are hashed here, on the member that received them: the log holds only hashes.
 * Who may call what is decided in front of these handlers (auth/access-rules.ts).
 */
export function authService(deps: AuthServiceDeps): AuthServiceServer {
  const ops = authOperations(deps);
  const served = {} as Record<keyof AuthOperations, unknown>;
  for (const [name, op] of Object.entries(ops) as [keyof AuthOperations, (req: never) => Promise<unknown>][]) {
    served[name] = unary(deps.logger, name.charAt(0).toUpperCase() + name.slice(1), op);
  }
  return served as AuthServiceServer;
}

/** Each Auth call as a plain async function of its request, for cairn.v1's service and etcd's alike. */
export type AuthOperations = {
  [K in keyof typeof AuthServiceService]: AuthServiceServer[K] extends handleUnaryCall<infer Req, infer Res>
    ? (req: Req) => Promise<Res>
    : never;
};

export function authOperations(deps: AuthServiceDeps): AuthOperations {
  const { store } = deps;

  async function change(command: AuthCommand['change']): Promise<{ header: ResponseHeader | undefined }> {
    const outcome = await deps.writes.submit({ request: { $case: 'auth', auth: { change: command } }, checkedAs: '' });
    if (!outcome.ok) throw outcome.error;
    return { header: outcome.response.header };
  }

  async function read<T>(fn: () => T): Promise<T & { header: ResponseHeader }> {
    await deps.linearizableReadBarrier();
    return { ...fn(), header: deps.header() };
  }

  const userNotFound = (name: string): CairnError =>
    new CairnError(ErrorCode.ERROR_CODE_USER_NOT_FOUND, `user ${JSON.stringify(name)} does not exist`);

  return {
    authEnable: () => change({ $case: 'enable', enable: { tokenKey: randomBytes(32) } }),
    authDisable: () => change({ $case: 'disable', disable: {} }),
    authStatus: () => read(() => ({ enabled: store.enabled, authRevision: store.revision })),
    authenticate: async (req) => {
      await deps.linearizableReadBarrier();
      if (!store.enabled) throw new CairnError(ErrorCode.ERROR_CODE_AUTH_NOT_ENABLED, 'authentication is not enabled');
      const user = store.user(req.name);
      // The same error and (scrypt) cost for an unknown user and a wrong password.
      const ok = await verifyPassword(req.password, user?.password ?? DECOY_HASH);
      if (user === undefined || !ok)
        throw new CairnError(ErrorCode.ERROR_CODE_AUTH_FAILED, 'authentication failed: wrong user name or password');
      const token = issueToken(store, req.name, deps.tokenTtlMs, Date.now());
      return { header: deps.header(), token, ttlSeconds: Math.floor(deps.tokenTtlMs / 1000) };
    },
    userAdd: async (req) => {
      checkName('user', req.name);
      checkPassword(req.password);
      return change({ $case: 'userAdd', userAdd: { name: req.name, password: await hashPassword(req.password) } });
    },
    userDelete: (req) => {
      checkName('user', req.name);
      return change({ $case: 'userDelete', userDelete: req });
    },
    userGet: (req) =>
      read(() => {
        const user = store.user(req.name);
        if (user === undefined) throw userNotFound(req.name);
        return { roles: [...user.roles] };
      }),
    userList: () => read(() => ({ users: store.userNames() })),
    userChangePassword: async (req) => {
      checkName('user', req.name);
      checkPassword(req.password);
      return change({ $case: 'userChangePassword', userChangePassword: { name: req.name, password: await hashPassword(req.password) } });
    },
    userGrantRole: (req) => {
      checkName('user', req.user);
      checkName('role', req.role);
      return change({ $case: 'userGrantRole', userGrantRole: req });
    },
    userRevokeRole: (req) => {
      checkName('user', req.name);
      checkName('role', req.role);
      return change({ $case: 'userRevokeRole', userRevokeRole: req });
    },
    roleAdd: (req) => {
      checkName('role', req.name);
      return change({ $case: 'roleAdd', roleAdd: req });
    },
    roleDelete: (req) => {
      checkName('role', req.role);
      return change({ $case: 'roleDelete', roleDelete: req });
    },
    roleGet: (req) =>
      read(() => {
        const role = store.role(req.role);
        if (role === undefined)
          throw new CairnError(ErrorCode.ERROR_CODE_ROLE_NOT_FOUND, `role ${JSON.stringify(req.role)} does not exist`);
        return { perm: [...role.permissions] };
      }),
    roleList: () => read(() => ({ roles: store.roleNames() })),
    roleGrantPermission: (req) => {
      checkName('role', req.name);
      const perm = checkPermission(req.perm, deps.maxKeyBytes);
      return change({ $case: 'roleGrantPermission', roleGrantPermission: { name: req.name, perm } });
    },
    roleRevokePermission: (req) => {
      checkName('role', req.role);
      checkPermissionKey(req.key, req.rangeEnd, deps.maxKeyBytes);
      return change({ $case: 'roleRevokePermission', roleRevokePermission: req });
    },
  };
}

/** Verified against when the user does not exist, so that a miss costs as much as a wrong password. */
const DECOY_HASH = { salt: Buffer.alloc(16), hash: Buffer.alloc(32), cost: 16_384, blockSize: 8, parallelization: 1 };
