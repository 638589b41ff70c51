/** PyPI adapter pieces: names, routes, Accept negotiation, page parsing and rendering. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEntities, parseAnchors } from '../../daemon/protocols/pypi/html.js';
import { normalizeName, parsePypiPath } from '../../daemon/protocols/pypi/names.js';
import { negotiate } from '../../daemon/protocols/pypi/negotiate.js';
import { parseProjectList, parseProjectPage } from '../../daemon/protocols/pypi/page-model.js';
import { deriveProject } from '../../daemon/protocols/pypi/render.js';
import { isLarderError } from '../../daemon/core/errors.js';

const H = 'a'.repeat(64);
const M = 'b'.repeat(64);

describe('pypi names and routes', () => {
  it('normalizes like PEP 503', () => {
    assert.equal(normalizeName('Foo.Bar__baz--Qux'), 'foo-bar-baz-qux');
  });

  it('routes default and named remotes and redirects non-normalized or slashless pages', () => {
    const isRemote = (n: string): boolean => n === 'corp';
    assert.deepEqual(parsePypiPath('/simple/', isRemote), { kind: 'index', remote: undefined });
    assert.deepEqual(parsePypiPath('/corp/simple/foo/', isRemote), { kind: 'project', remote: 'corp', project: 'foo' });
    assert.deepEqual(parsePypiPath('/simple/Foo_Bar/', isRemote), { kind: 'redirect', location: '/simple/foo-bar/' });
    assert.deepEqual(parsePypiPath('/corp/simple/foo', isRemote), { kind: 'redirect', location: '/corp/simple/foo/' });
    assert.deepEqual(parsePypiPath('/simple', isRemote), { kind: 'redirect', location: '/simple/' });
    assert.deepEqual(parsePypiPath('/corp/files/Foo/foo-1.0.tar.gz.metadata', isRemote), {
      kind: 'file',
      remote: 'corp',
      project: 'foo',
      file: 'foo-1.0.tar.gz',
      metadata: true,
    });
  });

  it('rejects hostile segments', () => {
    for (const p of ['/corp/files/foo/..%2f..%2fetc', '/simple/%ZZ/', '/files/foo/.hidden']) {
      assert.throws(
        () => parsePypiPath(p, () => true),
        (e) => isLarderError(e) && (e.code === 'E_BAD_NAME' || e.code === 'E_NOT_FOUND'),
        p,
      );
    }
  });
});

describe('pypi negotiation', () => {
  it('follows q-values, prefers explicit types over wildcards, and refuses the unacceptable', () => {
    const pip = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
    assert.equal(negotiate(pip), 'json');
    assert.equal(negotiate(undefined), 'html');
    assert.equal(negotiate('*/*'), 'html');
    assert.equal(negotiate('application/vnd.pypi.simple.latest+html'), 'html-v1');
    assert.equal(negotiate('*/*, application/vnd.pypi.simple.v1+json'), 'json');
    assert.equal(negotiate('application/xml'), undefined);
    assert.equal(negotiate('application/vnd.pypi.simple.v1+json;q=0'), undefined);
    assert.equal(negotiate('text/html', 'application/vnd.pypi.simple.v1+json'), 'json');
  });
});

describe('pypi pages', () => {
  it('parses anchors with raw ">" in quoted values and decodes entities', () => {
    const a = parseAnchors(`<a href='x.whl' data-requires-python=">=3.8" data-yanked>x&#46;whl</a>`);
    assert.deepEqual(a, [{ attrs: { href: 'x.whl', 'data-requires-python': '>=3.8', 'data-yanked': '' }, text: 'x.whl' }]);
    assert.equal(decodeEntities('&lt;4&amp;&#x3e;=3&gt;'), '<4&>=3>');
  });

  it('reads HTML and JSON pages into one model and renders both forms', () => {
    const html = Buffer.from(
      `<a href="../../files/foo-1.0-py3-none-any.whl#sha256=${H}" data-requires-python="&gt;=3.7" data-dist-info-metadata="sha256=${M}">foo-1.0-py3-none-any.whl</a>` +
        `<a href="https://elsewhere.example/foo-0.1.tar.gz#md5=0123456789abcdef0123456789abcdef" data-yanked="bad">foo-0.1.tar.gz</a>`,
    );
    const page = parseProjectPage(html, 'https://idx.example/simple/foo/', 'foo');
    assert.equal(page.files[0]!.url, 'https://idx.example/files/foo-1.0-py3-none-any.whl');
    assert.deepEqual(page.files[0]!.coreMetadata, { sha256: M });
    const d = deriveProject(page, {
      project: 'foo',
      fileBase: 'http://m/pypi/r/files/foo/',
      owns: (u) => u.startsWith('https://idx.example/'),
    });
    const json = JSON.parse(d.variants.json!.body.toString()) as { files: Array<Record<string, unknown>> };
    assert.deepEqual(json.files[0], {
      filename: 'foo-1.0-py3-none-any.whl',
      url: 'http://m/pypi/r/files/foo/foo-1.0-py3-none-any.whl',
      hashes: { sha256: H },
      'requires-python': '>=3.7',
      'core-metadata': { sha256: M },
    });
    assert.equal(json.files[1]!.url, 'https://elsewhere.example/foo-0.1.tar.gz', 'foreign files are not proxied');
    assert.equal(json.files[1]!.yanked, 'bad');
    const out = d.variants.html!.body.toString();
    assert.ok(out.includes(`data-requires-python="&gt;=3.7" data-dist-info-metadata="sha256=${M}" data-core-metadata="sha256=${M}"`));
    assert.ok(out.includes('#md5=0123456789abcdef0123456789abcdef" data-yanked="bad"'));
    const files = JSON.parse(d.variants.files!.body.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(files), ['foo-1.0-py3-none-any.whl']);

    const fromJson = parseProjectPage(
      Buffer.from(
        JSON.stringify({ files: [{ filename: 'f.whl', url: 'f.whl', hashes: { sha256: H }, 'dist-info-metadata': true, yanked: true }] }),
      ),
      'https://idx.example/simple/foo/',
      'foo',
    );
    assert.deepEqual(fromJson.files[0], {
      filename: 'f.whl',
      url: 'https://idx.example/simple/foo/f.whl',
      hashes: { sha256: H },
      yanked: '',
      coreMetadata: {},
    });
  });

  it('reads project lists in both forms', () => {
    assert.deepEqual(parseProjectList(Buffer.from('<a href="/simple/a/">A_b</a><a href="/x/">c</a>')), ['a-b', 'c']);
    assert.deepEqual(parseProjectList(Buffer.from('{"projects":[{"name":"Z.z"}]}')), ['z-z']);
  });
});
