// Types of apt-packages.mjs (plain JavaScript, so test/run.mjs runs it before any loader).
export declare function requiredPackages(root: string): string[];
export declare function missingPackages(pkgs: readonly string[]): string[];
export declare function installCommand(pkgs: readonly string[], root?: boolean): string;
export declare function ensureAptPackages(
  root: string,
  opts?: { isRoot?: boolean; aptUsable?: boolean; log?: (line: string) => void },
): string | undefined;
