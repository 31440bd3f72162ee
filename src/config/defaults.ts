import type { Architecture } from "../template/architectures.js";

/**
 * The built-in defaults, in a module of their own with nothing to load: the
 * help texts name them at every start, and the resolver (settings.ts) is only
 * loaded when a command runs.
 */
export const DEFAULT_TEMPLATES_DIR = "./templates";
export const DEFAULT_REGISTRY = "./registry/amis.json";
export const DEFAULT_INSTANCE_PROFILE = "cws-ami-builder";
export const DEFAULT_INSTANCE_TYPES: Record<Architecture, string> = { x86_64: "t3.medium", arm64: "t4g.medium" };

/** How messages name the templates directory, and what to do when it is not one (file-access.ts's PathRole). */
export const TEMPLATES_DIR_ROLE = {
  role: "the templates directory",
  suggestion: "run cws from the repository root, or pass --templates-dir DIR (or set CWS_TEMPLATES_DIR)",
} as const;
