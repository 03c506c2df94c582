using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using static ApiPlatform.ApiTests.Infrastructure.AccountHelpers;

namespace ApiPlatform.ApiTests;

/// <summary>Organization caps per plan (exact under concurrent creates) and <c>GET /v1/usage</c>.</summary>
public abstract class PlanUsageTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task A_user_owns_at_most_the_plans_organizations_and_402_names_the_plan()
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            await Client.CreateOrgAsync(user);
        }

        var refused = await Client.PostAsync("/v1/organizations", new { name = "one too many" }, user.Token);
        Assert.Contains("free", (string?)refused.AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached")["detail"]);
        // The refused create left its slug free.
        var admin = await Client.AdminAsync();
        await Client.SetAccountAsync(admin, user.Id, new { plan = "pro" });
        (await Client.PostAsync("/v1/organizations", new { name = "one too many" }, user.Token)).AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Being_made_an_owner_counts_and_membership_alone_does_not()
    {
        var user = await Client.RegisterAsync();
        var other = await Client.RegisterAsync();
        var theirs = await Client.CreateOrgAsync(other);
        await Client.AddMemberAsync(other, theirs, user, "admin");
        await Client.CreateOrgAsync(user);
        await Client.CreateOrgAsync(user);
        await Client.CreateOrgAsync(user);

        (await Client.PostAsync("/v1/organizations", new { name = "x" }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");
        var usage = (await Client.GetAsync("/v1/usage", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(3, (int?)usage.Data["organizations"]!["used"]);
    }

    [Fact]
    public async Task Concurrent_creates_cannot_pass_the_organization_cap()
    {
        var user = await Client.RegisterAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Client.PostAsync("/v1/organizations", new { name = $"race {i} {Guid.NewGuid():N}" }, user.Token)));

        Assert.Equal(3, responses.Count(r => r.Status == HttpStatusCode.Created));
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached"));
        Assert.Equal(3, (int?)(await Client.GetAsync("/v1/organizations", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Usage_reports_exact_figures_for_a_user()
    {
        var user = await Client.RegisterAsync();
        await Client.CreateApiKeyAsync(user.Token);
        var (revoked, _) = await Client.CreateApiKeyAsync(user.Token);
        (await Client.DeleteAsync($"/v1/api-keys/{revoked}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        for (var i = 0; i < 4; i++)
        {
            (await Client.PostAsync("/v1/resources", new { name = $"r{i}" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        }

        (await Client.PostAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "resource.created" } }, user.Token))
            .AssertStatus(HttpStatusCode.Created);
        await Client.CreateOrgAsync(user);

        var response = (await Client.GetAsync("/v1/usage", user.Token)).AssertStatus(HttpStatusCode.OK);
        var usage = response.Data;
        Assert.Equal(user.Id, (string?)usage["owner_id"]);
        Assert.Equal("free", (string?)usage["plan"]);
        Assert.Equal(4, (int?)usage["resources"]!["used"]);
        Assert.Equal(25, (int?)usage["resources"]!["limit"]);
        Assert.Equal(1, (int?)usage["api_keys"]!["used"]);
        Assert.Equal(3, (int?)usage["api_keys"]!["limit"]);
        Assert.Equal(1, (int?)usage["webhooks"]!["used"]);
        Assert.Equal(3, (int?)usage["webhooks"]!["limit"]);
        Assert.Equal(1, (int?)usage["organizations"]!["used"]);
        Assert.Equal(3, (int?)usage["organizations"]!["limit"]);
        var rate = usage["rate_limit"]!;
        Assert.Equal(60, (int?)rate["limit"]);
        Assert.Equal(60, (int?)rate["window_seconds"]);
        // The figure is the window's count after this request: the same as the request's own header.
        Assert.Equal(int.Parse(response.Header("X-RateLimit-Remaining")!, System.Globalization.CultureInfo.InvariantCulture), (int?)rate["remaining"]);
        Assert.Equal(long.Parse(response.Header("X-RateLimit-Reset")!, System.Globalization.CultureInfo.InvariantCulture), (long?)rate["reset"]);
    }

    [Fact]
    public async Task Usage_of_an_organization_follows_its_plan_for_a_member_and_for_its_key()
    {
        var admin = await Client.AdminAsync();
        var owner = await Client.RegisterAsync();
        var member = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        await Client.AddMemberAsync(owner, org, member, "member");
        (await Client.PatchAsync($"/v1/organizations/{org}", new { plan = "pro" }, admin)).AssertStatus(HttpStatusCode.OK);
        (await Client.PostAsync("/v1/resources", new { name = "shared" }, member.Token, InOrg(org))).AssertStatus(HttpStatusCode.Created);
        var key = (string)(await Client.PostAsync("/v1/api-keys", new { name = "org" }, owner.Token, InOrg(org))).AssertStatus(HttpStatusCode.Created).Data["key"]!;

        foreach (var response in new[]
        {
            await Client.GetAsync("/v1/usage", member.Token, InOrg(org)),
            await Client.GetAsync("/v1/usage", Credential.ApiKeyHeader(key)),
        })
        {
            var usage = response.AssertStatus(HttpStatusCode.OK).Data;
            Assert.Equal(org, (string?)usage["owner_id"]);
            Assert.Equal("pro", (string?)usage["plan"]);
            Assert.Equal(1, (int?)usage["resources"]!["used"]);
            Assert.Equal(100_000, (int?)usage["resources"]!["limit"]);
            Assert.Equal(1, (int?)usage["api_keys"]!["used"]);
            Assert.Equal(50, (int?)usage["api_keys"]!["limit"]);
            Assert.Null(usage["organizations"]);
            Assert.Equal(1234, (int?)usage["rate_limit"]!["limit"]);
        }

        // Outsiders cannot name the organization.
        (await Client.GetAsync("/v1/usage", (await Client.RegisterAsync()).Token, InOrg(org))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/usage")).AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
    }
}

[Collection(Servers.Embedded)]
public sealed class PlanUsageTestsOnEmbedded(EmbeddedServer server) : PlanUsageTests(server);

[Collection(Servers.Postgres)]
public sealed class PlanUsageTestsOnPostgres(PostgresServer server) : PlanUsageTests(server);
