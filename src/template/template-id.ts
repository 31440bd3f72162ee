/**
 * What a template id may be: the one rule, used by template discovery (a file
 * `<id>.yml`), by every command that takes an id, and by the registry, whose
 * `templates` are keyed by id (and so by its JSON Schema's `propertyNames`).
 *
 * An id becomes part of names with rules of their own: the image name
 * `cws-<id>-<version>-<arch>-<yyyymmddThhmmssZ>` (EC2: at most 128 characters,
 * letters, digits and ( ) [ ] space . / - ' @ _), the tag `cws:template`, the
 * SSM parameter `/cloudworkstation/amis/<id>/<region>/<arch>` (letters,
 * digits, _ . - /), a file name on every operating system, and a word in a
 * shell command. Lowercase letters, digits and single hyphens, starting with
 * a letter and ending with a letter or digit, fit all of them unchanged. At
 * most 32 characters: with the longest `--version` cws accepts (64) and an
 * architecture, the image name stays within EC2's 128.
 *
 * Imports nothing: `cws ami list`'s quick registry check uses it.
 */
export const TEMPLATE_ID_MAX_LENGTH = 32;

/** Lowercase letters and digits in words joined by single hyphens, starting with a letter. */
export const TEMPLATE_ID_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export const TEMPLATE_ID_RULE = `lowercase letters, digits and single hyphens, starting with a letter, at most ${TEMPLATE_ID_MAX_LENGTH} characters (e.g. r-research)`;

export function isTemplateId(id: string): boolean {
  return id.length <= TEMPLATE_ID_MAX_LENGTH && TEMPLATE_ID_PATTERN.test(id);
}

/** The id a name was probably meant to be (`Bad Name` → `bad-name`), when there is one. */
export function suggestTemplateId(name: string): string | undefined {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, TEMPLATE_ID_MAX_LENGTH)
    .replace(/-+$/, "");
  return id !== name && isTemplateId(id) ? id : undefined;
}

/** Why `id` is not a template id, or undefined when it is one. */
export function templateIdProblem(id: string): string | undefined {
  if (isTemplateId(id)) return undefined;
  const why = id.length > TEMPLATE_ID_MAX_LENGTH ? ` (it has ${id.length} characters)` : "";
  return `${JSON.stringify(id)} is not a valid template id${why}: use ${TEMPLATE_ID_RULE}`;
}
