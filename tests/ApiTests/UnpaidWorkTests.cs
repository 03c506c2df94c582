using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Organizations;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>Requests naming things that do not exist are paid for, and leave nothing behind in memory.</summary>
public abstract class UnpaidWorkTests(ApiServer server) : ApiTestBase(server)
{
    private async Task<bool> IsActiveAsync(Type grainClass, string key)
    {
        var management = Server.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        // Every activation of the silo, matched by key and class (the type filter wants Orleans' own type names).
        var activations = await management.GetDetailedGrainStatistics();
        return activations.Any(a => a.GrainId.Key.ToString() == key && a.GrainType.Contains(grainClass.FullName!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_organization_is_charged_to_the_caller_and_keeps_no_activation()
    {
        var user = await Client.RegisterAsync();
        var organizationId = Ids.New(Ids.Organization);

        var first = await Client.GetAsync("/v1/resources", user.Token, r => r.Headers.Add("X-Organization-Id", organizationId));
        first.AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var remaining = int.Parse(first.Header("X-RateLimit-Remaining")!, System.Globalization.CultureInfo.InvariantCulture);

        var second = await Client.GetAsync("/v1/resources", user.Token, r => r.Headers.Add("X-Organization-Id", organizationId));
        second.AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.True(int.Parse(second.Header("X-RateLimit-Remaining")!, System.Globalization.CultureInfo.InvariantCulture) < remaining);

        await Eventually.HoldsAsync(async () => !await IsActiveAsync(typeof(OrganizationGrain), organizationId),
            "the activation of an organization that does not exist to go", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_member_of_a_real_organization_is_not_taken_for_an_unknown_one()
    {
        var owner = await Client.RegisterAsync();
        var outsider = await Client.RegisterAsync();
        var organizationId = (string)(await Client.PostAsync("/v1/organizations", new { name = "Real " + Guid.NewGuid().ToString("N")[..8] }, owner.Token))
            .AssertStatus(HttpStatusCode.Created).Data["id"]!;

        // An outsider's 404 must not make the silo remember the organization as missing for its members.
        (await Client.GetAsync("/v1/resources", outsider.Token, r => r.Headers.Add("X-Organization-Id", organizationId)))
            .AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resources", owner.Token, r => r.Headers.Add("X-Organization-Id", organizationId)))
            .AssertStatus(HttpStatusCode.OK);
        // The check the other tests rely on does see a live activation.
        Assert.True(await IsActiveAsync(typeof(OrganizationGrain), organizationId));
    }

    [Fact]
    public async Task A_made_up_api_key_keeps_no_activation()
    {
        var user = await Client.RegisterAsync();
        var (realId, _) = await Client.CreateApiKeyAsync(user.Token);
        Assert.True(await IsActiveAsync(typeof(ApiPlatform.Grains.ApiKeys.ApiKeyGrain), realId), "the activation check sees a real key's grain");

        var keyId = Ids.New(Ids.ApiKey);
        var key = ApiKeyTokens.Create(keyId, Ids.RandomToken(ApiKeyTokens.SecretLength));

        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        await Eventually.HoldsAsync(async () => !await IsActiveAsync(typeof(ApiPlatform.Grains.ApiKeys.ApiKeyGrain), keyId),
            "the activation of a key that does not exist to go", TimeSpan.FromSeconds(10));

        // Asked again: the same answer (now from this silo's memory of unknown ids).
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
    }
}

[Collection(Servers.Embedded)]
public sealed class UnpaidWorkTestsOnEmbedded(EmbeddedServer server) : UnpaidWorkTests(server);

[Collection(Servers.Postgres)]
public sealed class UnpaidWorkTestsOnPostgres(PostgresServer server) : UnpaidWorkTests(server);
