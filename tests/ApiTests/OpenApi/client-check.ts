// A client of the API written against the types openapi-typescript generates from the served document (api.d.ts,
// generated next to this file by the test). It is type-checked, not run: if an operation, a field or a type
// drifts from what a client relies on, `tsc --noEmit` fails and so does CI.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Resource = components["schemas"]["ResourceResponse"];
type Problem = components["schemas"]["Problem"];

function fail(what: string, problem: Problem | undefined): never {
  throw new Error(`${what}: ${problem?.code ?? "?"} ${problem?.detail ?? ""} (request ${problem?.request_id ?? "?"})`);
}

export async function tour(baseUrl: string): Promise<Resource[]> {
  const api = createClient<paths>({ baseUrl });

  // Register: the answer carries the first access token, unless the deployment requires a verified email first
  // (then it is the user with verification_required and no tokens): the two shapes are told apart by access_token.
  const registered = await api.POST("/v1/auth/register", {
    body: { email: "ann@example.com", username: "ann", password: "correct-horse-battery" },
  });
  if (!registered.data) fail("register", registered.error);
  const registration = registered.data;
  if (!("access_token" in registration)) {
    const pending: boolean = registration.verification_required;
    throw new Error(`verify ${registration.user.email} before logging in (verification_required: ${pending})`);
  }
  const accessToken: string = registration.access_token;
  const userId: string = registration.user.id;

  // Create an API key: its secret is shown once.
  const created = await api.POST("/v1/api-keys", {
    headers: { Authorization: `Bearer ${accessToken}` },
    body: { name: `key of ${userId}`, scopes: ["read", "write"] },
  });
  if (!created.data) fail("create API key", created.error);
  const apiKey: string = created.data.data.key;
  const scopes: string[] = created.data.data.scopes;

  // Create a resource with the key, then list the tenant's resources.
  const withKey = { headers: { "x-api-key": apiKey } };
  const resource = await api.POST("/v1/resources", {
    ...withKey,
    body: { name: "Quarterly report", type: "document", metadata: { pages: 12 } },
  });
  if (!resource.data) fail("create resource", resource.error);
  const etagged: Resource = resource.data.data;

  const page = await api.GET("/v1/resources", {
    ...withKey,
    params: { query: { per_page: 10, sort: "-created_at", "filter[status]": "active" } },
  });
  if (!page.data) fail("list resources", page.error);
  const total: number = page.data.meta.total;
  const next: string | null | undefined = page.data.meta.next_cursor;
  const names: string[] = page.data.data.map((r) => r.name);

  // Follow up on what happened: the tenant's events, filtered by type and paged by cursor.
  const events = await api.GET("/v1/events", {
    ...withKey,
    params: { query: { "filter[type]": "resource.created", per_page: 5 } },
  });
  if (!events.data) fail("list events", events.error);
  const eventTypes: string[] = events.data.data.map((e) => e.type);
  const eventCursor: string | null | undefined = events.data.meta.next_cursor;
  console.log(scopes, etagged.id, total, next, names, eventTypes, eventCursor);
  return page.data.data;
}
