/** The embedded default config: loopback only, public upstreams. */
export const DEFAULT_CONFIG_YAML = `# Larder default configuration (embedded).
listen: 127.0.0.1:7420
storage:
  maxSize: 50GB
remotes:
  npmjs:     { type: npm,  url: https://registry.npmjs.org/ }
  dockerhub: { type: oci,  url: https://registry-1.docker.io, host: docker.io }
  pypi:      { type: pypi, url: https://pypi.org/simple/, filesUrl: https://files.pythonhosted.org/ }
  golang:    { type: go,   url: https://proxy.golang.org/, sumdbs: [sum.golang.org] }
  central:   { type: http, url: https://repo1.maven.org/maven2/, layout: maven }
`;
