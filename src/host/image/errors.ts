/** Which build failures are the user's input (printed as one message, exit 1) rather than bugs. */
import { ElfError } from "../../../images/elf.ts";
import { CpioError } from "../../../images/cpio.ts";
import { FatError } from "../../../images/fat.ts";
import { Sel4ExportError } from "../../../images/sel4_export.ts";
import { ToolError } from "../../../images/tools.ts";
import { OutputError, SizeLimitError } from "./build.ts";
import { LayoutError } from "./layout.ts";
import { RootserverError } from "./rootserver.ts";

const KNOWN = [
  ElfError,
  CpioError,
  FatError,
  Sel4ExportError,
  ToolError,
  SizeLimitError,
  OutputError,
  LayoutError,
  RootserverError,
];

/** The message to print for an expected failure, or undefined for anything else. */
export function knownBuildError(err: unknown): string | undefined {
  if (!(err instanceof Error) || !KNOWN.some((k) => err instanceof k)) return undefined;
  return err.message;
}
