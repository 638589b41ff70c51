/**
 * The `hf:` reference scheme: `hf:<repo>@<rev>` (a whole snapshot) and
 * `hf:<repo>@<rev>/<path>` (one file). `<repo>` is `[datasets/|spaces/]`
 * then `<name>` or `<namespace>/<name>`; `<rev>` a branch, tag or commit
 * (`refs/pr/<n>` and `refs/convert/<x>` keep their slashes). A commit never
 * moves; a branch or tag does.
 */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';
import { checkFilePath, checkRev, COMMIT, isRepoName, type RepoId } from './paths.js';

export interface HfRef extends Ref {
  readonly protocol: 'hf';
  repo: RepoId;
  rev: string;
  /** One file; undefined for the whole snapshot. */
  path: string | undefined;
}

function parseRepo(text: string, raw: string): RepoId {
  const segs = text.split('/');
  const type = segs[0] === 'datasets' ? 'dataset' : segs[0] === 'spaces' ? 'space' : 'model';
  const names = type === 'model' ? segs : segs.slice(1);
  if (names.length < 1 || names.length > 2 || !names.every(isRepoName)) {
    throw badRef(raw, 'expected hf:[datasets/|spaces/][<namespace>/]<name>@<revision>[/<path>]');
  }
  return { type, name: names.join('/') };
}

export const hfRefs: RefScheme<HfRef> = {
  scheme: 'hf',
  usage: 'hf:<repo>@<revision>[/<path>]',
  parse(body, raw) {
    const at = body.indexOf('@');
    if (at < 0) throw badRef(raw, 'expected hf:<repo>@<revision>[/<path>] (a revision is required: main, a tag or a commit)');
    const repo = parseRepo(body.slice(0, at), raw);
    const segs = body.slice(at + 1).split('/');
    const revSegs = segs[0] === 'refs' ? 3 : 1;
    try {
      const rev = checkRev(segs.slice(0, revSegs).join('/'));
      const rest = segs.slice(revSegs);
      const path = rest.length === 0 ? undefined : checkFilePath(rest.map(encodeURIComponent));
      return { protocol: 'hf', raw, repo, rev, path };
    } catch (err) {
      throw badRef(raw, err instanceof Error ? err.message : String(err));
    }
  },
  format: (r) =>
    `hf:${r.repo.type === 'model' ? '' : `${r.repo.type}s/`}${r.repo.name}@${r.rev}${r.path === undefined ? '' : `/${r.path}`}`,
  isMutable: (r) => !COMMIT.test(r.rev),
};
