using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using static ApiPlatform.ApiTests.Infrastructure.AccountHelpers;

namespace ApiPlatform.ApiTests;

/// <summary>
/// What a key may do with keys (the <c>keys</c> scope; subsets of its scopes, no later expiry), who made it
/// (<c>created_by</c>), and how an organization key stops when its creator stops being an admin there.
/// </summary>
public abstract class KeyAuthorityTests(ApiServer server) : ApiTestBase(server)
{
    private static readonly string[] All = ["keys", "read", "write"];

    [Fact]
    public async Task Managing_keys_with_a_key_needs_the_keys_scope()
    {
        var user = await Client.RegisterAsync();
        var (id, plain) = await Client.CreateApiKeyAsync(user.Token);
        var (_, manager) = await Client.CreateApiKeyAsync(user.Token, new { name = "manager", scopes = All });

        foreach (var request in new Func<Credential, Task<ApiResponse>>[]
        {
            c => Client.GetAsync("/v1/api-keys", c),
            c => Client.GetAsync($"/v1/api-keys/{id}", c),
            c => Client.PostAsync("/v1/api-keys", new { name = "x" }, c),
            c => Client.PostAsync($"/v1/api-keys/{id}/roll", null, c),
            c => Client.DeleteAsync($"/v1/api-keys/{id}", c),
        })
        {
            (await request(Credential.ApiKeyHeader(plain))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        }

        (await Client.GetAsync("/v1/api-keys", Credential.ApiKeyHeader(manager))).AssertStatus(HttpStatusCode.OK);
        // The plain key still does its own work.
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(plain))).AssertStatus(HttpStatusCode.OK);
        // Keys created without scopes get read and write, not keys.
        var created = (await Client.PostAsync("/v1/api-keys", new { name = "default" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(["read", "write"], created.Data["scopes"]!.AsArray().Select(s => (string)s!));
    }

    [Fact]
    public async Task A_key_creates_only_keys_with_a_subset_of_its_scopes()
    {
        var user = await Client.RegisterAsync();
        var (_, writer) = await Client.CreateApiKeyAsync(user.Token, new { name = "writer", scopes = new[] { "keys", "write" } });

        (await Client.PostAsync("/v1/api-keys", new { scopes = new[] { "read" } }, Credential.ApiKeyHeader(writer)))
            .AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/api-keys", new { scopes = new[] { "read", "write" } }, Credential.ApiKeyHeader(writer)))
            .AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        var child = (await Client.PostAsync("/v1/api-keys", new { name = "child" }, Credential.ApiKeyHeader(writer))).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(["write"], child.Data["scopes"]!.AsArray().Select(s => (string)s!));
        var keyChild = (await Client.PostAsync("/v1/api-keys", new { scopes = new[] { "keys", "write" } }, Credential.ApiKeyHeader(writer)))
            .AssertStatus(HttpStatusCode.Created);
        Assert.Equal(["keys", "write"], keyChild.Data["scopes"]!.AsArray().Select(s => (string)s!));
    }

    [Fact]
    public async Task A_key_creates_only_keys_that_expire_no_later_than_itself()
    {
        var user = await Client.RegisterAsync();
        var parentExpiry = Server.Time.GetUtcNow().AddMinutes(5);
        var (_, parent) = await Client.CreateApiKeyAsync(user.Token, new { name = "short", scopes = All, expires_at = parentExpiry.ToString("O") });

        var tooLate = await Client.PostAsync("/v1/api-keys", new { expires_at = parentExpiry.AddMinutes(1).ToString("O") }, Credential.ApiKeyHeader(parent));
        Assert.NotNull(tooLate.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["expires_at"]);

        var inherited = (await Client.PostAsync("/v1/api-keys", new { name = "no expiry asked" }, Credential.ApiKeyHeader(parent))).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(parentExpiry.ToUnixTimeSeconds(), DateTimeOffset.Parse((string)inherited.Data["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds());
        var sooner = (await Client.PostAsync("/v1/api-keys", new { expires_at = parentExpiry.AddMinutes(-1).ToString("O") }, Credential.ApiKeyHeader(parent)))
            .AssertStatus(HttpStatusCode.Created);
        Assert.NotNull((string?)sooner.Data["expires_at"]);

        Server.Time.Advance(TimeSpan.FromMinutes(5));
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader((string)inherited.Data["key"]!))).AssertProblem(HttpStatusCode.Unauthorized, "expired_api_key");
    }

    [Fact]
    public async Task Keys_show_who_created_them_and_revoking_a_key_revokes_the_keys_it_made()
    {
        var user = await Client.RegisterAsync();
        var (parentId, parent) = await Client.CreateApiKeyAsync(user.Token, new { name = "parent", scopes = All });
        var child = (await Client.PostAsync("/v1/api-keys", new { name = "child", scopes = All }, Credential.ApiKeyHeader(parent))).AssertStatus(HttpStatusCode.Created);
        var grandchild = (await Client.PostAsync("/v1/api-keys", new { name = "grandchild" }, Credential.Bearer((string)child.Data["key"]!)))
            .AssertStatus(HttpStatusCode.Created);

        var parentView = (await Client.GetAsync($"/v1/api-keys/{parentId}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(user.Id, (string?)parentView.Data["created_by"]);
        Assert.Null((string?)parentView.Data["created_by_key"]);
        Assert.Equal(user.Id, (string?)child.Data["created_by"]);
        Assert.Equal(parentId, (string?)child.Data["created_by_key"]);
        Assert.Equal((string?)child.Data["id"], (string?)grandchild.Data["created_by_key"]);

        (await Client.DeleteAsync($"/v1/api-keys/{parentId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);

        (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)child.Data["key"]!))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)grandchild.Data["key"]!))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        var list = (await Client.GetAsync("/v1/api-keys", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.All(list.Data.AsArray(), k => Assert.Equal("revoked", (string?)k!["status"]));
    }

    [Theory]
    [InlineData("demoted")]
    [InlineData("removed")]
    public async Task An_organization_key_stops_when_its_creator_is_no_longer_an_admin_there(string how)
    {
        var owner = await Client.RegisterAsync();
        var admin = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        await Client.AddMemberAsync(owner, org, admin, "admin");
        var created = (await Client.PostAsync("/v1/api-keys", new { name = "admin's" }, admin.Token, InOrg(org))).AssertStatus(HttpStatusCode.Created);
        var key = Credential.ApiKeyHeader((string)created.Data["key"]!);
        var ownersKey = Credential.ApiKeyHeader((string)(await Client.PostAsync("/v1/api-keys", new { name = "owner's" }, owner.Token, InOrg(org)))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!);
        Assert.Equal(admin.Id, (string?)created.Data["created_by"]);
        (await Client.GetAsync("/v1/resources", key)).AssertStatus(HttpStatusCode.OK);

        if (how == "demoted")
        {
            (await Client.PatchAsync($"/v1/organizations/{org}/members/{admin.Id}", new { role = "member" }, owner.Token)).AssertStatus(HttpStatusCode.OK);
        }
        else
        {
            (await Client.DeleteAsync($"/v1/organizations/{org}/members/{admin.Id}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        }

        (await Client.GetAsync("/v1/resources", key)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/resources", new { name = "x" }, key)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync("/v1/resources", ownersKey)).AssertStatus(HttpStatusCode.OK);
        var listed = (await Client.GetAsync($"/v1/api-keys/{(string)created.Data["id"]!}", owner.Token, InOrg(org))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("suspended", (string?)listed.Data["status"]);

        // Made an admin again, the member's keys work again.
        if (how == "demoted")
        {
            (await Client.PatchAsync($"/v1/organizations/{org}/members/{admin.Id}", new { role = "admin" }, owner.Token)).AssertStatus(HttpStatusCode.OK);
        }
        else
        {
            await Client.AddMemberAsync(owner, org, admin, "admin");
        }

        (await Client.GetAsync("/v1/resources", key)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_user_keys_plan_follows_the_owner_unless_an_administrator_pinned_one()
    {
        var admin = await Client.AdminAsync();
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/api-keys", new { plan = "free" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        (await Client.PostAsync("/v1/api-keys", new { plan = "pro" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        var pinned = (await Client.PostAsync("/v1/api-keys", new { plan = "pro" }, admin)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal("pro", (string?)pinned.Data["plan"]);
        Assert.Equal("pro", PlanOf((await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader((string)pinned.Data["key"]!))).AssertStatus(HttpStatusCode.OK)));
        (await Client.DeleteAsync($"/v1/api-keys/{(string)pinned.Data["id"]!}", admin)).AssertStatus(HttpStatusCode.NoContent);
    }
}

[Collection(Servers.Embedded)]
public sealed class KeyAuthorityTestsOnEmbedded(EmbeddedServer server) : KeyAuthorityTests(server);

[Collection(Servers.Postgres)]
public sealed class KeyAuthorityTestsOnPostgres(PostgresServer server) : KeyAuthorityTests(server);
