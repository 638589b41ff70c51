/** The BlobStore conformance suite against the real store (in a temp dir) and the in-memory one. */
import { rm } from 'node:fs/promises';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { MemoryBlobStore } from '../../daemon/storage/memory-blob-store.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { tempDir } from '../helpers/daemon.js';
import { blobStoreSuite } from './blob-store.suite.js';

blobStoreSuite('FsBlobStore', async () => {
  const dir = await tempDir('larder-blobs-');
  const store = new FsBlobStore(new DataPaths(dir));
  await store.init();
  return { store, close: () => rm(dir, { recursive: true, force: true }) };
});

blobStoreSuite('MemoryBlobStore', async () => ({ store: new MemoryBlobStore(), close: async () => undefined }));
