/**
 * A daemon-less peer for the namespace tests: runs a PeerDirectory (mDNS,
 * optionally merged with a static list) and prints `{"peers":[…]}` on start
 * and on every change; SIGTERM closes it (an mDNS goodbye) and exits.
 * Usage: node --import tsx netns-peer.ts <daemonId> <port> <interface IPv4> [static URL…]
 */
import { openPeerDirectory } from '../../daemon/peers/discovery-mdns.js';

const [id = '', port = '0', iface = '', ...statics] = process.argv.slice(2);
const dir = openPeerDirectory({
  discover: statics.length > 0 ? ['mdns', 'static'] : 'mdns',
  static: statics,
  mdns: {
    daemonId: id,
    port: Number(port),
    interface: iface,
    onError: (e) => process.stderr.write(`mdns error: ${e.message}\n`),
  },
});
const print = (peers: string[]): void => void process.stdout.write(`${JSON.stringify({ peers })}\n`);
dir.on('change', print);
print(dir.list());
process.once('SIGTERM', () => {
  void dir.close().then(() => process.exit(0));
});
