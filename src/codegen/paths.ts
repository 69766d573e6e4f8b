/**
 * Path rules shared by namespace mounts, role rules, `ecosystem.host.mount_at` and image entries:
 * absolute, no empty / `.` / `..` component, and no deeper than the walk depth.
 */

/** Components of an absolute path; `/` has none. */
export function components(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

export interface PathRule {
  /** Prefix of every message, e.g. `namespace mount proc` or `ecosystem.host.mount_at`. */
  label: string;
  /** Maximum number of components, or undefined for no depth limit. */
  walkDepth?: number;
  /** Refuse `/` itself. */
  notRoot?: boolean;
}

/** Returns the first rule the absolute path breaks, as a message, or undefined when it is fine. */
export function checkAbsolutePath(path: string, rule: PathRule): string | undefined {
  if (!path.startsWith("/")) return `${rule.label} '${path}' must be an absolute path`;
  const parts = components(path);
  if (rule.notRoot && parts.length === 0) return `${rule.label} must not be root`;
  if (parts.includes("..")) return `${rule.label} contains disallowed '..'`;
  if (parts.includes(".")) return `${rule.label} contains disallowed '.'`;
  if (parts.includes("")) return `${rule.label} contains empty path component`;
  if (rule.walkDepth !== undefined && parts.length > rule.walkDepth) {
    return `${rule.label} exceeds walk depth ${rule.walkDepth}`;
  }
  return undefined;
}

/** Checks a path relative to the repository root (image sources). */
export function checkRelativePath(path: string, label: string): string | undefined {
  if (path === "" || path.startsWith("/")) return `${label} '${path}' must be a relative path inside the repository`;
  const parts = path.split("/");
  if (parts.includes("..")) return `${label} contains disallowed '..'`;
  if (parts.includes(".") || parts.includes("")) return `${label} '${path}' must not contain '.' or empty components`;
  return undefined;
}

/** True when `path` equals `prefix` or lies below it (component-wise). */
export function isUnder(path: string, prefix: string): boolean {
  if (prefix === "/") return true;
  return path === prefix || path.startsWith(prefix + "/");
}
