// The binding ships no type declarations; Cairn uses it only through AbstractLevelLike.
declare module '@nxtedition/rocksdb' {
  export class RocksLevel {
    constructor(location: string, options?: Record<string, unknown>);
  }
}
