/**
 * The one door from the CLI to the TypeScript SDK: every CLI file imports the SDK from
 * here, so moving or renaming the SDK package is a change to this file alone.
 */
export {
  CairnClient,
  CairnError,
  Election,
  Mutex,
  Session,
  observeLeader,
  type CallContext,
  type ClientOptions,
  type Header,
  type KeySelector,
  type KeyValue,
  type Member,
  type ReadOptions,
  type Safety,
  type TlsOptions,
  type WatchEvent,
} from '../../sdk/typescript/src/index.js';
