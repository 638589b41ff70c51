/**
 * Images named by compose files, Kubernetes manifests (any YAML with
 * `image:` keys) and Dockerfile FROM lines, as pre-warm plans.
 */
import { parseAllDocuments } from 'yaml';
import type { LockfilePlanner, PlannedItem } from '../contract.js';
import { imageRef } from './ref.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function images(text: string): PlannedItem[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') {
          const r = imageRef(x);
          if (r) out.add(r);
        } else visit(x);
      }
    }
  };
  for (const d of parseAllDocuments(text)) visit(d.toJS());
  return [...out].map((ref) => ({ ref }));
}

function dockerfile(text: string): PlannedItem[] {
  const stages = new Set<string>();
  const out: PlannedItem[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]!.toLowerCase()) && m[1] !== 'scratch') {
      const r = imageRef(m[1]!);
      if (r) out.push({ ref: r });
    }
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return out;
}

export const ociPlanners: readonly LockfilePlanner[] = [
  {
    reads: 'a Dockerfile',
    matches: (b) => b === 'dockerfile' || b.endsWith('.dockerfile') || b.startsWith('dockerfile.'),
    plan: dockerfile,
  },
  { reads: 'a compose/Kubernetes YAML', fallback: true, matches: (b) => b.endsWith('.yml') || b.endsWith('.yaml'), plan: images },
];
