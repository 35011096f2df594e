/** Lease ids on the command line: lowercase hex without 0x, 16 digits, as etcdctl prints them (%016x). */
import { InvalidArgumentError } from 'commander';

/** The largest lease id the cluster uses (2^53 - 1), so that every SDK holds ids as plain numbers. */
const MAX_LEASE_ID = Number.MAX_SAFE_INTEGER;

export function formatLeaseId(id: number | bigint): string {
  return id.toString(16).padStart(16, '0');
}

/** Parses a hex lease id (etcdctl's form: "694d77aa9e38260f"; a 0x prefix is tolerated). */
export function parseLeaseId(value: string): number {
  const hex = value.trim().replace(/^0x/i, '');
  const id = /^[0-9a-f]{1,16}$/i.test(hex) ? parseInt(hex, 16) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_LEASE_ID) {
    throw new InvalidArgumentError(
      `'${value}' is not a lease id (hex, as 'cairn lease grant' prints it, between 1 and ${formatLeaseId(MAX_LEASE_ID)}).`,
    );
  }
  return id;
}
