/**
 * The election of the node that runs the cluster's S3-tier eviction, on
 * etcd's election recipe (the etcd3 client's `Election`: the candidate with
 * the oldest key under `<prefix>election/s3-eviction/` leads while its
 * lease lives). A campaign that fails (its lease lost: etcd unreachable for
 * longer than the TTL) ends leadership at once and a new one is started a
 * little later. `confirm` asks etcd who leads before each eviction pass, so
 * a node cut off from etcd never acts on a leadership it may have lost.
 */
import type { Campaign, Election, Namespace } from 'etcd3';
import { cancelWatches, type EtcdSession } from './etcd-session.js';

export interface EvictionElectionOptions {
  /** Delay before campaigning again after a failed campaign. */
  retryMs?: number;
  onChange?(leader: boolean): void;
}

export class EvictionElection {
  private readonly election: Election;
  private campaign: Campaign | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Whether this node's campaign was elected and has not failed since. */
  elected = false;

  constructor(
    private readonly session: EtcdSession,
    private readonly opts: EvictionElectionOptions = {},
  ) {
    this.election = session.client.namespace(session.opts.prefix).election('s3-eviction', session.opts.leaseTtlSec);
  }

  private set(elected: boolean): void {
    if (this.elected === elected) return;
    this.elected = elected;
    this.opts.onChange?.(elected);
  }

  start(): void {
    if (this.stopped || this.campaign) return;
    const c = this.election.campaign(this.session.opts.node);
    this.campaign = c;
    c.on('elected', () => {
      if (this.campaign === c) this.set(true);
    });
    c.on('error', () => {
      if (this.campaign !== c) return;
      this.campaign = undefined;
      this.set(false);
      void c.resign().catch(() => undefined);
      this.retry = setTimeout(() => this.start(), this.opts.retryMs ?? 2_000);
      this.retry.unref();
    });
  }

  /** The leading node's name as etcd says now (throws when etcd cannot be asked). */
  leader(): Promise<string | undefined> {
    return this.election.leader();
  }

  /** True when this node was elected and etcd confirms it leads (false when etcd cannot be asked). */
  async confirm(): Promise<boolean> {
    if (!this.elected) return false;
    try {
      return (await this.leader()) === this.session.opts.node;
    } catch (err) {
      this.session.observe(err);
      return false;
    }
  }

  /** Gives up the campaign (a clean stop hands leadership over at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const c = this.campaign;
    this.campaign = undefined;
    this.set(false);
    // Bounded: with etcd unreachable the campaign's lease expires on its own.
    if (c) await Promise.race([c.resign().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    // A campaign that was not elected waits on a watch of the candidate before it, which resign does not end.
    cancelWatches((this.election as unknown as { namespace: Namespace }).namespace);
  }
}
