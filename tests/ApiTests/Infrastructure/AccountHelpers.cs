using System.Net;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>Steps many account tests share.</summary>
public static class AccountHelpers
{
    /// <summary>An access token of the configured administrator.</summary>
    public static async Task<Credential> AdminAsync(this ApiClient client) =>
        Credential.Bearer((string)(await client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);

    /// <summary>An administrator's change to an account, which must succeed.</summary>
    public static async Task<ApiResponse> SetAccountAsync(this ApiClient client, Credential admin, string userId, object change) =>
        (await client.PatchAsync($"/v1/users/{userId}", change, admin)).AssertStatus(HttpStatusCode.OK);

    public static async Task<string> CreateOrgAsync(this ApiClient client, TestUser owner)
    {
        var slug = "org-" + Guid.NewGuid().ToString("N")[..12];
        return (string)(await client.PostAsync("/v1/organizations", new { name = "Org " + slug, slug }, owner.Token))
            .AssertStatus(HttpStatusCode.Created).Data["id"]!;
    }

    public static async Task AddMemberAsync(this ApiClient client, TestUser by, string orgId, TestUser user, string role) =>
        (await client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = user.Id, role }, by.Token)).AssertStatus(HttpStatusCode.Created);

    public static Action<HttpRequestMessage> InOrg(string orgId) => r => r.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);

    public static Action<HttpRequestMessage> WithKey(string idempotencyKey) => r => r.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);

    /// <summary>The plan a request was rate-limited under (from <c>RateLimit-Policy: "pro";q=…</c>).</summary>
    public static string? PlanOf(ApiResponse response) => response.Header("RateLimit-Policy")?.Split(';')[0].Trim('"');

    /// <summary>Logs in and answers the access token (asserting 200).</summary>
    public static async Task<Credential> LoginTokenAsync(this ApiClient client, TestUser user, string? password = null) =>
        Credential.Bearer((string)(await client.LoginAsync(user.Email, password ?? user.Password))["access_token"]!);
}
