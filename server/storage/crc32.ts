// CRC-32 moved to server/streams/ (the common layer) so the transport can checksum snapshot
// files too; storage keeps importing it from here.
export { crc32, tableCrc32, type Crc32 } from '../streams/crc32.js';
