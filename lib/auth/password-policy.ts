import { COMMON_PASSWORDS_TEXT } from "@/lib/auth/common-passwords";

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

let commonPasswords: Set<string> | undefined;

function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(COMMON_PASSWORDS_TEXT.split("\n").filter(Boolean));
  return commonPasswords.has(password.toLowerCase());
}

/**
 * Returns why a new password is rejected, as the end of the sentence "Invalid password: ...", or
 * null when it is accepted. Length is counted in Unicode code points, so an emoji counts once.
 */
export function findPasswordProblem(password: string, { email }: { email: string }): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `use at most ${MAX_PASSWORD_LENGTH} characters`;

  const lowered = password.toLowerCase();
  const normalisedEmail = email.trim().toLowerCase();
  const localPart = normalisedEmail.split("@")[0] ?? "";
  if (lowered === normalisedEmail || lowered === localPart) return "it must not be your email address";
  if (isCommonPassword(password)) return "it is one of the most common passwords. Choose one that is harder to guess";
  return null;
}
