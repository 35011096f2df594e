import type { Logger } from 'pino';
import type { MaintenanceServiceServer, StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { unary } from './unary.js';

/** What the Status call reports about this member's consensus state. */
export interface MemberStatus {
  name: string;
  leader: number;
  role: string;
  raftIndex: number;
  raftTerm: number;
  raftCommitIndex: number;
  raftAppliedIndex: number;
  compactedRevision: number;
  storageEngine: string;
}

/** The Maintenance service: one member's health and progress. */
export function maintenanceService(status: () => MemberStatus, header: () => ResponseHeader, version: string, logger: Logger): MaintenanceServiceServer {
  return {
    status: unary(logger, 'Status', async (): Promise<StatusResponse> => ({ header: header(), version, ...status() })),
  };
}
