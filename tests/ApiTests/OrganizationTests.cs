using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Organizations as tenants: members, roles and their permissions, deletion, and the user directory.</summary>
public abstract class OrganizationTests(ApiServer server) : ApiTestBase(server)
{
    private static void InOrg(HttpRequestMessage request, string orgId) => request.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);

    private async Task<(TestUser Owner, string OrgId)> CreateOrgAsync()
    {
        var owner = await Client.RegisterAsync("owner");
        var slug = "org-" + Guid.NewGuid().ToString("N")[..10];
        var created = (await Client.PostAsync("/v1/organizations", new { name = "Acme " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        return (owner, (string)created.Data["id"]!);
    }

    private async Task<TestUser> AddMemberAsync(TestUser by, string orgId, string role)
    {
        var user = await Client.RegisterAsync(role);
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = user.Id, role }, by.Token)).AssertStatus(HttpStatusCode.Created);
        return user;
    }

    [Fact]
    public async Task The_creator_owns_a_new_organization_and_only_members_see_it()
    {
        var owner = await Client.RegisterAsync();
        var outsider = await Client.RegisterAsync();
        var slug = "team-" + Guid.NewGuid().ToString("N")[..8];
        var created = (await Client.PostAsync("/v1/organizations", new { name = "My Organization", slug }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        var id = (string)created.Data["id"]!;
        Assert.StartsWith("org_", id);
        Assert.Equal($"/v1/organizations/{id}", created.Header("Location"));
        Assert.Equal(slug, (string?)created.Data["slug"]);
        Assert.Equal("owner", (string?)created.Data["role"]);
        Assert.Equal(1, (int?)created.Data["member_count"]);

        Assert.Equal("My Organization", (string?)(await Client.GetAsync($"/v1/organizations/{id}", owner.Token)).AssertStatus(HttpStatusCode.OK).Data["name"]);
        var mine = (await Client.GetAsync("/v1/organizations", owner.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1, (int?)mine.Json["meta"]!["total"]);
        Assert.Equal(id, (string?)mine.Data[0]!["id"]);

        (await Client.GetAsync($"/v1/organizations/{id}", outsider.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/organizations", outsider.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task A_slug_is_derived_from_the_name_when_omitted()
    {
        var owner = await Client.RegisterAsync();
        var name = "Derived Org " + Guid.NewGuid().ToString("N")[..6];
        var created = (await Client.PostAsync("/v1/organizations", new { name }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(name.ToLowerInvariant().Replace(' ', '-'), (string?)created.Data["slug"]);
    }

    [Fact]
    public async Task Slugs_are_unique_case_insensitively_even_under_concurrency()
    {
        var owner = await Client.RegisterAsync();
        var slug = "uniq-" + Guid.NewGuid().ToString("N")[..8];
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Client.PostAsync("/v1/organizations", new { name = "x", slug = i % 2 == 0 ? slug : slug.ToUpperInvariant() }, owner.Token)));
        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.AssertProblem(HttpStatusCode.Conflict, "already_exists"));
    }

    [Theory]
    [InlineData("""{"name": "x", "slug": "a"}""", "slug")]
    [InlineData("""{"name": "x", "slug": "-bad"}""", "slug")]
    [InlineData("""{"name": "x", "slug": "has space"}""", "slug")]
    [InlineData("""{"name": "x", "slug": "ünï"}""", "slug")]
    [InlineData("""{"slug": "fine-slug"}""", "name")]
    [InlineData("""{"name": 3}""", "name")]
    public async Task Invalid_organizations_are_400_naming_the_field(string body, string field)
    {
        var owner = await Client.RegisterAsync();
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/organizations", ApiClient.JsonContent(body), owner.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
    }

    [Fact]
    public async Task An_organization_is_a_tenant_its_members_share()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var member = await AddMemberAsync(owner, orgId, "member");
        var outsider = await Client.RegisterAsync();

        var resource = (await Client.PostAsync("/v1/resources", new { name = "team doc" }, member.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.Created);
        var id = (string)resource.Data["id"]!;

        (await Client.GetAsync($"/v1/resources/{id}", owner.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "edited" }, owner.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources", member.Token, r => InOrg(r, orgId))).Json["meta"]!["total"]);

        // Not in anyone's personal space, and invisible to outsiders, who cannot even name the organization.
        (await Client.GetAsync($"/v1/resources/{id}", member.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", owner.Token)).Json["meta"]!["total"]);
        (await Client.GetAsync("/v1/resources", outsider.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/resources/{id}", outsider.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resources", outsider.Token, r => InOrg(r, "org_AAAAAAAAAAAAAAAAAAAAAA"))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resources", outsider.Token, r => InOrg(r, "not-an-id"))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Members_cannot_manage_members_or_keys_and_admins_cannot_change_the_organization()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var admin = await AddMemberAsync(owner, orgId, "admin");
        var member = await AddMemberAsync(owner, orgId, "member");
        var newcomer = await Client.RegisterAsync();

        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = newcomer.Id }, member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{admin.Id}", member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/api-keys", new { name = "k" }, member.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync("/v1/api-keys", member.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/organizations/{orgId}", new { name = "mine now" }, member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        (await Client.PatchAsync($"/v1/organizations/{orgId}", new { name = "mine now" }, admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.DeleteAsync($"/v1/organizations/{orgId}", admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = newcomer.Id, role = "owner" }, admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{owner.Id}", new { role = "member" }, admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{owner.Id}", admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = newcomer.Id }, admin.Token)).AssertStatus(HttpStatusCode.Created);
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{member.Id}", new { role = "admin" }, admin.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.PostAsync("/v1/api-keys", new { name = "k" }, admin.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.Created);

        var org = (await Client.GetAsync($"/v1/organizations/{orgId}", owner.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(4, (int?)org.Data["member_count"]);
        Assert.Equal(orgId, (string?)(await Client.PatchAsync($"/v1/organizations/{orgId}", new { name = "Renamed" }, owner.Token)).AssertStatus(HttpStatusCode.OK).Data["id"]);
    }

    [Fact]
    public async Task Outsiders_get_404_on_every_organization_endpoint()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var outsider = await Client.RegisterAsync();
        var token = outsider.Token;
        (await Client.GetAsync($"/v1/organizations/{orgId}", token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync($"/v1/organizations/{orgId}", new { name = "x" }, token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/organizations/{orgId}", token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/organizations/{orgId}/members", token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = outsider.Id }, token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{owner.Id}", token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{owner.Id}", new { role = "member" }, token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal("owner", (string?)(await Client.GetAsync($"/v1/organizations/{orgId}", owner.Token)).Data["role"]);
    }

    [Fact]
    public async Task An_organization_always_keeps_an_owner()
    {
        var (owner, orgId) = await CreateOrgAsync();
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{owner.Id}", owner.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict");
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{owner.Id}", new { role = "admin" }, owner.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict");

        var second = await AddMemberAsync(owner, orgId, "owner");
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{owner.Id}", new { role = "admin" }, second.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{second.Id}", second.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict");
        var members = (await Client.GetAsync($"/v1/organizations/{orgId}/members", second.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(["admin", "owner"], members.Data.AsArray().Select(m => (string)m!["role"]!).Order());
    }

    [Fact]
    public async Task A_member_may_leave_and_loses_access_on_the_next_request()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var member = await AddMemberAsync(owner, orgId, "member");
        var leaver = await AddMemberAsync(owner, orgId, "member");
        (await Client.GetAsync("/v1/resources", member.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.OK);

        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{leaver.Id}", leaver.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/resources", leaver.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{member.Id}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/resources", member.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/organizations/{orgId}", member.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Members_are_listed_with_their_accounts_and_duplicates_are_409()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var member = await AddMemberAsync(owner, orgId, "member");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = member.Id }, owner.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = "usr_AAAAAAAAAAAAAAAAAAAAAA" }, owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = member.Id, role = "boss" }, owner.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{member.Id}", new { }, owner.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");

        var list = (await Client.GetAsync($"/v1/organizations/{orgId}/members", member.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);
        var entry = list.Data.AsArray().Single(m => (string?)m!["user_id"] == member.Id)!;
        Assert.Equal("member", (string?)entry["role"]);
        Assert.Equal(member.Email, (string?)entry["email"]);
        Assert.Equal(member.Username, (string?)entry["username"]);
    }

    [Fact]
    public async Task An_organizations_api_key_acts_for_it_alone()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var key = (string)(await Client.PostAsync("/v1/api-keys", new { name = "org key" }, owner.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.Created).Data["key"]!;

        var id = (string)(await Client.PostAsync("/v1/resources", new { name = "by org key" }, Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        (await Client.GetAsync($"/v1/resources/{id}", owner.Token, r => InOrg(r, orgId))).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/resources/{id}", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        var (_, otherOrg) = await CreateOrgAsync();
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key), r => InOrg(r, otherOrg))).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/api-keys", owner.Token, r => InOrg(r, orgId))).Json["meta"]!["total"]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/api-keys", owner.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Deleting_an_organization_removes_access_resources_and_keys_and_frees_the_slug()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var member = await AddMemberAsync(owner, orgId, "admin");
        var slug = (string)(await Client.GetAsync($"/v1/organizations/{orgId}", owner.Token)).Data["slug"]!;
        var resourceId = (string)(await Client.PostAsync("/v1/resources", new { name = "doomed" }, member.Token, r => InOrg(r, orgId))).Data["id"]!;
        var key = (string)(await Client.PostAsync("/v1/api-keys", new { name = "org key" }, member.Token, r => InOrg(r, orgId))).Data["key"]!;
        (await Client.GetAsync($"/v1/resources/{resourceId}", Credential.Bearer(key))).AssertStatus(HttpStatusCode.OK);

        (await Client.DeleteAsync($"/v1/organizations/{orgId}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);

        (await Client.GetAsync($"/v1/organizations/{orgId}", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resources", member.Token, r => InOrg(r, orgId))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/resources/{resourceId}", Credential.Bearer(key))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/organizations", member.Token)).Json["meta"]!["total"]);

        // The slug is free again, and the new organization starts empty.
        var again = (await Client.PostAsync("/v1/organizations", new { name = "again", slug }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        var newId = (string)again.Data["id"]!;
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", owner.Token, r => InOrg(r, newId))).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Renaming_the_slug_reserves_the_new_one_and_frees_the_old()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var (otherOwner, otherId) = await CreateOrgAsync();
        var taken = (string)(await Client.GetAsync($"/v1/organizations/{otherId}", otherOwner.Token)).Data["slug"]!;
        var old = (string)(await Client.GetAsync($"/v1/organizations/{orgId}", owner.Token)).Data["slug"]!;

        (await Client.PatchAsync($"/v1/organizations/{orgId}", new { slug = taken }, owner.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");
        var fresh = "renamed-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(fresh, (string?)(await Client.PatchAsync($"/v1/organizations/{orgId}", new { slug = fresh }, owner.Token)).AssertStatus(HttpStatusCode.OK).Data["slug"]);
        (await Client.PostAsync("/v1/organizations", new { name = "reuse", slug = old }, otherOwner.Token)).AssertStatus(HttpStatusCode.Created);
        (await Client.PostAsync("/v1/organizations", new { name = "clash", slug = fresh }, otherOwner.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }

    [Fact]
    public async Task The_directory_shows_admins_everyone_and_others_only_their_peers()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var peer = await AddMemberAsync(owner, orgId, "member");
        var stranger = await Client.RegisterAsync("stranger");

        var seen = (await Client.GetAsync("/v1/users?per_page=100", peer.Token)).AssertStatus(HttpStatusCode.OK);
        var ids = seen.Data.AsArray().Select(u => (string)u!["id"]!).ToHashSet();
        Assert.Equal(new[] { owner.Id, peer.Id }.Order(), ids.Order());
        Assert.Equal(2, (int?)seen.Json["meta"]!["total"]);

        var alone = (await Client.GetAsync("/v1/users", stranger.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal([stranger.Id], alone.Data.AsArray().Select(u => (string)u!["id"]!));

        var admin = Credential.Bearer((string)(await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);
        var found = (await Client.GetAsync($"/v1/users?search={stranger.Username.ToUpperInvariant()}", admin)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(stranger.Id, (string?)Assert.Single(found.Data.AsArray())!["id"]);
        var byEmail = (await Client.GetAsync($"/v1/users?search={Uri.EscapeDataString(peer.Email)}", admin)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(peer.Id, (string?)Assert.Single(byEmail.Data.AsArray())!["id"]);
        var admins = (await Client.GetAsync("/v1/users?role=admin", admin)).AssertStatus(HttpStatusCode.OK);
        Assert.All(admins.Data.AsArray(), u => Assert.Equal("admin", (string?)u!["role"]));
        Assert.Contains(admins.Data.AsArray(), u => (string?)u!["email"] == ApiServer.AdminEmail);
        Assert.True((int?)(await Client.GetAsync("/v1/users", admin)).Json["meta"]!["total"] >= 3);

        (await Client.GetAsync("/v1/users?role=superuser", admin)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Empty((await Client.GetAsync("/v1/users?search=%25", peer.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray());
    }

    [Fact]
    public async Task The_directory_searches_names()
    {
        var (owner, orgId) = await CreateOrgAsync();
        var peer = await AddMemberAsync(owner, orgId, "member");
        var unique = "Zed" + Guid.NewGuid().ToString("N")[..6];
        (await Client.PatchAsync("/v1/users/me", new { profile = new { first_name = "Ada", last_name = unique } }, peer.Token)).AssertStatus(HttpStatusCode.OK);

        var hit = (await Client.GetAsync($"/v1/users?search={Uri.EscapeDataString("ada " + unique.ToLowerInvariant())}", owner.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(peer.Id, (string?)Assert.Single(hit.Data.AsArray())!["id"]);
        Assert.Equal(unique, (string?)hit.Data[0]!["profile"]!["last_name"]);

        // A match lies within one field: the end of one field and the start of the next are no substring.
        var across = peer.Email[^4..] + peer.Username[..3];
        Assert.Empty((await Client.GetAsync($"/v1/users?search={Uri.EscapeDataString(across)}", owner.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray());
        (await Client.GetAsync("/v1/users?search=a%01b", owner.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        // Wildcards are literal, also as the index's pattern.
        Assert.Empty((await Client.GetAsync("/v1/users?search=a_a", owner.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray());
    }
}

[Collection(Servers.Embedded)]
public sealed class OrganizationTestsOnEmbedded(EmbeddedServer server) : OrganizationTests(server);

[Collection(Servers.Postgres)]
public sealed class OrganizationTestsOnPostgres(PostgresServer server) : OrganizationTests(server);
