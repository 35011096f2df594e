import {
  AuthRoleRecord,
  AuthStateRecord,
  AuthUserRecord,
  type AuthCommand,
  type PasswordHash,
} from '../../../gen/ts/cairn/internal/v1/auth.js';
import { Permission_Type, type Permission } from '../../../gen/ts/cairn/v1/auth.js';
import { CairnError, ErrorCode } from '../../errors.js';
import type { WriteBatch } from '../../mvcc/write-batch.js';
import type { StorageEngine } from '../../storage/engine.js';
import { AUTH_STATE_KEY, ROLE_SPAN, roleKey, USER_SPAN, userKey } from './auth-keys.js';
import { intervalOf, KeyCoverage, type KeyInterval } from './key-coverage.js';
import type { KeyNeed } from './key-needs.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** What one user may do, computed from its roles and cached until the next auth change. */
export interface UserPermissions {
  /** Holds the root role: every key, and the admin calls. */
  readonly root: boolean;
  readonly read: KeyCoverage;
  readonly write: KeyCoverage;
}

/** Called after every applied auth change, e.g. so that open watches re-check their access. */
export type AuthChangeListener = () => void;

/**
 * Users, roles and the enabled flag: the replicated auth state (etcd's auth store). Changes
 * arrive only as committed AuthCommands, applied on every member in log order, persisted in
 * the same batch as the applied index (keys in auth-keys.ts). Reads serve from memory.
 *
 * Memory is updated as a command is applied, before its batch is on disk: the entry is
 * already committed by a quorum, and a member that crashes first replays it at restart.
 * The root role is built in: it always exists, holds every permission, and cannot be
 * deleted or given permissions.
 */
export class AuthStore {
  private state: AuthStateRecord = { enabled: false, revision: 0, tokenKey: Buffer.alloc(0) };
  private users = new Map<string, AuthUserRecord>();
  private roles = new Map<string, AuthRoleRecord>();
  private readonly cache = new Map<string, UserPermissions>();
  private readonly listeners = new Set<AuthChangeListener>();

  /** Loads the stored auth state; also after a snapshot from the leader replaced it. */
  async load(engine: StorageEngine): Promise<void> {
    const raw = await engine.get(AUTH_STATE_KEY);
    const users = new Map<string, AuthUserRecord>();
    const roles = new Map<string, AuthRoleRecord>();
    for await (const [, value] of engine.scan(USER_SPAN)) {
      const user = AuthUserRecord.decode(value);
      users.set(user.name, user);
    }
    for await (const [, value] of engine.scan(ROLE_SPAN)) {
      const role = AuthRoleRecord.decode(value);
      roles.set(role.name, role);
    }
    this.state = raw === undefined ? { enabled: false, revision: 0, tokenKey: Buffer.alloc(0) } : AuthStateRecord.decode(raw);
    this.users = users;
    this.roles = roles;
    this.changed();
  }

  get enabled(): boolean {
    return this.state.enabled;
  }
  get revision(): number {
    return this.state.revision;
  }
  get tokenKey(): Buffer {
    return this.state.tokenKey;
  }

  user(name: string): AuthUserRecord | undefined {
    return this.users.get(name);
  }
  userNames(): string[] {
    return [...this.users.keys()].sort();
  }
  role(name: string): AuthRoleRecord | undefined {
    if (name === ROOT_ROLE) return { name, permissions: [] };
    return this.roles.get(name);
  }
  roleNames(): string[] {
    return [...new Set([ROOT_ROLE, ...this.roles.keys()])].sort();
  }

  /** The user's permissions; undefined when the user does not exist. */
  permissions(name: string): UserPermissions | undefined {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const user = this.users.get(name);
    if (user === undefined) return undefined;
    const read: KeyInterval[] = [];
    const write: KeyInterval[] = [];
    for (const roleName of user.roles) {
      for (const perm of this.roles.get(roleName)?.permissions ?? []) {
        const interval = intervalOf(perm.key, perm.rangeEnd);
        if (perm.type === Permission_Type.TYPE_READ || perm.type === Permission_Type.TYPE_READWRITE) read.push(interval);
        if (perm.type === Permission_Type.TYPE_WRITE || perm.type === Permission_Type.TYPE_READWRITE) write.push(interval);
      }
    }
    const perms = { root: user.roles.includes(ROOT_ROLE), read: new KeyCoverage(read), write: new KeyCoverage(write) };
    this.cache.set(name, perms);
    return perms;
  }

  /** Why user may not do every need (PERMISSION_DENIED), or undefined when it may. */
  refusal(user: string, needs: readonly KeyNeed[]): CairnError | undefined {
    const perms = this.permissions(user);
    if (perms === undefined) return permissionDenied(user, 'the user does not exist');
    if (perms.root) return undefined;
    for (const need of needs) {
      const coverage = need.access === 'read' ? perms.read : perms.write;
      if (!coverage.covers(intervalOf(need.key, need.rangeEnd)))
        return permissionDenied(user, `no ${need.access} permission on ${describe(need)}`);
    }
    return undefined;
  }

  onChange(listener: AuthChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies one committed change: checks everything first and throws a CairnError having
   * changed nothing, or updates memory and adds the stored records to the batch.
   */
  apply(batch: WriteBatch, command: AuthCommand): void {
    const change = command.change;
    if (change === undefined) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'empty auth command');
    const revision = this.state.revision + 1;
    switch (change.$case) {
      case 'enable': {
        const root = this.users.get(ROOT_USER);
        if (root === undefined)
          throw new CairnError(ErrorCode.ERROR_CODE_ROOT_USER_NOT_EXIST, 'the root user does not exist; add it first');
        if (!root.roles.includes(ROOT_ROLE))
          throw new CairnError(ErrorCode.ERROR_CODE_ROOT_ROLE_NOT_EXIST, 'the root user does not have the root role; grant it first');
        this.putState(batch, { enabled: true, revision, tokenKey: change.enable.tokenKey });
        break;
      }
      case 'disable':
        this.putState(batch, { enabled: false, revision, tokenKey: Buffer.alloc(0) });
        break;
      case 'userAdd': {
        const { name, password } = change.userAdd;
        if (this.users.has(name)) throw new CairnError(ErrorCode.ERROR_CODE_USER_EXISTS, `user ${JSON.stringify(name)} already exists`);
        this.putUser(batch, { name, password: required(password), roles: [], credentialRevision: revision });
        this.bump(batch, revision);
        break;
      }
      case 'userDelete': {
        const { name } = change.userDelete;
        this.existingUser(name);
        if (name === ROOT_USER && this.state.enabled)
          throw new CairnError(ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT, 'the root user cannot be deleted while authentication is enabled');
        this.users.delete(name);
        batch.ops.push({ type: 'del', key: userKey(name) });
        this.bump(batch, revision);
        break;
      }
      case 'userChangePassword': {
        const { name, password } = change.userChangePassword;
        const user = this.existingUser(name);
        this.putUser(batch, { ...user, password: required(password), credentialRevision: revision });
        this.bump(batch, revision);
        break;
      }
      case 'userGrantRole': {
        const { user: name, role } = change.userGrantRole;
        const user = this.existingUser(name);
        this.existingRole(role);
        if (!user.roles.includes(role)) this.putUser(batch, { ...user, roles: [...user.roles, role].sort() });
        this.bump(batch, revision);
        break;
      }
      case 'userRevokeRole': {
        const { name, role } = change.userRevokeRole;
        const user = this.existingUser(name);
        if (!user.roles.includes(role))
          throw new CairnError(
            ErrorCode.ERROR_CODE_ROLE_NOT_GRANTED,
            `user ${JSON.stringify(name)} does not have role ${JSON.stringify(role)}`,
          );
        if (name === ROOT_USER && role === ROOT_ROLE && this.state.enabled)
          throw new CairnError(
            ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT,
            'the root role cannot be revoked from root while authentication is enabled',
          );
        this.putUser(batch, { ...user, roles: user.roles.filter((r) => r !== role) });
        this.bump(batch, revision);
        break;
      }
      case 'roleAdd': {
        const { name } = change.roleAdd;
        if (this.role(name) !== undefined)
          throw new CairnError(ErrorCode.ERROR_CODE_ROLE_EXISTS, `role ${JSON.stringify(name)} already exists`);
        this.putRole(batch, { name, permissions: [] });
        this.bump(batch, revision);
        break;
      }
      case 'roleDelete': {
        const { role } = change.roleDelete;
        if (role === ROOT_ROLE) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT, 'the root role cannot be deleted');
        this.existingRole(role);
        this.roles.delete(role);
        batch.ops.push({ type: 'del', key: roleKey(role) });
        for (const user of [...this.users.values()]) {
          if (user.roles.includes(role)) this.putUser(batch, { ...user, roles: user.roles.filter((r) => r !== role) });
        }
        this.bump(batch, revision);
        break;
      }
      case 'roleGrantPermission': {
        const { name, perm } = change.roleGrantPermission;
        const role = this.grantableRole(name);
        const granted = required(perm);
        const others = role.permissions.filter((p) => !samePlace(p, granted));
        this.putRole(batch, { name, permissions: [...others, granted].sort(byPlace) });
        this.bump(batch, revision);
        break;
      }
      case 'roleRevokePermission': {
        const { role: name, key, rangeEnd } = change.roleRevokePermission;
        const role = this.grantableRole(name);
        const kept = role.permissions.filter((p) => !samePlace(p, { key, rangeEnd }));
        if (kept.length === role.permissions.length)
          throw new CairnError(
            ErrorCode.ERROR_CODE_PERMISSION_NOT_GRANTED,
            `role ${JSON.stringify(name)} has no permission on key ${JSON.stringify(key.toString())} range_end ${JSON.stringify(rangeEnd.toString())}`,
          );
        this.putRole(batch, { name, permissions: kept });
        this.bump(batch, revision);
        break;
      }
    }
    this.changed();
  }

  private existingUser(name: string): AuthUserRecord {
    const user = this.users.get(name);
    if (user === undefined) throw new CairnError(ErrorCode.ERROR_CODE_USER_NOT_FOUND, `user ${JSON.stringify(name)} does not exist`);
    return user;
  }

  private existingRole(name: string): AuthRoleRecord {
    const role = this.role(name);
    if (role === undefined) throw new CairnError(ErrorCode.ERROR_CODE_ROLE_NOT_FOUND, `role ${JSON.stringify(name)} does not exist`);
    return role;
  }

  private grantableRole(name: string): AuthRoleRecord {
    if (name === ROOT_ROLE) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT, 'the root role already holds every permission');
    return this.existingRole(name);
  }

  private putUser(batch: WriteBatch, user: AuthUserRecord): void {
    this.users.set(user.name, user);
    batch.ops.push({ type: 'put', key: userKey(user.name), value: Buffer.from(AuthUserRecord.encode(user).finish()) });
  }

  private putRole(batch: WriteBatch, role: AuthRoleRecord): void {
    this.roles.set(role.name, role);
    batch.ops.push({ type: 'put', key: roleKey(role.name), value: Buffer.from(AuthRoleRecord.encode(role).finish()) });
  }

  private putState(batch: WriteBatch, state: AuthStateRecord): void {
    this.state = state;
    batch.ops.push({ type: 'put', key: AUTH_STATE_KEY, value: Buffer.from(AuthStateRecord.encode(state).finish()) });
  }

  private bump(batch: WriteBatch, revision: number): void {
    this.putState(batch, { ...this.state, revision });
  }

  private changed(): void {
    this.cache.clear();
    for (const listener of this.listeners) listener();
  }
}

export function permissionDenied(user: string, why: string): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `permission denied for user ${JSON.stringify(user)}: ${why}`);
}

function describe(need: KeyNeed): string {
  const key = JSON.stringify(need.key.toString('utf8'));
  if (need.rangeEnd.length === 0) return `key ${key}`;
  if (need.rangeEnd.length === 1 && need.rangeEnd[0] === 0) return `every key from ${key}`;
  return `range [${key}, ${JSON.stringify(need.rangeEnd.toString('utf8'))})`;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'auth command without its payload');
  return value;
}

/** Whether two permissions are on the same key and range_end (a grant replaces, a revoke removes). */
function samePlace(a: Pick<Permission, 'key' | 'rangeEnd'>, b: Pick<Permission, 'key' | 'rangeEnd'>): boolean {
  return a.key.equals(b.key) && a.rangeEnd.equals(b.rangeEnd);
}

function byPlace(a: Permission, b: Permission): number {
  return Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd);
}

export type { PasswordHash };
