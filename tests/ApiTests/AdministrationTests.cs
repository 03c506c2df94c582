using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using static ApiPlatform.ApiTests.Infrastructure.AccountHelpers;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Administrators read and change accounts: role, plan and disabled flag apply to the very next request, including
/// to existing access tokens and API keys, and the last active administrator stays.
/// </summary>
public abstract class AdministrationTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Admins_see_any_user_others_themselves_and_organization_peers_and_outsiders_get_404()
    {
        var admin = await Client.AdminAsync();
        var owner = await Client.RegisterAsync();
        var peer = await Client.RegisterAsync();
        var outsider = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        await Client.AddMemberAsync(owner, org, peer, "member");

        var seen = (await Client.GetAsync($"/v1/users/{peer.Id}", admin)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(peer.Email, (string?)seen.Data["email"]);
        Assert.False((bool)seen.Data["disabled"]!);
        Assert.False((bool)seen.Data["email_verified"]!);
        Assert.NotNull(seen.Header("ETag"));
        (await Client.GetAsync($"/v1/users/{owner.Id}", owner.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/users/{peer.Id}", owner.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/users/{owner.Id}", peer.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/users/{peer.Id}", outsider.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/users/usr_AAAAAAAAAAAAAAAAAAAAAA", admin)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/users/not-an-id", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Only_admins_change_accounts_and_the_fields_are_checked()
    {
        var admin = await Client.AdminAsync();
        var user = await Client.RegisterAsync();
        var other = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(user);
        await Client.AddMemberAsync(user, org, other, "admin");

        // Wrong role: a user (even an organization admin, even about themselves) and an outsider.
        (await Client.PatchAsync($"/v1/users/{user.Id}", new { plan = "pro" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/users/{user.Id}", new { role = "admin" }, other.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/users/{other.Id}", new { disabled = true }, (await Client.RegisterAsync()).Token))
            .AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        foreach (var (body, field) in new[] { ("""{"role": "root"}""", "role"), ("""{"plan": "gold"}""", "plan"), ("""{"disabled": "yes"}""", "disabled"), ("""{"role": null}""", "role") })
        {
            var response = await Client.SendAsync(HttpMethod.Patch, $"/v1/users/{user.Id}", ApiClient.JsonContent(body), admin);
            Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
        }

        (await Client.PatchAsync("/v1/users/usr_AAAAAAAAAAAAAAAAAAAAAA", new { plan = "pro" }, admin)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var changed = await Client.SetAccountAsync(admin, user.Id, new { plan = "pro" });
        Assert.Equal("pro", (string?)changed.Data["plan"]);
        Assert.Equal("user", (string?)changed.Data["role"]);
    }

    [Fact]
    public async Task A_plan_change_applies_to_the_next_request_of_existing_tokens_and_keys()
    {
        var admin = await Client.AdminAsync();
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        Assert.Equal("free", PlanOf((await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK)));
        Assert.Equal("free", PlanOf((await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK)));

        await Client.SetAccountAsync(admin, user.Id, new { plan = "pro" });

        Assert.Equal("pro", PlanOf((await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK)));
        Assert.Equal("pro", PlanOf((await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK)));
        Assert.Equal("pro", (string?)(await Client.GetAsync("/v1/usage", user.Token)).AssertStatus(HttpStatusCode.OK).Data["plan"]);
        // The caps follow too: the free plan allows 3 keys in these tests, pro 50.
        for (var i = 0; i < 3; i++)
        {
            await Client.CreateApiKeyAsync(user.Token);
        }
    }

    [Fact]
    public async Task A_role_change_applies_to_the_next_request_of_an_existing_token()
    {
        var admin = await Client.AdminAsync();
        var user = await Client.RegisterAsync();
        var target = await Client.RegisterAsync();
        (await Client.PatchAsync($"/v1/users/{target.Id}", new { plan = "pro" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        await Client.SetAccountAsync(admin, user.Id, new { role = "admin" });
        (await Client.PatchAsync($"/v1/users/{target.Id}", new { plan = "pro" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/users/{target.Id}", user.Token)).AssertStatus(HttpStatusCode.OK);

        await Client.SetAccountAsync(admin, user.Id, new { role = "user" });
        (await Client.PatchAsync($"/v1/users/{target.Id}", new { plan = "free" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync($"/v1/users/{target.Id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task A_disabled_account_cannot_log_in_its_tokens_and_keys_stop_and_enabling_restores_the_keys_only()
    {
        var admin = await Client.AdminAsync();
        var user = await Client.RegisterAsync();
        var colleague = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(user);
        await Client.AddMemberAsync(user, org, colleague, "admin");
        var (_, ownKey) = await Client.CreateApiKeyAsync(user.Token);
        var (revokedId, revokedKey) = await Client.CreateApiKeyAsync(user.Token);
        var (_, orgKey) = await Client.CreateApiKeyAsync(user.Token, new { name = "org key" });
        var orgKeyByUser = (string)(await Client.PostAsync("/v1/api-keys", new { name = "by user" }, user.Token, InOrg(org)))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!;
        var orgKeyByColleague = (string)(await Client.PostAsync("/v1/api-keys", new { name = "by colleague" }, colleague.Token, InOrg(org)))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!;
        (await Client.DeleteAsync($"/v1/api-keys/{revokedId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        var otherSession = await Client.LoginTokenAsync(user);

        var disabled = await Client.SetAccountAsync(admin, user.Id, new { disabled = true });
        Assert.True((bool)disabled.Data["disabled"]!);

        (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password })).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        (await Client.GetAsync("/v1/users/me", otherSession)).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(ownKey))).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKeyByUser))).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        // A wrong password still says only that: the account's state is not revealed to a guesser.
        (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = "wrong-password" })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        // The organization's other keys are not the disabled user's.
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKeyByColleague))).AssertStatus(HttpStatusCode.OK);

        await Client.SetAccountAsync(admin, user.Id, new { disabled = false });

        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(ownKey))).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(orgKey))).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKeyByUser))).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(revokedKey))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        // Sessions ended with the disable; the user logs in again.
        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", await Client.LoginTokenAsync(user))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_last_active_administrator_cannot_be_demoted_or_disabled_even_under_concurrency()
    {
        var bootstrap = await Client.AdminAsync();
        var bootstrapId = (string)(await Client.GetAsync("/v1/users/me", bootstrap)).Data["id"]!;
        // Other tests promote users: leave the bootstrap administrator as the only active one.
        var admins = (await Client.GetAsync("/v1/users?role=admin&per_page=100", bootstrap)).AssertStatus(HttpStatusCode.OK);
        foreach (var other in admins.Data.AsArray().Select(u => (string)u!["id"]!).Where(id => id != bootstrapId))
        {
            await Client.SetAccountAsync(bootstrap, other, new { role = "user" });
        }

        (await Client.PatchAsync($"/v1/users/{bootstrapId}", new { role = "user" }, bootstrap)).AssertProblem(HttpStatusCode.Conflict, "conflict");
        (await Client.PatchAsync($"/v1/users/{bootstrapId}", new { disabled = true }, bootstrap)).AssertProblem(HttpStatusCode.Conflict, "conflict");

        // Two administrators demote each other at the same moment: exactly one of them stays.
        var second = await Client.RegisterAsync("admin");
        await Client.SetAccountAsync(bootstrap, second.Id, new { role = "admin" });
        var responses = await Task.WhenAll(
            Client.PatchAsync($"/v1/users/{second.Id}", new { role = "user" }, bootstrap),
            Client.PatchAsync($"/v1/users/{bootstrapId}", new { disabled = true }, second.Token));
        Assert.Single(responses, r => r.Status == HttpStatusCode.OK);
        Assert.Single(responses, r => r.Status != HttpStatusCode.OK);

        // Put the bootstrap administrator back for the other tests.
        if (responses[1].Status == HttpStatusCode.OK)
        {
            await Client.SetAccountAsync(second.Token, bootstrapId, new { disabled = false });
            await Client.SetAccountAsync(await Client.AdminAsync(), second.Id, new { role = "user" });
        }

        var adminsNow = (await Client.GetAsync("/v1/users?role=admin&per_page=100", await Client.AdminAsync())).AssertStatus(HttpStatusCode.OK);
        Assert.Contains(bootstrapId, adminsNow.Data.AsArray().Select(u => (string)u!["id"]!));
    }

    [Fact]
    public async Task Only_system_administrators_set_an_organizations_plan_and_its_keys_and_caps_follow_at_once()
    {
        var admin = await Client.AdminAsync();
        var owner = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        var orgKey = (string)(await Client.PostAsync("/v1/api-keys", new { name = "org" }, owner.Token, InOrg(org))).AssertStatus(HttpStatusCode.Created).Data["key"]!;
        Assert.Equal("free", PlanOf((await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKey))).AssertStatus(HttpStatusCode.OK)));

        (await Client.PatchAsync($"/v1/organizations/{org}", new { plan = "pro" }, owner.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/organizations/{org}", new { plan = "pro" }, (await Client.RegisterAsync()).Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/organizations/{org}", new { plan = "gold" }, admin)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PatchAsync("/v1/organizations/org_AAAAAAAAAAAAAAAAAAAAAA", new { plan = "pro" }, admin)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        // The administrator need not be a member.
        var changed = (await Client.PatchAsync($"/v1/organizations/{org}", new { plan = "pro" }, admin)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("pro", (string?)changed.Data["plan"]);
        Assert.Null((string?)changed.Data["role"]);

        Assert.Equal("pro", PlanOf((await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKey))).AssertStatus(HttpStatusCode.OK)));
        Assert.Equal("pro", PlanOf((await Client.GetAsync("/v1/resources", owner.Token, InOrg(org))).AssertStatus(HttpStatusCode.OK)));
        // The owner's own space stays on the owner's plan.
        Assert.Equal("free", PlanOf((await Client.GetAsync("/v1/resources", owner.Token)).AssertStatus(HttpStatusCode.OK)));
        // The organization's caps are its plan's: more than the free plan's 3 keys.
        for (var i = 0; i < 3; i++)
        {
            (await Client.PostAsync("/v1/api-keys", new { name = "more" }, owner.Token, InOrg(org))).AssertStatus(HttpStatusCode.Created);
        }
    }
}

[Collection(Servers.Embedded)]
public sealed class AdministrationTestsOnEmbedded(EmbeddedServer server) : AdministrationTests(server);

[Collection(Servers.Postgres)]
public sealed class AdministrationTestsOnPostgres(PostgresServer server) : AdministrationTests(server);
