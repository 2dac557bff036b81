// Must NOT compile: a field no response has. Proves the generated types are real, not `any` or `unknown`.
import type { operations as Intake } from "./generated/intake";

type Page = Intake["listProposals"]["responses"][200]["content"]["application/json"];
export const wrong = (p: Page): string => p.items[0].no_such_field;
