// A front end's typed use of the four services, written against clients generated from docs/openapi/*.json.
// It touches a field of every list and every report; `tsc --strict` must accept it (tests/contract).
import type { operations as Intake } from "./generated/intake";
import type { operations as Portfolio } from "./generated/portfolio";
import type { operations as Resourcing } from "./generated/resourcing";
import type { operations as Reporting } from "./generated/reporting";

/** The JSON body an operation answers with `status`. */
type Ok<Op, Status extends number = 200> = Op extends {
  responses: { [K in Status]: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;
/** Every list is a page: items and the cursor of the next one (null at the end). */
type Cursor = string | null;

// intake
export const proposalTitles = (p: Ok<Intake["listProposals"]>): string[] => p.items.map((x) => x.title);
export const historyEvents = (h: Ok<Intake["listProposalHistory"]>): string[] => h.items.map((e) => e.event);
export const draftedStatus = (p: Ok<Intake["createProposal"], 201>): string => p.status;
export const decidedBy = (p: Ok<Intake["readProposal"]>): string | undefined => p.decision?.decided_by;

// portfolio
export const envelopes = (p: Ok<Portfolio["listPortfolios"]>): string[] =>
  p.items.flatMap((x) => x.budget.map((b) => b.remaining));
export const objectiveWeights = (p: Ok<Portfolio["listObjectives"]>): string[] => p.items.map((o) => o.weight);
export const candidateStatuses = (p: Ok<Portfolio["listCandidates"]>): string[] => p.items.map((c) => c.status);
export const decisionOutcomes = (p: Ok<Portfolio["listDecisions"]>): string[] => p.items.map((d) => d.outcome);
export const rankedScores = (p: Ok<Portfolio["rankCandidates"]>): (string | null)[] =>
  p.items.map((r) => r.weighted_score);
export const savedScenarios = (p: Ok<Portfolio["listSavedScenarios"]>): string[] => p.items.map((s) => s.name);
export const projectBacs = (p: Ok<Portfolio["listProjects"]>): string[] => p.items.map((x) => x.bac);
export const scenarioValue = (s: Ok<Portfolio["runScenario"]>): string => s.total_value;
export const fiscalYear = (c: Ok<Portfolio["readFiscalCalendar"]>): string => c.current.year.name;

// resourcing
export const resourceNames = (p: Ok<Resourcing["listResources"]>): string[] => p.items.map((r) => r.name);
export const bookedFte = (p: Ok<Resourcing["listAllocations"]>): string[] => p.items.map((a) => a.fte);
export const demandCover = (p: Ok<Resourcing["listDemands"]>): string[] => p.items.map((d) => d.filled_fte);
export const freeWeeks = (p: Ok<Resourcing["readResourceSchedule"]>): string[] => p.items.map((w) => w.free);
export const utilisation = (p: Ok<Resourcing["readCapacity"]>): (string | null)[] =>
  p.items.map((r) => r.utilisation);

// reporting: every report
export const committed = (r: Ok<Reporting["readPortfolioSummary"]>): string => r.totals.committed;
export const conversion = (r: Ok<Reporting["readPipeline"]>): string | null => r.conversion.approved_of_decided;
export const trail = (r: Ok<Reporting["listDecisions"]>): string[] => r.items.map((d) => d.rationale);
export const evm = (r: Ok<Reporting["readProjectReport"]>): (string | null)[] => r.evm.map((p) => p.spi);
export const budget = (r: Ok<Reporting["readProjectReport"]>): string[] =>
  (r.current_budget ?? []).map((b) => `${b.fiscal_period} ${b.amount}`);
export const heatmap = (r: Ok<Reporting["readCapacityReport"]>): string[] => r.items.map((c) => c.capacity);
export const benefits = (r: Ok<Reporting["listBenefits"]>): (string | null)[] =>
  r.items.map((b) => b.realised_value ?? null);
export const objectives = (r: Ok<Reporting["listObjectiveContributions"]>): string[] =>
  r.items.map((o) => o.committed_budget);
export const lessons = (r: Ok<Reporting["listLessons"]>): string[] => r.items.map((l) => l.title);
export const history = (r: Ok<Reporting["listEntityHistory"]>): string[] => r.items.map((e) => e.service);
export const readModels = (r: Ok<Reporting["listProjections"]>): number => r.projections.length;

// every list pages alike
export const nextPages: Cursor[] = [];
export function follow(page: Ok<Reporting["listLessons"]> | Ok<Intake["listProposals"]>): Cursor {
  return page.next_cursor;
}
