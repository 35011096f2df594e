import { Permission_Type, type Permission } from '../../../gen/ts/cairn/v1/auth.js';
import { CairnError, ErrorCode } from '../../errors.js';

/** Bounds on what the auth store holds, so that no request can bloat it or the log. */
const MAX_NAME_BYTES = 128;
const MAX_PASSWORD_BYTES = 1024;

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message);
}

/** A user or role name: 1 to 128 bytes of UTF-8 with no control characters. */
export function checkName(what: 'user' | 'role', name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw invalid(`the ${what} name is empty`);
  if (bytes > MAX_NAME_BYTES) throw invalid(`the ${what} name is ${bytes} bytes; the limit is ${MAX_NAME_BYTES}`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid(`the ${what} name contains a control character`);
}

export function checkPassword(password: string): void {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes === 0) throw invalid('the password is empty');
  if (bytes > MAX_PASSWORD_BYTES) throw invalid(`the password is ${bytes} bytes; the limit is ${MAX_PASSWORD_BYTES}`);
}

export function checkPermission(perm: Permission | undefined, maxKeyBytes: number): Permission {
  if (perm === undefined) throw invalid('perm is missing');
  if (perm.type !== Permission_Type.TYPE_READ && perm.type !== Permission_Type.TYPE_WRITE && perm.type !== Permission_Type.TYPE_READWRITE) {
    throw invalid(`perm.type ${perm.type} is not READ, WRITE or READWRITE`);
  }
  checkPermissionKey(perm.key, perm.rangeEnd, maxKeyBytes);
  return perm;
}

export function checkPermissionKey(key: Buffer, rangeEnd: Buffer, maxKeyBytes: number): void {
  if (key.length === 0) throw new CairnError(ErrorCode.ERROR_CODE_EMPTY_KEY, 'the permission key is empty');
  if (key.length > maxKeyBytes || rangeEnd.length > maxKeyBytes) {
    throw new CairnError(
      ErrorCode.ERROR_CODE_KEY_TOO_LARGE,
      `the permission key or range_end is over ${maxKeyBytes} bytes (--max-key-bytes)`,
    );
  }
}
