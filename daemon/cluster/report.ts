/**
 * The cluster as the admin API shows it (GET /cluster): the nodes
 * registered in etcd with what each last said of itself (its URL, whether
 * it reaches S3), and the role of each (the eviction leader is the node the
 * election names). When etcd cannot be asked, the answer is this node
 * alone.
 */
import type { ClusterNode, ClusterReport, ClusterRole } from '../admin/contract.js';
import type { EvictionElection } from './etcd-election.js';
import type { EtcdSession } from './etcd-session.js';

export interface ReportDeps {
  name: string;
  session: EtcdSession;
  election: EvictionElection;
  url(): string;
  s3Up(): boolean;
  s3Budget?: { maxBytes: number; usedBytes(): number | undefined };
}

/** This node's role now: leader when elected and etcd answers, alone when etcd does not. */
export function roleOf(session: EtcdSession, election: EvictionElection): ClusterRole {
  if (!session.up) return 'alone';
  return election.elected ? 'leader' : 'member';
}

function parse(text: string): { url: string; s3: boolean } {
  try {
    const v = JSON.parse(text) as { url?: unknown; s3?: unknown };
    return { url: typeof v.url === 'string' ? v.url : '', s3: v.s3 !== 'down' };
  } catch {
    return { url: '', s3: true };
  }
}

export async function clusterReport(d: ReportDeps): Promise<ClusterReport> {
  const self = d.session.opts.node;
  const role = roleOf(d.session, d.election);
  const used = d.s3Budget?.usedBytes();
  const s3: ClusterReport['s3'] = {
    up: d.s3Up(),
    ...(d.s3Budget ? { maxBytes: d.s3Budget.maxBytes } : {}),
    ...(used !== undefined ? { usedBytes: used } : {}),
  };
  let registered: Record<string, string>;
  let leader: string | undefined;
  try {
    [registered, leader] = await Promise.all([d.session.nodes(), d.election.leader()]);
    d.session.observe();
  } catch (err) {
    d.session.observe(err);
    const alone: ClusterNode = { id: self, url: d.url(), role: 'alone', etcd: false, s3: d.s3Up(), self: true };
    return { name: d.name, node: self, role: 'alone', nodes: [alone], s3 };
  }
  const nodes: ClusterNode[] = Object.entries(registered)
    .map(([id, text]): ClusterNode => {
      const said = parse(text);
      return { id, url: said.url, role: id === leader ? 'leader' : 'member', etcd: true, s3: said.s3, self: id === self };
    })
    .sort((a, b) => a.url.localeCompare(b.url) || a.id.localeCompare(b.id));
  return { name: d.name, node: self, role, ...(leader !== undefined ? { leader } : {}), nodes, s3 };
}
