/**
 * The one error model of Cohesix (seeds 004: NotFound, Permission, Busy, Invalid, TooBig, Closed)
 * and its single mapping onto Linux errno values carried by 9P2000.L `Rlerror`.
 * Providers and the server core return `-errno` numbers (no exception objects: Porffor has no GC).
 */

export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const EFBIG = 27;
export const ENOSPC = 28;
export const EROFS = 30;
export const ENAMETOOLONG = 36;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const EPROTO = 71;
export const EMSGSIZE = 90;
export const EOPNOTSUPP = 95;
export const ECANCELED = 125;

/** Error kinds of the 004 error model, in one place. */
export const ErrorKind = {
  NotFound: ENOENT,
  Permission: EPERM,
  Busy: EBUSY,
  Invalid: EINVAL,
  TooBig: EMSGSIZE,
  Closed: EBADF,
  Unsupported: EOPNOTSUPP,
} as const;

/** Short lower-case name of an errno, for logs and console details (`error=EPERM`). */
export function errnoName(errno: number): string {
  switch (errno) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPROTO: return "EPROTO";
    case EMSGSIZE: return "EMSGSIZE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ECANCELED: return "ECANCELED";
  }
  return "EIO";
}

/** Which 004 error kind an errno belongs to, for the console's `reason=` mapping. */
export function errorKindName(errno: number): string {
  switch (errno) {
    case ENOENT: return "NotFound";
    case EPERM:
    case EACCES:
    case EROFS: return "Permission";
    case EBUSY:
    case EAGAIN: return "Busy";
    case EMSGSIZE:
    case EFBIG: return "TooBig";
    case EBADF: return "Closed";
    case EOPNOTSUPP:
    case ENOSYS: return "Unsupported";
  }
  return "Invalid";
}
